"""The FastAPI application of the HTTP API: routers under ``/api/v1``, middleware and the error handler.

``create_api()`` builds a fresh app; the Serve ingress (``serve/ingress.py``) wraps one with
``@serve.ingress`` and sets the replica's ``ApiContext`` (``deps.set_context``); route-logic tests use
it with Starlette's ``TestClient``. Every failure is answered ``{"error": {"code", "message"}}`` by one
handler that maps the typed errors of every package (``errors.to_api_error``).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import deps
from .errors import (
    ApiError,
    BadRequest,
    NotFound,
    Unprocessable,
    to_api_error,
)
from .middleware import BodyLimitMiddleware, IdempotencyMiddleware, error_response
from .routes_auth import router as auth_router
from .routes_discovery import router as discovery_router
from .routes_feed import router as feed_router
from .routes_interactions import router as interactions_router
from .routes_media import router as media_router
from .routes_moderation import router as moderation_router
from .routes_videos import UPLOAD_PATH
from .routes_videos import router as videos_router

__all__ = ["API_PREFIX", "create_api"]

API_PREFIX = "/api/v1"
log = structlog.get_logger("serve.api")


def _status_error(status: int, detail: str) -> ApiError:
    if status == 404:
        return NotFound("no such route; see /docs for the API")
    err = ApiError(detail or "request failed", code={405: "method_not_allowed"}.get(status, "http_error"))
    err.status = status
    return err


def _handle(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") in ("json_invalid", "json_type") for e in errors):
            return error_response(BadRequest("the request body is not valid JSON", code="bad_json"))
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors[:5])
        return error_response(Unprocessable(f"invalid request: {detail}", code="validation_failed"))
    if isinstance(exc, StarletteHTTPException):
        return error_response(_status_error(exc.status_code, str(exc.detail)))
    mapped = to_api_error(exc)
    if mapped is None:
        log.exception("unhandled error", path=request.url.path, error=repr(exc))
        return JSONResponse({"error": {"code": "internal", "message": "internal error; it was logged"}},
                            status_code=500)
    if mapped.status >= 500:
        log.warning("unavailable", path=request.url.path, error=str(exc))
    return error_response(mapped)


def _replica_id() -> str | None:
    """This Serve replica's id (None outside Serve, e.g. under a TestClient)."""
    try:
        from ray import serve

        return str(serve.get_replica_context().replica_id.unique_id)
    except Exception:
        return None


def _typed_roots() -> tuple[type[Exception], ...]:
    """Every package's error root: handled in the app (not re-raised to the server like a bug)."""
    from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError, RayTaskError
    from ray.serve.exceptions import BackPressureError

    from actors.errors import ActorsError
    from blobs.errors import BlobError
    from events.errors import EventsError
    from moderation.errors import ModerationError
    from pipeline.errors import PipelineError
    from projections.errors import ProjectionsError

    return (ApiError, ActorsError, BlobError, EventsError, ModerationError, PipelineError,
            ProjectionsError, BackPressureError, RayActorError, ActorUnavailableError, GetTimeoutError,
            RayTaskError)


def create_api() -> FastAPI:
    """A new FastAPI app with every route; its context comes from ``deps.set_context``."""
    app = FastAPI(
        title="Reelstack API",
        version="1",
        description="Short-video platform: For You feed, uploads, interactions, discovery, moderation. "
                    "Authenticate with POST /api/v1/auth/anonymous or /api/v1/auth/register and send "
                    "`Authorization: Bearer <token>`. Errors: `{\"error\": {\"code\", \"message\"}}`.",
    )
    for router in (auth_router, feed_router, videos_router, interactions_router, discovery_router,
                   moderation_router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(media_router)

    @app.get("/api/v1/health", tags=["ops"])
    async def health() -> dict[str, Any]:
        ctx = deps.get_context()
        return {"ok": True, "feed": ctx.feed is not None, "shards": ctx.router is not None,
                "replica": _replica_id()}

    web = _web_dir()
    if web is not None:  # the web client (issue 9) at "/", after every API route
        from fastapi.staticfiles import StaticFiles

        app.mount("/", StaticFiles(directory=web, html=True), name="web")
    else:

        @app.get("/", include_in_schema=False)
        async def root() -> Response:
            return RedirectResponse("/docs")

    for exc_type in (Exception, RequestValidationError, StarletteHTTPException, *_typed_roots()):
        app.add_exception_handler(exc_type, _handle)

    def store() -> Any:
        ctx = deps._context
        return None if ctx is None else ctx.idempotency

    def secret() -> bytes | None:
        ctx = deps._context
        return None if ctx is None else ctx.auth_secret

    def limit() -> int:
        ctx = deps._context
        return 256 * 1024 if ctx is None else ctx.settings.max_body_bytes

    app.add_middleware(IdempotencyMiddleware, store=store, secret=secret, prefix=API_PREFIX,
                       exempt_prefix=UPLOAD_PATH)
    app.add_middleware(BodyLimitMiddleware, limit=limit, exempt_prefix=UPLOAD_PATH)
    return app


def _web_dir() -> str | None:
    """The built web client (``web/dist`` or ``web``, issue 9) when it exists."""
    from pathlib import Path

    web = Path(__file__).resolve().parents[2] / "web"
    for root in (web / "dist", web):
        if (root / "index.html").is_file():
            return str(root)
    return None

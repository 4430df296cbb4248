"""ASGI middleware of the API: request-size limits (413) and ``Idempotency-Key`` replay for writes.

Pure ASGI (no response buffering for other requests). The size limit applies to every body but the
upload ``PUT`` (which has its own, per upload). Idempotency covers POST/PUT/PATCH/DELETE under
``/api/v1`` that carry the header and a bearer token: the first response (status < 500, not 429)
is stored per (user, key) and returned again, marked ``Idempotent-Replayed: true``, for retries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.responses import JSONResponse

from events.ids import now_us

from .auth import verify_token
from .errors import ApiError, BadRequest, PayloadTooLarge, Unauthorized
from .idempotency import IdempotencyStore, request_fingerprint

__all__ = ["BodyLimitMiddleware", "IdempotencyMiddleware", "error_response"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def error_response(err: ApiError) -> JSONResponse:
    return JSONResponse({"error": {"code": err.code, "message": err.message}}, status_code=err.status,
                        headers=err.headers())


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k.lower() == name:
            return str(v.decode("latin-1"))
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: Callable[[], int], exempt_prefix: str) -> None:
        self.app = app
        self.limit = limit
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await error_response(_too_large(limit))(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        # JSON bodies are small: read them here (bounded), so an oversized chunked body is a clean 413
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await error_response(_too_large(limit))(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {limit} bytes; send less per request")


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, store: Callable[[], IdempotencyStore | None],
                 secret: Callable[[], bytes | None], prefix: str, exempt_prefix: str) -> None:
        self.app = app
        self.store = store
        self.secret = secret
        self.prefix = prefix
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" else None
        if (key is None or scope["method"] not in WRITES or not path.startswith(self.prefix)
                or path.startswith(self.exempt_prefix)):
            await self.app(scope, receive, send)
            return
        store, secret = self.store(), self.secret()
        auth = _header(scope, b"authorization") or ""
        scheme, _, token = auth.partition(" ")
        if store is None or secret is None or scheme.lower() != "bearer":
            await self.app(scope, receive, send)  # the route answers 401 / 503 itself
            return
        if not 1 <= len(key) <= 200:
            await error_response(BadRequest("Idempotency-Key must be 1 to 200 characters",
                                            code="bad_idempotency_key"))(scope, receive, send)
            return
        try:
            user = verify_token(token.strip(), secret, now_us()).user_id
        except Unauthorized as exc:
            await error_response(exc)(scope, receive, send)
            return
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
            return
        body = b"".join(chunks)
        query = scope.get("query_string", b"").decode("latin-1")
        slot = IdempotencyStore.scope(user, key)
        try:
            stored = store.begin(slot, request_fingerprint(scope["method"], f"{path}?{query}", body))
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
            return
        if stored is not None:
            headers = [(b"content-type", b"application/json"), (b"idempotent-replayed", b"true"),
                       (b"content-length", str(len(stored.body)).encode())]
            await send({"type": "http.response.start", "status": stored.status, "headers": headers})
            await send({"type": "http.response.body", "body": stored.body})
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        out: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                out.append(bytes(message.get("body", b"")))
            await send(message)

        try:
            await self.app(scope, replay, capture)
        except BaseException:
            store.abandon(slot)
            raise
        if status < 500 and status != 429:
            store.finish(slot, status, b"".join(out))
        else:
            store.abandon(slot)

"""FastAPI dependencies: the replica's ``ApiContext``, the caller (bearer token) and rate limits.

The context is set once per process (``set_context``) by the Serve ingress replica, or by a test.
Every authenticated route takes ``Caller``; it verifies the token and spends a token of the
caller's and the client address's buckets (429 with ``Retry-After`` when empty).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from events.ids import now_us

from .auth import Principal, verify_token
from .context import ApiContext
from .errors import Forbidden, RateLimited, Unauthorized, Unavailable

__all__ = ["Caller", "Ctx", "Moderator", "client_address", "get_context", "limit_address", "set_context"]

_context: ApiContext | None = None


def set_context(ctx: ApiContext | None) -> None:
    global _context
    _context = ctx


def get_context() -> ApiContext:
    if _context is None:
        raise Unavailable("the API is starting; retry in a moment", retry_after=2.0)
    return _context


Ctx = Annotated[ApiContext, Depends(get_context)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit_address(request: Request, ctx: Ctx) -> None:
    if ctx.ip_limits is None:
        return  # REEL_RATE_IP_PER_S=0: no per-address limit here (e.g. behind HAProxy: limit at the edge)
    wait = ctx.ip_limits.take("ip:" + client_address(request))
    if wait:
        raise RateLimited("too many requests from this address; slow down", retry_after=wait)


def _caller(request: Request, ctx: Ctx) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("this route needs a bearer token: POST /api/v1/auth/anonymous or /auth/register")
    principal = verify_token(token.strip(), ctx.auth_secret, now_us())
    limit_address(request, ctx)
    assert ctx.user_limits is not None
    wait = ctx.user_limits.take("user:" + principal.user_id)
    if wait:
        raise RateLimited("too many requests for this user; slow down", retry_after=wait)
    request.state.user_id = principal.user_id
    return principal


Caller = Annotated[Principal, Depends(_caller)]


def _moderator(caller: Caller) -> Principal:
    if not caller.is_moderator:
        raise Forbidden("moderators only: ask an admin for the moderator role (reel users create --role)")
    return caller


Moderator = Annotated[Principal, Depends(_moderator)]


def registered(caller: Principal) -> Principal:
    if caller.anonymous:
        raise Forbidden("register first (POST /api/v1/auth/register): anonymous users can only watch")
    return caller

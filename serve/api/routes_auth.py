"""Auth routes: register (appends ``UserRegistered``) or start an anonymous device session; who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from events.ids import new_event_id, now_us
from events.schema import UserRegistered
from projections import catalog

from .auth import Principal, Role, sign_token
from .context import ApiContext
from .deps import Caller, Ctx, limit_address
from .models import AnonymousRequest, RegisterRequest, TokenResponse

__all__ = ["issue_token", "new_user_event", "register_user", "router"]

router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(limit_address)])


def issue_token(ctx: ApiContext, user_id: str, role: Role = "user", anonymous: bool = False) -> TokenResponse:
    principal = Principal(user_id=user_id, role=role, anonymous=anonymous,
                          expires_at=now_us() + ctx.settings.auth_token_ttl_s * 1_000_000)
    return TokenResponse(token=sign_token(principal, ctx.auth_secret), user_id=user_id, role=role,
                         anonymous=anonymous, expires_at=principal.expires_at)


def new_user_event(*, name: str = "", region: str = "ZZ", language: str = "en",
                   birth_year: int | None = None, role: Role = "user",
                   anonymous: bool = False) -> UserRegistered:
    """A fresh account (``u-``/``d-`` + a UUIDv7) as its ``UserRegistered`` event."""
    return UserRegistered(event_id=new_event_id(), ts=now_us(),
                          user_id=("d-" if anonymous else "u-") + new_event_id(), name=name,
                          region=region.upper(), language=language.lower(), birth_year=birth_year,
                          role=role, anonymous=anonymous)


async def register_user(ctx: ApiContext, *, name: str = "", region: str = "ZZ", language: str = "en",
                        birth_year: int | None = None, role: Role = "user",
                        anonymous: bool = False) -> TokenResponse:
    event = new_user_event(name=name, region=region, language=language, birth_year=birth_year, role=role,
                           anonymous=anonymous)
    positions = await ctx.append([event])
    await ctx.applied(positions, ("catalog",), event.user_id)
    return issue_token(ctx, event.user_id, role, anonymous)


@router.post("/register", response_model=TokenResponse, status_code=201)
async def register(body: RegisterRequest, ctx: Ctx) -> TokenResponse:
    """Create an account (role ``user``) and return its bearer token."""
    return await register_user(ctx, name=body.name, region=body.region, language=body.language,
                               birth_year=body.birth_year)


@router.post("/anonymous", response_model=TokenResponse, status_code=201)
async def anonymous(body: AnonymousRequest, ctx: Ctx) -> TokenResponse:
    """A device user for cold-start browsing: may watch and send view events, not upload or engage."""
    return await register_user(ctx, region=body.region, language=body.language, anonymous=True)


@router.get("/me")
async def me(caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """The caller's identity and profile."""
    u = catalog.get_user(ctx.views.catalog, caller.user_id)
    return {"user_id": caller.user_id, "role": caller.role, "anonymous": caller.anonymous,
            "name": u.name if u else "", "region": u.region if u else None,
            "expires_at": caller.expires_at}

"""Request and response bodies of the HTTP API (pydantic models: they are the OpenAPI schema at /docs)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AnonymousRequest",
    "AppealRequest",
    "ClientEvent",
    "CommentRequest",
    "DecisionRequest",
    "EventsRequest",
    "PublishRequest",
    "RegisterRequest",
    "ReportRequest",
    "ShareRequest",
    "TokenResponse",
]

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(_Strict):
    name: str = Field("", max_length=100)
    region: str = Field("ZZ", min_length=2, max_length=8, pattern=r"^[A-Za-z]{2,8}$")
    language: str = Field("en", min_length=2, max_length=16, pattern=r"^[A-Za-z-]{2,16}$")
    birth_year: int | None = Field(None, ge=1900, le=2100)


class AnonymousRequest(_Strict):
    region: str = Field("ZZ", min_length=2, max_length=8, pattern=r"^[A-Za-z]{2,8}$")
    language: str = Field("en", min_length=2, max_length=16, pattern=r"^[A-Za-z-]{2,16}$")


class TokenResponse(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    user_id: str
    role: str
    anonymous: bool
    expires_at: int


class PublishRequest(_Strict):
    description: str = Field("", max_length=2200)
    hashtags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list,
                                                                                max_length=30)
    music_id: str | None = Field(None, min_length=1, max_length=128)
    music_title: str | None = Field(None, max_length=300)
    privacy: Literal["public", "friends", "private"] = "public"


class ClientEvent(_Strict):
    """One client-side event: ``impression`` or ``view_ended`` (watch_ms of duration_ms, loops)."""

    type: Literal["impression", "view_ended"]
    video_id: str = Field(min_length=1, max_length=128)
    request_id: str | None = Field(None, min_length=1, max_length=128)
    position: int = Field(0, ge=0, le=100_000)
    watch_ms: int = Field(0, ge=0, le=24 * 3600 * 1000)
    duration_ms: int = Field(1, gt=0, le=24 * 3600 * 1000)
    loops: int = Field(0, ge=0, le=10_000)
    source: str = Field("client", max_length=64)


class EventsRequest(_Strict):
    events: list[ClientEvent] = Field(min_length=1, max_length=200)


class CommentRequest(_Strict):
    text: str = Field(min_length=1, max_length=2000)


class ShareRequest(_Strict):
    channel: str = Field("link", max_length=64)


class ReportRequest(_Strict):
    reason: str = Field(min_length=1, max_length=300)


class NotInterestedRequest(_Strict):
    creator: bool = True
    sound: bool = False


class DecisionRequest(_Strict):
    decision: Literal["approve", "reject"]
    reason: str = Field("", max_length=2000)
    age_rating: Literal["general", "mature"] | None = None


class AppealRequest(_Strict):
    reason: str = Field("", max_length=2000)


class MarkReadRequest(_Strict):
    ids: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(default_factory=list,
                                                                           max_length=500)
    up_to_ts: int | None = Field(None, ge=0, le=2**62)

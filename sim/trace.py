"""What the simulator observed, as plain records (pure): pages served, views, uploads; the metrics' input."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PageRecord", "Trace", "UploadRecord", "ViewRecord"]


@dataclass(frozen=True, slots=True)
class PageRecord:
    user: int
    arm: str
    k: int  # the user's interactions before this page was fetched
    since_shift: int | None  # interactions since the user's interest shift (None: not shifted yet)
    on_interest: float  # share of the page on the user's (current) home topics
    size: int
    personalized: bool
    t: float  # wall seconds since the simulation started
    reason: str | None = None  # why the page was not personalised (the API's ``reason``)


@dataclass(frozen=True, slots=True)
class ViewRecord:
    user: int
    arm: str
    session: int
    video_id: str
    creator_id: str
    hashtags: tuple[str, ...]
    topic: str | None
    on_interest: bool
    watch_ms: int
    duration_ms: int
    completed: bool
    skipped: bool
    liked: bool
    shared: bool
    followed: bool
    t: float
    tick: int  # interactions of the whole simulation so far (the simulated clock)


@dataclass(slots=True)
class UploadRecord:
    video_id: str
    creator_id: str
    topic: str
    quality: float
    new_creator: bool
    uploaded_t: float
    published_t: float | None = None
    published_tick: int | None = None
    status: str = "processing"


@dataclass(slots=True)
class Trace:
    users: int = 0
    steps: int = 0
    page_size: int = 0
    arms: dict[int, str] = field(default_factory=dict)
    pages: list[PageRecord] = field(default_factory=list)
    views: list[ViewRecord] = field(default_factory=list)
    uploads: list[UploadRecord] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    requests: int = 0

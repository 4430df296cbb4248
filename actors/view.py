"""What ``get_state`` returns: one user's vectors and filters, ready for retrieval and re-ranking.

A typed msgspec struct (pickles through Ray, encodes to JSON for HTTP). ``seen`` includes the
videos of held-back events, so a video the user just watched is filtered even while its
embedding is still on the way; ``might_have_seen`` also consults the Bloom filter.
"""

from __future__ import annotations

import msgspec

from .seen import bloom_contains
from .user_state import Counts, StateParams, UserState, personalisation

__all__ = ["UserView", "might_have_seen", "session_vector", "view_of"]


class UserView(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    version: int  # user_state_version: events applied to this user
    known: bool  # False: the shard has never seen an event of this user (cold-start defaults)
    short: list[float]
    long: list[float]
    seen: list[str]  # recent distinct videos, oldest first
    bloom: bytes  # older seen videos (empty until the ring overflowed)
    bloom_hashes: int
    neg_creators: list[str]
    neg_sounds: list[str]
    following: list[str]
    counts: Counts
    personalisation: float  # 0 cold start .. 1 fully personalised
    region: str
    language: str
    age_band: str
    registered: bool
    last_ts: int
    held: int  # events waiting for a video embedding
    half_life_s: float  # of the session vector, for ``session_vector``


def might_have_seen(view: UserView, video_id: str) -> bool:
    """True if the user saw ``video_id`` (exact for recent videos, Bloom filter for older ones)."""
    return video_id in view.seen or bloom_contains(view.bloom, video_id, view.bloom_hashes)


def session_vector(view: UserView, now_us: int) -> list[float]:
    """The session vector decayed from the user's last event to ``now_us`` (the reader's clock).

    The shard's state depends on event time only; a reader that wants "how much of the session
    is left now" applies the remaining decay itself.
    """
    dt = now_us - view.last_ts
    if dt <= 0 or not view.last_ts:
        return list(view.short)
    f = 0.5 ** (dt / (view.half_life_s * 1e6))
    return [x * f for x in view.short]


def view_of(state: UserState, params: StateParams, *, known: bool = True) -> UserView:
    seen = state.seen.recent()
    if state.held:
        extra = {v for e in state.held if (v := getattr(e, "video_id", None))} - set(seen)
        seen += sorted(extra)
    return UserView(
        user_id=state.user_id, version=state.version, known=known,
        short=state.short.tolist(), long=state.long.tolist(), seen=seen, bloom=bytes(state.seen.bloom),
        bloom_hashes=params.bloom_hashes, neg_creators=sorted(state.neg_creators),
        neg_sounds=sorted(state.neg_sounds), following=sorted(state.following),
        counts=msgspec.structs.replace(state.counts), personalisation=personalisation(state, params),
        region=state.region, language=state.language, age_band=state.age_band,
        registered=state.registered, last_ts=state.last_ts, held=len(state.held),
        half_life_s=params.short_half_life_s,
    )

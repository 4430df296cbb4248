"""Slates: a user's ranked candidates, kept so the next page of the same scroll skips retrieval and ranking.

A page ranks every candidate (a few hundred) and shows ten. While the user scrolls on without doing
anything that moves their state (only the page's own ``Impression`` events were folded since), the
next page's retrieval and ranking would answer the same: the next page re-ranks what is left of that
ranking instead (exploration, diversity, the creator/sound rule), after the viewer's filter has
run again over it (what was shown since, what another replica served, what moderation removed).

A slate is used only for the page that follows the page it served last (the request's cursor names that
page), while the user's *signal version* (events applied other than impressions), the request's context
and, within ``ttl_s``, the clock agree. Anything else (an interaction, a refresh without a cursor, a
cursor from another replica or an old page, an experiment arm's change) builds a new page from
retrieval up. Only personalised pages leave a slate (never a fallback's).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from actors.view import UserView

from .candidates import Columns
from .config import FeedContext
from .rerank import Traits

__all__ = ["Slate", "Slates", "signal_version"]


def signal_version(view: UserView) -> int:
    """Events applied to the user other than impressions: what moves their vectors, filters and counts."""
    return view.version - view.counts.impressions


@dataclass(slots=True)
class Slate:
    cols: Columns  # the candidates of the page that built it
    scores: npt.NDArray[np.float64]  # final scores (blended, demotion applied), one per candidate
    order: npt.NDArray[np.int64]  # positions in ``cols`` still to show, best score first
    plays: npt.NDArray[np.float64] | None  # the feature store's views and completes per candidate
    signal: int  # ``signal_version`` of the state it was ranked from
    context: FeedContext
    built_at: float
    request_id: str = ""  # the last page served from it: a cursor naming this page continues the slate
    pages: int = 1  # pages served from it
    traits: Traits | None = None  # what the re-rank reads of every candidate, gathered on its first page


class Slates:
    """The slates of recently active users: an LRU of ``max_users`` entries, each good for ``ttl_s``."""

    def __init__(self, *, ttl_s: float = 30.0, max_users: int = 5_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_users = max_users
        self._clock = clock
        self._users: OrderedDict[str, Slate] = OrderedDict()
        self.hits = 0  # next pages of a scroll served from a slate (counted by the feed)
        self.misses = 0  # next pages of a scroll built from retrieval up

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0 and self.max_users > 0

    def take(self, user_id: str, after_request: str, view: UserView, context: FeedContext) -> Slate | None:
        """The user's slate if the page ``after_request`` was served from it and nothing has changed
        since; else None (and a stale slate is dropped)."""
        slate = self._users.get(user_id)
        if slate is None:
            return None
        if (slate.request_id != after_request or slate.signal != signal_version(view)
                or slate.context != context or self._clock() - slate.built_at > self.ttl_s):
            del self._users[user_id]
            return None
        self._users.move_to_end(user_id)
        return slate

    def new(self, user_id: str, cols: Columns, scores: npt.NDArray[np.float64], order: npt.NDArray[np.int64],
            plays: npt.NDArray[np.float64] | None, view: UserView, context: FeedContext) -> Slate:
        """Keep a freshly ranked page's candidates as the user's slate (replacing any older one)."""
        slate = Slate(cols=cols, scores=scores, order=order, plays=plays, signal=signal_version(view),
                      context=context, built_at=self._clock())
        self._users[user_id] = slate
        self._users.move_to_end(user_id)
        while len(self._users) > self.max_users:
            self._users.popitem(last=False)
        return slate

    def drop(self, user_id: str) -> None:
        self._users.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._users)

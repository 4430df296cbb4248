"""The last feed served to each user (an LRU with a TTL): the fallback page when state or retrieval is
down, and the ids served recently (excluded until the shard has folded their impressions)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["LastFeeds", "Served"]


@dataclass(slots=True)
class Served:
    at: float
    leftovers: Sequence[str]  # ranked but not shown on the last page (best first)
    recent: deque[str] = field(default_factory=deque)  # ids shown lately, oldest first


class LastFeeds:
    def __init__(self, *, ttl_s: float = 3600.0, max_users: int = 100_000, memory: int = 300,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_users = max_users
        self.memory = memory
        self._clock = clock
        self._users: OrderedDict[str, Served] = OrderedDict()

    def get(self, user_id: str) -> Served | None:
        entry = self._users.get(user_id)
        if entry is None:
            return None
        if self._clock() - entry.at > self.ttl_s:
            del self._users[user_id]
            return None
        self._users.move_to_end(user_id)
        return entry

    def served(self, user_id: str) -> Sequence[str]:
        entry = self.get(user_id)
        return () if entry is None else entry.recent

    def record(self, user_id: str, shown: Sequence[str], leftovers: Sequence[str]) -> None:
        """``shown``: the page's ids; ``leftovers``: what was ranked after them and not shown (kept as given:
        a lazy sequence stays lazy)."""
        entry = self.get(user_id)
        if entry is None:
            entry = Served(at=self._clock(), leftovers=[], recent=deque(maxlen=self.memory))
            self._users[user_id] = entry
        entry.at = self._clock()
        entry.recent.extend(shown)
        entry.leftovers = leftovers
        while len(self._users) > self.max_users:
            self._users.popitem(last=False)

    def __len__(self) -> int:
        return len(self._users)

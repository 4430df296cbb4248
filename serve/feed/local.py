"""``LocalUserStates``: the user shards' pure fold run in-process (tests, benchmarks, one-process demos).

It applies interaction events with ``actors.fold.step`` — the shard actor's own code path — over
content embeddings from ``actors.embeddings.VideoDirectory``, and answers ``get_state`` with the
shard's ``view_of``; so what the feed sees is exactly what a shard would answer.
"""

from __future__ import annotations

from actors.embeddings import ContentEncoder, VideoDirectory, is_catalog_event
from actors.fold import release, step
from actors.user_state import USER_EVENTS, StateParams, UserState, new_state
from actors.view import UserView, view_of
from events.schema import Event

__all__ = ["LocalUserStates"]


class LocalUserStates:
    def __init__(self, params: StateParams | None = None) -> None:
        self.params = params = params or StateParams()
        self.directory = VideoDirectory(ContentEncoder(params.dim))
        self.users: dict[str, UserState] = {}

    def observe(self, event: Event) -> None:
        if is_catalog_event(event):
            if self.directory.observe(event):
                for state in self.users.values():
                    if state.held:
                        release(state, self.directory.get, self.params)
            return
        if isinstance(event, USER_EVENTS):
            uid = event.user_id
            user = self.users.get(uid)
            if user is None:
                user = self.users[uid] = new_state(uid, self.params)
            step(user, event, self.directory.get, self.params)

    async def get_state(self, user_id: str, *, timeout_s: float | None = None) -> UserView:
        state = self.users.get(user_id)
        if state is None:
            return view_of(new_state(user_id, self.params), self.params, known=False)
        return view_of(state, self.params)

"""The serving state replayed from the log, event by event: what the feed knew at any past instant.

``FeedReplay`` folds events in time order through the same pure folds the platform serves from —

- the user shards' fold (``actors.fold.step`` over ``actors.user_state``, with the shards' content
  embeddings ``actors.embeddings.VideoDirectory``) for the session / long-term vectors and the
  ``UserView`` (``actors.view.view_of``, what ``get_state`` returns);
- the feature store projection (``projections.features``) for user affinities and video stats;
- the feed's ``serve.feed.catalogue.Catalogue`` for embeddings, creator, sound and hashtags —

and ``rows`` calls the feed's own ``serve.feed.features.build_rows`` on that state. So the ranker's
training rows and its serving rows come from one feature builder; snapshot *before* folding an
exposure and nothing at or after it can leak into its row (``ml.dataset``).

Two columns are not in any fold: ``src_*`` (which retrieval source offered the video) comes from the
``Impression``'s ``source``; ``retrieval`` (the source's score) is the ``Impression``'s ``retrieval``
where the feed recorded it, and otherwise (older logs, client-posted impressions) ``retrieval_score``
recomputes it as ``serve.feed.service`` sets it where the state allows — ``ann``:
the user-vector similarity the HNSW query returns; ``following``: 0.6 - 0.01 x the creator's rank in
the user's follows; ``affinity``: 0.5 - 0.02 x the rank of the video's hashtag (then sound) among
the user's top ones; ``fresh``: 0.05 — and, for ``trending`` (its rank in a list this replay does
not hold), the middle of its range. An exposure whose source is not a feed source (imported data,
demo impressions) gets no source bit and retrieval 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from actors.embeddings import ContentEncoder, VideoDirectory
from actors.fold import release, step
from actors.user_state import USER_EVENTS, StateParams, UserState, new_state
from actors.view import UserView, view_of
from events import Event
from projections import features as fs
from projections.base import DictView, apply
from projections.common import esc
from serve.feed.candidates import Candidate, affinity_names, user_vector
from serve.feed.catalogue import Catalogue, is_catalogue_event
from serve.feed.config import FeedConfig
from serve.feed.features import COL, FEATURES, build_rows

__all__ = ["SOURCE_COLUMNS", "FeedReplay", "retrieval_score"]

SOURCE_COLUMNS = tuple(COL[c] for c in FEATURES if c.startswith("src_"))
_FEED_SOURCES = frozenset(c.removeprefix("src_") for c in FEATURES if c.startswith("src_"))
_TRENDING_MID = 0.45 * 0.5 + 1e-3  # serve.feed.candidates.trending_candidates: 0.45 x (1 - rank / n) + 1e-3


def retrieval_score(source: str, sim: float, cat: Catalogue, label: int, view: UserView | None,
                    user: fs.UserFeatures | None, cfg: FeedConfig) -> float:
    """The retrieval score the feed's candidate source gives ``label`` (module docstring)."""
    if source == "ann":
        return sim
    if source == "fresh":
        return 0.05
    if source == "trending":
        return _TRENDING_MID
    if source == "following":
        creator = cat.creator_of(label)
        follows = view.following[: cfg.following_creators] if view is not None else []
        return 0.6 - 0.01 * (follows.index(creator) if creator in follows else 0)
    if source == "affinity":
        if user is not None and user.known:
            tags = set(cat.hashtags_of(label))
            for rank, name in enumerate(affinity_names(user.hashtags, cfg.affinity_hashtags)):
                if name in tags:
                    return 0.5 - 0.02 * rank
            sound = cat.sound_of(label)
            for rank, name in enumerate(affinity_names(user.sounds, cfg.affinity_sounds)):
                if name == sound:
                    return 0.5 - 0.02 * rank
        return 0.5
    return 0.0


class FeedReplay:
    """The folded serving state at the time of the last event given to ``observe``."""

    def __init__(self, params: StateParams | None = None, config: FeedConfig | None = None) -> None:
        self.params = params or StateParams()
        self.config = config or FeedConfig()
        self.catalogue = Catalogue()
        self.videos = VideoDirectory(ContentEncoder(self.params.dim))  # the shards' content embeddings
        self.users: dict[str, UserState] = {}
        self.held: set[str] = set()
        self.store = DictView()  # the feature store projection's view

    def observe(self, event: Event) -> None:
        """Fold one event (in time order) into every part of the state."""
        if is_catalogue_event(event):
            self.catalogue.observe(event)
        if self.videos.observe(event) and self.held:
            for uid in sorted(self.held):
                if not release(self.users[uid], self.videos.get, self.params):
                    self.held.discard(uid)
        if isinstance(event, USER_EVENTS):
            uid = event.user_id
            state = self.users.get(uid)
            if state is None:
                state = self.users[uid] = new_state(uid, self.params)
            if step(state, event, self.videos.get, self.params):
                self.held.add(uid)
        apply(self.store, fs.PROJECTION.fold(self.store, event))

    def view(self, user_id: str) -> UserView:
        """What the user's shard answers now (``ShardCore.get_state``)."""
        state = self.users.get(user_id)
        if state is None:
            return view_of(new_state(user_id, self.params), self.params, known=False)
        return view_of(state, self.params)

    def rows(self, user_id: str, videos: Sequence[str], sources: Sequence[str], now_us: int,
             retrievals: Sequence[float | None] | None = None) -> tuple[npt.NDArray[np.float32], list[int]]:
        """``build_rows`` for ``user_id`` x the catalogued ones of ``videos`` at ``now_us``, as the feed
        builds them; returns the rows and the indices (into ``videos``) they belong to. ``retrievals``:
        the retrieval score the feed logged per video (None where it did not: recomputed)."""
        cat, cfg = self.catalogue, self.config
        keep = [i for i, v in enumerate(videos) if cat.label(v) is not None]
        view = self.view(user_id)
        user = fs.user_features(self.store, user_id, now_us=now_us, k=20)  # serve.feed.views.ViewFeatures
        uvec = user_vector(view, now_us, cfg.short_weight)
        cands = [Candidate(cat.label_of[videos[i]], videos[i],
                           sources[i] if sources[i] in _FEED_SOURCES else "fresh", 0.0) for i in keep]
        stats = [self.store.get("v:" + esc(c.video_id)) for c in cands]
        x = build_rows(cat, cands, view, user, stats, user_vec=uvec, now_us=now_us)
        for j, i in enumerate(keep):
            logged = retrievals[i] if retrievals is not None else None
            if sources[i] in _FEED_SOURCES and logged is not None:
                x[j, COL["retrieval"]] = logged
            elif sources[i] in _FEED_SOURCES:
                x[j, COL["retrieval"]] = retrieval_score(sources[i], float(x[j, COL["sim"]]), cat,
                                                         cands[j].label, view, user, cfg)
            else:
                x[j, list(SOURCE_COLUMNS)] = 0.0
        return x, keep

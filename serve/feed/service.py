"""``FeedService``: the For You pipeline in-process (state, retrieval, ranking, re-rank, page) with fallbacks.

Stages (each timed; the timings become the ``Server-Timing`` header):

1. ``state``: the user's live state from the shard (budget ``state_budget_ms``);
2. ``retrieval``: ANN from the user vector + following + affinities + trending + fresh, filtered;
3. ``ranking``: feature rows -> the ``Ranker`` (in-process, or the Serve ranking deployment) ->
   blended score x demotion factor;
4. ``rerank``: exploration slots (Thompson), diversity, no creator/sound back to back;
5. ``page``: cursor, prefetch hints, last-feed cache, ``Impression`` events.

Every dependency call goes through a circuit breaker and a time budget. Fallback chain: ranking down
-> retrieval order with light re-ranking; state or retrieval down -> the user's last served feed
(kept ``last_feed_ttl_s``) -> trending in the region -> global trending -> the newest videos.
Degraded pages say ``personalized: false`` and why. Nothing here needs Ray: ports come in through
the constructor.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from typing import Any, Generic, TypeVar, cast

import numpy as np
import structlog

from actors.view import UserView, session_vector
from events.ids import new_event_id, new_event_ids, now_us
from events.schema import Impression
from projections.features import UserFeatures

from .batching import BatchedRetriever
from .breaker import CircuitBreaker
from .cache import LastFeeds
from .candidates import (
    SOURCE_CODE,
    SOURCE_NAMES,
    Columns,
    Pool,
    affinity_names,
    fresh_sample,
    trending_candidates,
    user_vector,
)
from .catalogue import DEMOTED, NONE, Catalogue, CatalogueRetriever, VideoIds
from .config import FeedConfig, FeedContext
from .cursor import Cursor, CursorCodec
from .errors import CircuitOpenError, StageFailedError, StageTimeoutError
from .features import STATS_COLUMNS, build_rows
from .filters import SeenLabels, Viewer, viewer_of
from .page import FeedItem, FeedPage
from .ports import Features, ImpressionSink, Ranker, Retriever, Trending, UserStates
from .rerank import PERSONAL_SOURCES, Traits, recent_cutoff, rerank_page
from .scoring import blend
from .slate import Slate, Slates
from .statcache import VideoStatsCache

__all__ = ["FeedService"]

log = structlog.get_logger("serve.feed")
T = TypeVar("T")
STAGES = ("state", "retrieval", "ranking", "trending", "features")
FRESH = SOURCE_CODE["fresh"]
_PERSONAL_CODE = np.array([name in PERSONAL_SOURCES for name in SOURCE_NAMES])  # by source code
_PLAYS = [STATS_COLUMNS.index("views"), STATS_COLUMNS.index("completes")]  # what the re-rank reads of the counts


class _Clock:
    __slots__ = ("last", "timings")

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        t = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + (t - self.last) * 1000.0
        self.last = t


class _Resumed(Generic[T]):
    """Awaiting this continues a coroutine already run up to its first wait (``signal``: what it yielded
    there), as awaiting the coroutine itself would have: the task's wake-ups, cancellation and the
    result pass through unchanged. ``FeedService._stage`` starts a stage's coroutine before it sets a
    timer, so a stage that never waits (state folded in the replica, in-process ranking) costs none."""

    __slots__ = ("coro", "signal")

    def __init__(self, coro: Coroutine[Any, Any, T], signal: Any) -> None:
        self.coro = coro
        self.signal = signal

    def __await__(self) -> Generator[Any, Any, T]:
        coro, signal = self.coro, self.signal
        while True:
            try:
                value = yield signal
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # thrown in by the task (cancellation): passed on
                try:
                    signal = coro.throw(exc)
                except StopIteration as done:
                    return cast(T, done.value)
            else:
                try:
                    signal = coro.send(value)
                except StopIteration as done:
                    return cast(T, done.value)


class FeedService:
    def __init__(self, catalogue: Catalogue, *, states: UserStates, ranker: Ranker | None,
                 trending: Trending | None = None, features: Features | None = None,
                 impressions: ImpressionSink | None = None, retriever: Retriever | None = None,
                 config: FeedConfig | None = None, rng: random.Random | None = None,
                 startup: Callable[[], Awaitable[None]] | None = None) -> None:
        self.catalogue = catalogue
        self._startup = startup  # e.g. the catalogue's catch-up with the log, awaited before the first page
        self._started: asyncio.Future[None] | None = None
        self.retriever: Retriever = retriever or (BatchedRetriever(catalogue) if config and config.ann_batching
                                                  else CatalogueRetriever(catalogue))
        self.states = states
        self.ranker = ranker
        self.trending = trending
        self.features = features
        self.impressions = impressions
        self.config = config = config or FeedConfig()
        # the feature store's per-video counts, by label, re-read after video_stats_ttl_s
        self.video_stats = VideoStatsCache(features, ttl_s=config.video_stats_ttl_s) if features is not None else None
        self.rng = rng or random.Random()
        self.cursors = CursorCodec(config.cursor_secret)
        self.last_feeds = LastFeeds(ttl_s=config.last_feed_ttl_s, max_users=config.last_feed_users,
                                    memory=config.served_memory)
        self.seen_labels = SeenLabels()  # the filter's exact seen test by label, kept per user across pages
        self.slates = Slates(ttl_s=config.slate_ttl_s, max_users=config.slate_users)
        self.breakers = {s: CircuitBreaker(s, failure_threshold=config.breaker_failures,
                                           reset_after_s=config.breaker_reset_s,
                                           min_span_s=config.breaker_min_span_s) for s in STAGES}
        self._pending: set[asyncio.Task[Any]] = set()
        n = config.max_concurrent_pages
        self._admission = asyncio.Semaphore(n) if n > 0 else None
        self.impression_failures = 0
        self._trend_offers: dict[str, tuple[list[tuple[str, float]], int, np.ndarray, np.ndarray]] = {}
        self._gen = np.random.default_rng(self.rng.getrandbits(64))  # the re-rank's Beta draws

    # ------------------------------------------------------------------------------ plumbing

    async def _stage(self, name: str, work: Awaitable[T], budget_ms: float) -> T:
        breaker = self.breakers[name]
        try:
            breaker.before()
        except CircuitOpenError:
            if asyncio.iscoroutine(work):
                work.close()
            raise
        if asyncio.iscoroutine(work):  # run it up to its first wait: a stage with none needs no timer
            try:
                signal = work.send(None)
            except StopIteration as done:
                breaker.success()
                return cast(T, done.value)
            except Exception as exc:
                breaker.failure()
                raise StageFailedError(stage=name, detail=f"{type(exc).__name__}: {exc}") from exc
            work = _Resumed(work, signal)
        try:
            async with asyncio.timeout(budget_ms / 1000.0):  # no extra task per stage (wait_for makes one)
                result = await work
        except TimeoutError as exc:
            breaker.failure()
            raise StageTimeoutError(stage=name, budget_ms=budget_ms) from exc
        except Exception as exc:
            breaker.failure()
            raise StageFailedError(stage=name, detail=f"{type(exc).__name__}: {exc}") from exc
        breaker.success()
        return result

    async def start(self) -> None:
        """Run the startup hook once (concurrent callers wait for the same run)."""
        if self._startup is None:
            return
        if self._started is None:
            self._started = asyncio.ensure_future(self._startup())
        await asyncio.shield(self._started)

    async def drain(self) -> None:
        """Wait for background impression appends (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # ------------------------------------------------------------------------------ the page

    async def get_page(self, user_id: str, count: int = 10, cursor: str | None = None, *,
                       context: FeedContext | None = None) -> FeedPage:
        """One page of ``user_id``'s feed. Raises ``BadCursorError`` for a cursor not issued to them;
        every dependency failure is absorbed by the fallback chain instead.

        At most ``max_concurrent_pages`` pages are built at once; later requests wait their turn first
        (the ``queue`` timing), so a busy replica does not interleave every request's stages until they
        all run past their time budgets."""
        if self._startup is not None and (self._started is None or not self._started.done()):
            await self.start()
        clock = _Clock()
        if self._admission is None:
            return await self._page(user_id, count, cursor, context, clock)
        async with self._admission:
            clock.lap("queue")
            return await self._page(user_id, count, cursor, context, clock)

    async def _page(self, user_id: str, count: int, cursor: str | None, context: FeedContext | None,
                    clock: _Clock) -> FeedPage:
        cfg = self.config
        ctx = context or FeedContext()
        count = max(1, min(count, cfg.max_count))
        prev = self.cursors.decode(cursor, user_id) if cursor else None
        page_no = 0 if prev is None else prev.page + 1
        now = now_us()
        try:
            budget = cfg.state_budget_ms
            view = await self._stage("state", self.states.get_state(user_id, timeout_s=budget / 1000), budget)
        except StageFailedError as exc:
            clock.lap("state")
            return await self._fallback(user_id, count, page_no, ctx, clock, now,
                                        reason=f"user state unavailable: {exc.detail}", view=None)
        clock.lap("state")
        viewer = viewer_of(self.catalogue, user_id, view, birth_year=ctx.birth_year,
                           served=self.last_feeds.served(user_id), now_us=now)
        viewer.seen_labels = self.seen_labels.of(self.catalogue, user_id, view.seen, viewer.seen_recent,
                                                 whole=view.held > 0)
        if not ctx.personalize:
            return await self._fallback(user_id, count, page_no, ctx, clock, now,
                                        reason="personalisation disabled for this experiment arm", view=view,
                                        viewer=viewer, use_last=False)
        if prev is not None and self.slates.enabled:
            slate = self.slates.take(user_id, prev.request_id, view, ctx)
            if slate is not None:
                page = await self._from_slate(user_id, slate, view, viewer, ctx, count, page_no, clock, now)
                if page is not None:
                    self.slates.hits += 1
                    return page
            self.slates.misses += 1
        try:
            pool, uvec, svec, ufeat = await self._stage("retrieval", self._retrieve(view, viewer, ctx, now),
                                                  cfg.retrieval_budget_ms)
        except StageFailedError as exc:
            clock.lap("retrieval")
            return await self._fallback(user_id, count, page_no, ctx, clock, now,
                                        reason=f"retrieval unavailable: {exc.detail}", view=view,
                                        viewer=viewer)
        clock.lap("retrieval")
        cols = pool.columns()
        reason: str | None = None
        counts: list[np.ndarray] = []  # the feature store's counts per candidate, read by ranking
        try:
            scores = await self._stage("ranking", self._rank(cols, view, ufeat, uvec, svec, ctx, now, counts),
                                       cfg.ranking_budget_ms)
        except StageFailedError as exc:
            reason = f"ranking unavailable ({exc.detail}): retrieval order"
            scores = cols.retrieval.copy()
        clock.lap("ranking")
        demoted = (self.catalogue.flags[cols.labels] & DEMOTED) != 0
        if demoted.any():
            f = cfg.demote_factor
            scores = np.where(demoted, np.where(scores > 0, scores * f, scores / f), scores)
        order = np.argsort(-scores, kind="stable")
        plays = counts[0][:, _PLAYS] if counts else None
        slate = (self.slates.new(user_id, cols, scores, order, plays, view, ctx)
                 if reason is None and self.slates.enabled else None)
        return await self._compose(user_id, cols, scores, order, plays, view=view, ctx=ctx, count=count,
                                   page_no=page_no, clock=clock, now=now, reason=reason, slate=slate)

    async def _from_slate(self, user_id: str, slate: Slate, view: UserView, viewer: Viewer, ctx: FeedContext,
                          count: int, page_no: int, clock: _Clock, now: int) -> FeedPage | None:
        """The next page from the user's slate (``slate``), or None when it cannot fill one as the ranking
        that built it would (too few candidates left to choose from, or served its ``slate_pages``): then
        the caller builds a page from retrieval up."""
        if slate.pages > self.config.slate_pages:
            self.slates.drop(user_id)
            return None
        cols, order = slate.cols, slate.order
        keep = self._window(cols, order, count)
        while len(keep):  # the viewer's filter over what the page can pick from: shown or removed since
            ok = viewer.admit_mask(self.catalogue, cols.labels[keep])
            if ok.all():
                break
            gone = np.zeros(len(cols), dtype=np.bool_)
            gone[keep[~ok]] = True
            order = order[~gone[order]]
            keep = self._window(cols, order, count)
        if len(order) < 2 * count:
            self.slates.drop(user_id)
            return None
        slate.order = order
        slate.pages += 1
        clock.lap("slate")
        return await self._compose(user_id, slate.cols, slate.scores, order, slate.plays, view=view, ctx=ctx,
                                   count=count, page_no=page_no, clock=clock, now=now, reason=None, slate=slate,
                                   keep=keep)

    async def _compose(self, user_id: str, cols: Columns, scores: np.ndarray, order: np.ndarray,
                       plays: np.ndarray | None, *, view: UserView, ctx: FeedContext, count: int, page_no: int,
                       clock: _Clock, now: int, reason: str | None, slate: Slate | None,
                       keep: np.ndarray | None = None) -> FeedPage:
        """Re-rank ranked candidates (``order``: positions in ``cols``, best ``scores`` first) into the page
        (``keep``: ``_window`` of ``order`` where the caller has it)."""
        cfg = self.config
        keep = self._window(cols, order, count) if keep is None else keep
        share = self._explore_share(view, ctx) if reason is None else 0.0
        if slate is None:
            traits = self._traits(cols, keep, scores[keep], plays)
        else:  # every candidate's traits gathered once per slate, from the catalogue's (large) arrays
            if slate.traits is None:
                slate.traits = self._traits(cols, np.arange(len(cols)), scores, plays)
            traits = slate.traits.take(keep, personal=bool(_PERSONAL_CODE[cols.codes[keep]].any()))
        picks, explored = rerank_page(traits, count, explore_share=share, prior=cfg.explore_prior,
                                      decay=cfg.diversity_decay, focus=cfg.explore_focus,
                                      new_ratio=cfg.new_video_ratio, rng=self.rng, gen=self._gen)
        at = keep[picks]  # the page's positions in ``cols``
        items = self._items(cols, at, traits, picks, explored, base=page_no * count)
        clock.lap("rerank")
        gone = np.zeros(len(cols), dtype=np.bool_)  # by position: what this page shows
        gone[at] = True
        head = order[: 50 + count]
        leftovers = VideoIds(cols.labels[head[~gone[head]][:50]], self.catalogue.video_ids)
        request_id = new_event_id()
        if slate is not None:  # before any await: the next page's cursor continues the slate from here
            slate.request_id = request_id
            slate.order = order[~gone[order]]
        return await self._finish(user_id, items, cols.labels[at], leftovers, page_no, ctx, clock, now,
                                  view=view, personalized=reason is None, reason=reason, request_id=request_id)

    @staticmethod
    def _window(cols: Columns, order: np.ndarray, count: int) -> np.ndarray:
        """The candidates a page's re-rank can pick from (positions in ``cols``): the best ``8 x count``
        of ``order`` and the fresh pool's (exploration) among the rest."""
        head, tail = order[: 8 * count], order[8 * count:]
        return np.concatenate([head, tail[cols.codes[tail] == FRESH][:64]])

    # ----------------------------------------------------------------------------- retrieval

    async def _retrieve(self, view: UserView, viewer: Viewer, ctx: FeedContext,
                        now: int) -> tuple[Pool, np.ndarray | None, np.ndarray, UserFeatures | None]:
        cfg, cat = self.config, self.catalogue
        pool = Pool(cat, viewer, cfg.max_candidates)
        offers: list[tuple[str, Any, Any]] = []  # filtered in one pass at the end, in this order
        svec = np.asarray(session_vector(view, now), dtype=np.float32)
        uvec = user_vector(view, now, cfg.short_weight, session=svec)
        if uvec is not None:
            labels, sims = await self.retriever.search(uvec, cfg.ann_k)
            offers.append(("ann", labels, sims))
        for rank, creator in enumerate(view.following[: cfg.following_creators]):
            labels_f = cat.recent("creator", creator, cfg.per_creator)
            offers.append(("following", labels_f, [0.6 - 0.01 * rank] * len(labels_f)))
        ufeat: UserFeatures | None = None
        if self.features is not None:
            try:
                ufeat = await self._stage("features", self.features.user(view.user_id),
                                          cfg.retrieval_budget_ms)
            except StageFailedError as exc:
                log.debug("user features unavailable", error=str(exc))
        if ufeat is not None and ufeat.known:
            for kind, names in (("hashtag", affinity_names(ufeat.hashtags, cfg.affinity_hashtags)),
                                ("sound", affinity_names(ufeat.sounds, cfg.affinity_sounds))):
                for rank, name in enumerate(names):
                    labels_a = cat.recent(kind, name, cfg.per_affinity)
                    offers.append(("affinity", labels_a, [0.5 - 0.02 * rank] * len(labels_a)))
        for scope in self._scopes(view.region if ctx.region is None else ctx.region):
            labels_t, scores_t = self._trending_offer(scope, await self._trending(scope))
            offers.append(("trending", labels_t, scores_t))
        fresh = fresh_sample(cat, cfg.fresh_k, cfg.fresh_window, self.rng)
        offers.append(("fresh", fresh, [0.05] * len(fresh)))
        pool.offer_many(offers)
        return pool, uvec, svec, ufeat

    def _trending_offer(self, scope: str, items: list[tuple[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """A trending list as catalogue labels and retrieval scores; reused while the ``Trending`` port
        answers the same list (it caches each scope's list for a while) and the catalogue has not grown."""
        hit = self._trend_offers.get(scope)
        if hit is not None and hit[0] is items and hit[1] == len(self.catalogue):
            return hit[2], hit[3]
        label_of = self.catalogue.label_of
        pairs = [(label_of[v], sc) for v, sc in trending_candidates(items) if v in label_of]
        labels = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
        scores = np.fromiter((p[1] for p in pairs), dtype=np.float64, count=len(pairs))
        self._trend_offers[scope] = (items, len(self.catalogue), labels, scores)
        return labels, scores

    @staticmethod
    def _scopes(region: str | None) -> list[str]:
        return [f"region:{region}", "global"] if region and region != "ZZ" else ["global"]

    async def _trending(self, scope: str) -> list[tuple[str, float]]:
        if self.trending is None:
            return []
        try:
            return await self._stage("trending", self.trending.top(scope, self.config.trending_k),
                                     self.config.fallback_budget_ms)
        except StageFailedError as exc:
            log.debug("trending unavailable", scope=scope, error=str(exc))
            return []

    # ------------------------------------------------------------------------------- ranking

    async def _rank(self, cols: Columns, view: UserView, ufeat: UserFeatures | None,
                    uvec: np.ndarray | None, svec: np.ndarray, ctx: FeedContext, now: int,
                    counts_out: list[np.ndarray]) -> np.ndarray:
        if self.ranker is None:
            raise RuntimeError("no ranker configured")
        if self.video_stats is not None:
            counts = await self.video_stats.matrix(self.catalogue, cols.labels)
        else:
            counts = np.zeros((len(cols), len(STATS_COLUMNS)), dtype=np.float64)
        rows = build_rows(self.catalogue, cols, view, ufeat, counts, user_vec=uvec, now_us=now, session_vec=svec)
        counts_out.append(counts)
        if not len(rows):
            return np.zeros(0, dtype=np.float64)
        heads = await self.ranker.score(rows)
        return blend(heads, ctx.blend if ctx.blend is not None else self.config.blend)

    def _items(self, cols: Columns, idx: np.ndarray, traits: Traits, picks: np.ndarray,
               explored: np.ndarray, *, base: int) -> list[FeedItem]:
        """The page's items: the candidates at positions ``idx`` of ``cols``, which are ``picks`` of
        ``traits`` (``explored``: which fill exploration slots), at feed positions from ``base``."""
        cat = self.catalogue
        ids, tags, names = cat.video_ids, cat.hashtags, cat.names.names  # creator, sound, hashtags: interned ids
        return [FeedItem(video_id=ids[label], creator_id=None if creator == NONE else names[creator],
                         sound_id=None if sound == NONE else names[sound],
                         hashtags=tuple([names[h] for h in tags[label]]), position=base + i,
                         source=SOURCE_NAMES[code], score=round(s, 6), explore=e, retrieval=round(r, 6))
                for i, (label, creator, sound, code, s, e, r) in enumerate(zip(
                    cols.labels[idx].tolist(), traits.creator[picks].tolist(), traits.sound[picks].tolist(),
                    cols.codes[idx].tolist(), traits.score[picks].tolist(), explored.tolist(),
                    cols.retrieval[idx].tolist(), strict=True))]

    def _traits(self, cols: Columns, idx: np.ndarray, scores: np.ndarray, plays: np.ndarray | None) -> Traits:
        """What the re-rank reads of the candidates at positions ``idx`` (their scores in ``scores``), from
        the catalogue's arrays. *New* (eligible for exploration): published among the newest
        ``new_video_share`` of the catalogue and under ``new_video_views`` views (``plays``: the feature
        store's views and completes per candidate; None: not read, e.g. a fallback page)."""
        cat, cfg = self.catalogue, self.config
        labels = cols.labels[idx]
        if plays is not None:
            views, completes = plays[idx, 0].astype(np.int64), plays[idx, 1].astype(np.int64)
        else:
            views = completes = np.zeros(len(labels), dtype=np.int64)
        recent = recent_cutoff(cat.fresh, cat.published_us, len(cat), cfg.new_video_share)
        new = (views < cfg.new_video_views) & (cat.published_us[labels] >= recent)
        return Traits(scores, cat.creator[labels], cat.sound[labels], cat.tag_matrix(labels), new=new, views=views,
                      completes=completes, personal=bool(_PERSONAL_CODE[cols.codes[idx]].any()))

    def _explore_share(self, view: UserView, ctx: FeedContext) -> float:
        cfg = self.config
        if ctx.exploration_share is not None:
            return ctx.exploration_share
        c = view.counts
        engaged = max(0, c.views - c.skips) + c.likes + c.shares + c.comments + c.follows
        cold = max(0.0, 1.0 - engaged / max(1, cfg.cold_interactions))
        return cfg.exploration_share + (cfg.cold_exploration_share - cfg.exploration_share) * cold

    # ------------------------------------------------------------------------------ fallback

    async def _fallback(self, user_id: str, count: int, page_no: int, ctx: FeedContext, clock: _Clock,
                        now: int, *, reason: str, view: UserView | None, viewer: Viewer | None = None,
                        use_last: bool = True) -> FeedPage:
        """Last served feed -> trending in region -> global trending -> newest videos (light re-rank)."""
        cat, cfg = self.catalogue, self.config
        viewer = viewer or viewer_of(cat, user_id, view, birth_year=ctx.birth_year,
                                     served=self.last_feeds.served(user_id), now_us=now)
        pool = Pool(cat, viewer, max(count * 4, 40))
        used: list[str] = []
        entry = self.last_feeds.get(user_id) if use_last else None
        if entry is not None and entry.leftovers:
            n = len(entry.leftovers)
            if pool.offer_ids("last_feed", [(v, 1.0 - i / (2 * n)) for i, v in enumerate(entry.leftovers)]):
                used.append("last feed")
        region = ctx.region if ctx.region is not None else (view.region if view is not None else None)
        for scope in self._scopes(region):
            if len(pool) >= count * 2:
                break
            top = await self._trending(scope)
            src = "trending_region" if scope.startswith("region:") else "trending_global"
            if pool.offer_ids(src, [(v, 0.45 * s) for v, s in trending_candidates(top)]):
                used.append("global trending" if scope == "global" else f"trending in {region}")
        if len(pool) < count:
            fresh = list(reversed(cat.fresh))[: cfg.fresh_window]
            if pool.offer("fresh", fresh, [0.01] * len(fresh)):
                used.append("newest videos")
        clock.lap("fallback")
        cols = pool.columns()
        traits = self._traits(cols, np.arange(len(cols)), cols.retrieval, None)
        picks, explored = rerank_page(traits, count, explore_share=0.0, decay=cfg.diversity_decay, rng=self.rng)
        items = self._items(cols, picks, traits, picks, explored, base=page_no * count)
        rest = np.ones(len(cols), dtype=np.bool_)
        rest[picks] = False
        leftovers = VideoIds(cols.labels[rest][:50], cat.video_ids)
        clock.lap("rerank")
        full = f"{reason}; served from {', '.join(used) or 'nothing'}"
        return await self._finish(user_id, items, cols.labels[picks], leftovers, page_no, ctx, clock, now, view=view,
                                  personalized=False, reason=full)

    # ------------------------------------------------------------------------------ the page

    async def _finish(self, user_id: str, items: list[FeedItem], labels: np.ndarray, leftovers: Sequence[str],
                      page_no: int, ctx: FeedContext, clock: _Clock, now: int, *, view: UserView | None,
                      personalized: bool, reason: str | None, request_id: str | None = None) -> FeedPage:
        """The page of ``items`` (``labels``: theirs in the catalogue; ``leftovers``: ranked after them, not
        shown), its cursor and its impressions."""
        cfg = self.config
        event_ids = new_event_ids(len(items) + (request_id is None))  # an id per impression, and the page's
        request_id = request_id or event_ids.pop()
        shown = [it.video_id for it in items]
        self.last_feeds.record(user_id, shown, leftovers)
        self.seen_labels.served(user_id, shown, labels)
        next_cursor = self.cursors.encode(Cursor(user_id, page_no, request_id, now))
        if self.impressions is not None and items:
            arm = dict(ctx.experiment)  # one copy for the page's events (never mutated after this)
            events = [Impression(event_id=eid, ts=now, user_id=user_id, video_id=it.video_id,
                                 request_id=request_id, position=it.position, source=it.source,
                                 experiment=arm, retrieval=it.retrieval)
                      for eid, it in zip(event_ids, items, strict=True)]
            if cfg.await_impressions:
                await self._append(events)
            else:
                task = asyncio.get_running_loop().create_task(self._append(events))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
        clock.lap("page")
        timings = dict(clock.timings)
        timings["total"] = sum(timings.values())
        return FeedPage(request_id=request_id, user_id=user_id, items=items, cursor=next_cursor,
                        prefetch=list(leftovers[: cfg.prefetch]), personalized=personalized, reason=reason,
                        user_state_version=None if view is None else view.version, timings_ms=timings,
                        experiment=dict(ctx.experiment))

    async def _append(self, events: list[Impression]) -> None:
        assert self.impressions is not None
        try:
            await self.impressions.append(events)
        except Exception as exc:  # impressions are analytics: a failed append never fails the page
            self.impression_failures += 1
            log.warning("impressions not logged", error=f"{type(exc).__name__}: {exc}", n=len(events))


"""Every knob of the feed pipeline in one typed struct: time budgets, source sizes, blend, exploration.

``FeedConfig`` is plain data (picklable through Ray, JSON-able for Serve ``user_config``); an
experiment arm overrides parts of it per request through ``FeedContext`` (exploration share, blend
weights, personalisation on/off) without touching the service.
"""

from __future__ import annotations

import msgspec

__all__ = ["DEFAULT_BLEND", "FeedConfig", "FeedContext"]

#: Weights of the ranker's heads in the final score (``expected watch`` is log1p seconds).
DEFAULT_BLEND: dict[str, float] = {
    "complete": 0.4, "like": 1.0, "share": 0.6, "comment": 0.3, "follow": 0.6, "skip": -0.6, "watch": 0.05,
}


class FeedConfig(msgspec.Struct, frozen=True, kw_only=True):
    # per-stage time budgets (ms); a stage past its budget counts as a failure of its breaker. They detect a
    # stage that is down or stuck, not ordinary jitter: at 40 ms, 15 % of `reel simulate`'s pages degraded
    # on a 2-core machine running the whole platform (cold start 12 interactions); at 100 ms, 0.1 % (8).
    # The state read is a Ray call whose reply comes back into the busy ingress process: under the same
    # simulation on a slower host it took p50 45 ms, p99 190 ms (the shard's own work under 2 ms; the
    # request reached the shard in p50 8 ms), and at 100 ms 22-35 % of pages lost their personalisation;
    # at 250 ms 0.6 % (docs/simulation.md, sixth session)
    state_budget_ms: float = 250.0
    retrieval_budget_ms: float = 100.0
    ranking_budget_ms: float = 100.0
    fallback_budget_ms: float = 100.0
    # circuit breakers
    breaker_failures: int = 3
    breaker_reset_s: float = 5.0
    # the failures that open a breaker must span this long: pages in flight together that time out
    # together (one slow moment on a busy host) do not shut a stage for breaker_reset_s
    breaker_min_span_s: float = 1.0
    # retrieval: candidates per source
    ann_k: int = 150
    following_creators: int = 20
    per_creator: int = 5
    affinity_hashtags: int = 5
    affinity_sounds: int = 3
    per_affinity: int = 10
    trending_k: int = 50
    fresh_k: int = 40
    fresh_window: int = 2_000  # newest published videos the fresh pool samples from
    max_candidates: int = 300
    video_stats_ttl_s: float = 1.0  # the replica re-reads a video's counts from the feature store after this
    # micro-batch concurrent requests' ANN searches into one hnswlib call on a worker thread
    # (``batching.BatchedRetriever``): for many-core hosts; on 2 cores the thread competes with the
    # loop and the batch wakes its requests together (a convoy past the stage budgets), so off
    ann_batching: bool = False
    # pages built at once per replica (0: no limit); the rest queue (FIFO) before their first stage
    max_concurrent_pages: int = 4
    short_weight: float = 0.7  # user vector = normalise(short_weight * session + (1 - it) * long-term)
    # ranking
    blend: dict[str, float] = msgspec.field(default_factory=lambda: dict(DEFAULT_BLEND))
    demote_factor: float = 0.5  # demoted videos (> 10 reports) rank with this multiplier
    # re-rank
    exploration_share: float = 0.1
    cold_exploration_share: float = 0.3  # a brand-new user's share, falling to exploration_share ...
    cold_interactions: int = 8  # ... over this many engaged interactions
    new_video_share: float = 0.1  # a video among the newest this share of the catalogue (by publication) ...
    new_video_views: int = 200  # ... with fewer views (any source) may be eligible for exploration ...
    new_video_ratio: float = 0.5  # ... if also at most this x the median views of the request's candidates
    explore_focus: float = 0.25  # with personal signal: Thompson among this best-ranked share of new videos
    explore_prior: tuple[float, float] = (3.0, 7.0)  # Beta prior of a new video's completion rate
    diversity_decay: float = 0.9  # score x this per earlier pick of the same creator / hashtag
    # slates (``slate``): the next page of a scroll re-ranks the last page's ranked candidates, while the user
    # has done nothing since but look (no event other than impressions), for this long and this many pages;
    # ttl 0: every page from retrieval up
    slate_ttl_s: float = 30.0
    slate_pages: int = 6  # pages a slate serves after the page that ranked it
    slate_users: int = 2_000  # slates kept per replica (LRU), ~30 KB each at the default sizes
    # the page
    max_count: int = 50
    prefetch: int = 3
    last_feed_ttl_s: float = 3600.0
    last_feed_users: int = 100_000
    served_memory: int = 300  # per user: recently served ids excluded until the shard has seen them
    cursor_secret: str = ""  # HMAC key of cursors; empty: a random key per process
    await_impressions: bool = False  # True: the page returns after its Impression events are durable


class FeedContext(msgspec.Struct, frozen=True, kw_only=True):
    """What the ingress knows about the request: viewer facts and the experiment arm's overrides."""

    region: str | None = None  # default: the region in the user's shard state
    birth_year: int | None = None  # for the age gate; default: the shard's age band
    language: str | None = None
    experiment: dict[str, str] = {}  # experiment name -> arm (logged with every impression)
    exploration_share: float | None = None
    blend: dict[str, float] | None = None
    personalize: bool = True  # False: a most-popular arm (trending only, personalized=false)

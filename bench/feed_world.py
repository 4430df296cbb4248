"""The feed benchmark's world: a synthetic catalogue of N videos (cached on disk with its HNSW graph,
keyed by its parameters) and U warmed-up users, folded through the platform's real folds.

Videos get topical hashtags, creators and sounds (Zipf-like popularity) and the shards' content
embedding (``actors.embeddings.ContentEncoder``; per-feature hashes are memoised, which gives the
same vectors in a fraction of the time). Users get a home region and a few favourite topics, and
``warm`` interactions each, applied to the in-process shard fold, the features and trending folds.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from actors.embeddings import ContentEncoder
from events.ids import now_us
from events.schema import Event, Liked, UserRegistered, VideoDetailsSubmitted, VideoPublished, ViewEnded
from projections import features as fs
from projections import trending as tr
from projections.base import DictView, apply
from serve.feed import Catalogue, CatalogueParams, Details, LocalUserStates

__all__ = ["BenchWorld", "WorldSpec", "bench_ranker", "build_catalogue"]

Progress = Callable[[str, int | None], Callable[[int], None]]
REGIONS = ("GB", "US", "DE", "BR", "IN", "JP")


@dataclass(frozen=True, slots=True)
class WorldSpec:
    catalog: int = 100_000
    users: int = 1_000
    topics: int = 300
    warm: int = 12  # interactions per user before the clock starts
    seed: int = 7
    m: int = 16
    ef_construction: int = 100
    ef: int = 64

    def key(self) -> str:
        raw = f"v1:{self.catalog}:{self.topics}:{self.seed}:{self.m}:{self.ef_construction}:64"
        return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


class _MemoEncoder(ContentEncoder):
    """``ContentEncoder`` with each feature's buckets memoised (identical vectors, far fewer hashes)."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)
        self._memo: dict[str, list[tuple[int, float]]] = {}

    def encode(self, *, video_id: str, creator_id: str = "", caption: str = "",
               hashtags: Iterable[str] = (), sound_id: str | None = None) -> np.ndarray:
        acc = np.zeros(self.dim, dtype=np.float64)
        for feature, weight in self._features(video_id, creator_id, caption, hashtags, sound_id):
            hits = self._memo.get(feature)
            if hits is None:
                digest = hashlib.blake2b(feature.encode(), digest_size=8 * self.probes,
                                         key=self._key).digest()
                hits = []
                for j in range(self.probes):
                    h = int.from_bytes(digest[8 * j: 8 * j + 8], "little")
                    hits.append(((h >> 1) % self.dim, 1.0 if h & 1 else -1.0))
                if not feature.startswith("v:"):
                    self._memo[feature] = hits
            for idx, sign in hits:
                acc[idx] += weight * sign
        norm = float(np.linalg.norm(acc))
        return (acc / norm).astype(np.float32) if norm else super().encode(video_id=video_id)


def _video(i: int, spec: WorldSpec, rng: random.Random) -> tuple[str, Details, int]:
    topic = min(int(rng.paretovariate(1.1)) - 1, spec.topics - 1)
    second = rng.randrange(spec.topics)
    creator = f"c{topic:03d}-{rng.randrange(max(1, spec.catalog // spec.topics // 8))}"
    d = Details(creator_id=creator, caption=f"t{topic} clip", hashtags=(f"t{topic}", f"t{second}"),
                sound_id=f"s{topic:03d}-{rng.randrange(12)}")
    return f"v{i:07d}", d, topic


def build_catalogue(spec: WorldSpec, cache: Path | None,
                    phase: Progress) -> tuple[Catalogue, list[int], float]:
    """The catalogue (from the cache when present); per video its topic; seconds spent building."""
    rng = random.Random(spec.seed)
    t0 = time.perf_counter()
    path = cache / spec.key() if cache is not None else None
    videos = [_video(i, spec, rng) for i in range(spec.catalog)]
    topics = [t for _, _, t in videos]
    if path is not None and (path / "meta.pkl").exists():
        phase(f"loading the cached {spec.catalog:,}-video catalogue", None)
        catalogue, _ = Catalogue.load(path)
        return catalogue, topics, time.perf_counter() - t0
    params = CatalogueParams(m=spec.m, ef_construction=spec.ef_construction, ef=spec.ef, fresh_size=5_000)
    catalogue = Catalogue(params, capacity=spec.catalog)
    catalogue.index._index.set_num_threads(0)  # build with every core; queries stay single-threaded
    enc = _MemoEncoder(params.dim)
    step = phase(f"embedding and indexing {spec.catalog:,} videos", spec.catalog)
    start = now_us() - 30 * 86_400_000_000
    for lo in range(0, spec.catalog, 20_000):
        chunk = videos[lo: lo + 20_000]
        vecs = np.stack([enc.encode(video_id=v, creator_id=d.creator_id, caption=d.caption,
                                    hashtags=d.hashtags, sound_id=d.sound_id) for v, d, _ in chunk])
        ts = [start + (lo + k) * 2_000_000 for k in range(len(chunk))]
        catalogue.add_many([v for v, _, _ in chunk], [d for _, d, _ in chunk], ts, vectors=vecs)
        step(len(chunk))
    catalogue.index._index.set_num_threads(1)
    if path is not None:
        catalogue.save(path)
    return catalogue, topics, time.perf_counter() - t0


class BenchWorld:
    """Catalogue + shard fold + features and trending views, all in memory."""

    def __init__(self, spec: WorldSpec, catalogue: Catalogue, topics: list[int]) -> None:
        self.spec = spec
        self.catalogue = catalogue
        self.topics = topics
        self.states = LocalUserStates()
        self.features = DictView()
        self.trending = DictView()
        self.by_topic: dict[int, list[str]] = {}
        for i, t in enumerate(topics[: 200_000]):
            self.by_topic.setdefault(t, []).append(f"v{i:07d}")
        self.users = [f"u{k:06d}" for k in range(spec.users)]
        self.events = 0
        self.recorded: list[Event] | None = None  # a list: every applied event is kept (--states shards)

    def catalog_events(self, video_ids: Iterable[str]) -> list[Event]:
        """Catalog events for the shard fold (it embeds only videos users touch)."""
        out: list[Event] = []
        cat = self.catalogue
        ts = now_us()
        for vid in video_ids:
            label = cat.label_of[vid]
            tags = cat.hashtags_of(label)  # the generator's caption is "<first hashtag> clip"
            out.append(VideoDetailsSubmitted(
                event_id=f"d-{vid}", ts=ts, video_id=vid, creator_id=cat.creator_of(label) or "",
                caption=f"{tags[0]} clip", hashtags=tags, sound_id=cat.sound_of(label)))
            out.append(VideoPublished(event_id=f"p-{vid}", ts=ts, video_id=vid,
                                      creator_id=cat.creator_of(label) or ""))
        return out

    def apply(self, events: Iterable[Event]) -> None:
        for e in events:
            self.events += 1
            if self.recorded is not None:
                self.recorded.append(e)
            self.states.observe(e)
            apply(self.features, fs.PROJECTION.fold(self.features, e))
            apply(self.trending, tr.PROJECTION.fold(self.trending, e))

    def apply_views(self, events: Iterable[Event]) -> None:
        """The features and trending folds only (the user state lives in shard actors: ``--states shards``)."""
        for e in events:
            self.events += 1
            apply(self.features, fs.PROJECTION.fold(self.features, e))
            apply(self.trending, tr.PROJECTION.fold(self.trending, e))

    async def append(self, events: Iterable[Event]) -> None:
        """The impression sink: impressions fold into the shard state (seen set) like in production."""
        self.apply(events)

    def interaction(self, user: str, video_id: str, *, like: bool) -> list[Event]:
        ts = now_us()
        out: list[Event] = [ViewEnded(event_id=f"w-{user}-{ts}", ts=ts, user_id=user, video_id=video_id,
                                      watch_ms=14_000, duration_ms=15_000, loops=int(like))]
        if like:
            out.append(Liked(event_id=f"l-{user}-{ts}", ts=ts + 1, user_id=user, video_id=video_id))
        return out

    def warm_up(self, phase: Progress) -> None:
        rng = random.Random(self.spec.seed + 1)
        step = phase(f"warming up {len(self.users):,} users", len(self.users))
        hot = sorted(self.by_topic, key=lambda t: -len(self.by_topic[t]))[:50]
        for user in self.users:
            events: list[Event] = [UserRegistered(
                event_id=f"r-{user}", ts=now_us(), user_id=user, region=rng.choice(REGIONS),
                birth_year=rng.randint(1960, 2008))]
            favs = rng.sample(hot, 2)
            picks = [rng.choice(self.by_topic[rng.choice(favs)]) for _ in range(self.spec.warm)]
            events += self.catalog_events(picks)
            for vid in picks:
                events += self.interaction(user, vid, like=rng.random() < 0.3)
            self.apply(events)
            step(1)

    def learn(self, video_ids: Iterable[str]) -> None:
        self.apply(self.catalog_events(v for v in video_ids if self.states.directory.get(v) is None))


def bench_ranker(spec: str) -> Any:
    """The ranker of ``reel bench feed --ranker spec``: ``prior`` (the platform's ranker until the trainer
    publishes a model), ``network`` (the served network, ``ml.ranker.MultiTaskRanker`` over the feed's
    rows, with its initial weights: what scoring a page costs, not what it is worth, since the bench
    world has no training log), or a ranker artifact's URI (what ``reel train ranker`` publishes)."""
    from serve.feed.scoring import PriorRanker, TorchRanker, load_ranker

    if spec == "prior":
        return PriorRanker()
    if spec == "network":
        import torch

        from ml.ranker import MultiTaskRanker, RankerConfig
        from serve.feed.features import FEATURES

        torch.manual_seed(0)
        return TorchRanker(MultiTaskRanker(len(FEATURES), RankerConfig()), version="initial")
    return load_ranker(spec)

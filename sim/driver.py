"""Drive a running Reelstack through its HTTP API only: creators upload clips, users watch their feeds.

``simulate(config)`` registers creators of different (latent) quality and uploads a catalogue of
small synthetic clips (``media.synth``) through upload-url -> PUT -> publish, waits for the pipeline
to publish them, then runs ``users`` synthetic viewers concurrently (bounded by ``concurrency``):
each fetches ``GET /feed`` pages, "watches" each video with ``sim.world.WatchModel`` and reports
``POST /events`` (view_ended), likes, shares and follows, in sessions of realistic length. During the
run brand-new creators upload more clips. A video's topic comes from its card (hashtags / music) as a
client would see it; the experiment arm from the feed response's ``experiment`` field.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .trace import PageRecord, Trace, UploadRecord, ViewRecord
from .world import TOPICS, WatchModel, creator_quality, new_user, topic_of_card

__all__ = ["SimConfig", "SimError", "quality_of", "simulate"]


def quality_of(creator: dict[str, Any]) -> float:
    """A creator's latent quality: the simulator's own creators carry it in their name (``... q0.80``),
    so a later run against the same platform knows them; any other creator gets a stable hash draw."""
    name = str(creator.get("name") or "")
    tail = name.rsplit(" q", 1)
    if name.startswith("sim ") and len(tail) == 2:
        try:
            return float(tail[1])
        except ValueError:
            pass
    return creator_quality(str(creator.get("id") or ""))


class SimError(RuntimeError):
    def __init__(self, message: str, *, status: int | None = None, path: str = "") -> None:
        self.status = status
        self.path = path
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class SimConfig:
    base_url: str = "http://127.0.0.1:8000"
    users: int = 200
    steps: int = 50  # interactions (videos watched) per user
    page_size: int = 4
    concurrency: int = 16
    seed: int = 7
    catalogue: int = 160  # clips uploaded before the users start (0: use what the platform has)
    creators: int = 16
    new_creators: int = 8  # brand-new creators uploading one clip each during the run
    clip_seconds: tuple[float, float] = (3.0, 6.0)
    session_mean: float = 16.0  # videos per session (lognormal), rounded up to whole pages
    shift_share: float = 0.3  # users whose interests shift at half of their steps
    experiment: str | None = None  # the experiment whose arm groups users (None: one group, "all")
    publish_timeout_s: float = 600.0
    watch: WatchModel = field(default_factory=WatchModel)


class _Api:
    """An httpx client with bounded concurrency, retries of 429/503 and request counting."""

    def __init__(self, base_url: str, concurrency: int, trace: Trace) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=60.0, limits=httpx.Limits(max_connections=concurrency * 2)
        )
        self.sem = asyncio.Semaphore(concurrency)
        self.trace = trace

    async def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        url = path if path.startswith("/api/") else "/api/v1" + path
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kw.pop("headers", {}))
        for attempt in range(30):
            async with self.sem:
                r = await self.client.request(method, url, headers=headers, **kw)
            self.trace.requests += 1
            if r.status_code in (429, 503) and attempt < 29:
                await asyncio.sleep(min(5.0, float(r.headers.get("Retry-After", "0.5") or 0.5)))
                continue
            break
        if r.status_code >= 400:
            raise SimError(
                f"{method} {url} -> {r.status_code}: {r.text[:200]}", status=r.status_code, path=url
            )
        return r.json() if r.content else None

    async def register(self, name: str) -> tuple[str, str]:
        tok = await self.call("POST", "/auth/register", json={"name": name})
        return tok["token"], tok["user_id"]

    async def close(self) -> None:
        await self.client.aclose()


class _Sim:
    def __init__(self, cfg: SimConfig, progress: Callable[[str], None] | None) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.trace = Trace(users=cfg.users, steps=cfg.steps, page_size=cfg.page_size)
        self.api = _Api(cfg.base_url, cfg.concurrency, self.trace)
        self.quality: dict[str, float] = {}
        self.t0 = time.perf_counter()
        self.tick = 0
        self.progress = progress
        self.work = Path(tempfile.mkdtemp(prefix="reel-sim-clips-"))
        self.clip_no = 0

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(f"[{self.now():7.1f}s] {text}")

    def error(self, kind: str) -> None:
        self.trace.errors[kind] = self.trace.errors.get(kind, 0) + 1

    # ------------------------------------------------------------------ uploads
    async def upload(
        self, token: str, creator: str, topic: str, quality: float, *, new: bool
    ) -> UploadRecord:
        from media.synth import make_clip

        n = self.clip_no
        self.clip_no += 1
        seconds = round(self.rng.uniform(*self.cfg.clip_seconds), 1)
        path = await asyncio.to_thread(
            make_clip,
            self.work / f"clip{n:04d}.mp4",
            seconds,
            180,
            320,
            fps=12,
            pattern=("shapes", "gradient")[n % 2],
            seed=50_000 + self.cfg.seed * 997 + n,
        )
        ticket = await self.api.call("POST", "/videos/upload-url", token)
        await self.api.call(
            "PUT",
            ticket["upload_url"],
            token,
            content=path.read_bytes(),
            headers={"Content-Type": "video/mp4"},
        )
        path.unlink(missing_ok=True)
        tags = list(TOPICS[topic][:2])
        await self.api.call(
            "POST",
            f"/videos/{ticket['video_id']}/publish",
            token,
            json={
                "description": f"{topic} clip {n} " + " ".join("#" + t for t in tags),
                "hashtags": tags,
                "music_id": f"sound-{topic}-{n % 3}",
                "music_title": f"{topic} beat",
                "privacy": "public",
            },
        )
        rec = UploadRecord(
            video_id=ticket["video_id"],
            creator_id=creator,
            topic=topic,
            quality=quality,
            new_creator=new,
            uploaded_t=self.now(),
        )
        self.trace.uploads.append(rec)
        return rec

    async def wait_published(self, token: str, recs: list[UploadRecord], timeout_s: float) -> None:
        deadline = time.perf_counter() + timeout_s
        waiting = list(recs)
        while waiting and time.perf_counter() < deadline:
            for rec in list(waiting):
                try:
                    v = await self.api.call("GET", f"/videos/{rec.video_id}", token)
                except SimError:
                    self.error("status")
                    continue
                if v["status"] == "published":
                    rec.published_t, rec.published_tick, rec.status = self.now(), self.tick, "published"
                    waiting.remove(rec)
                elif v["status"] in ("rejected", "failed", "removed"):
                    rec.status = v["status"]
                    waiting.remove(rec)
            if waiting:
                await asyncio.sleep(1.0)

    async def seed_catalogue(self) -> None:
        cfg = self.cfg
        if cfg.catalogue <= 0:
            return
        topics = list(TOPICS)
        creators = []
        for i in range(cfg.creators):
            q = 0.15 + 0.75 * i / max(1, cfg.creators - 1)  # a spread of quality
            token, uid = await self.api.register(f"sim creator {i} q{q:.2f}")
            self.quality[uid] = q
            creators.append((token, uid, topics[i % len(topics)], q))
        plan = [(creators[n % len(creators)], topics[n % len(topics)]) for n in range(cfg.catalogue)]
        sem = asyncio.Semaphore(3)

        async def one(item: tuple[tuple[str, str, str, float], str]) -> tuple[str, UploadRecord] | None:
            (token, uid, _home, q), topic = item
            async with sem:
                try:
                    return token, await self.upload(token, uid, topic, q, new=False)
                except SimError as exc:
                    self.say(f"upload failed: {exc}")
                    self.error("upload")
                    return None

        done = [d for d in await asyncio.gather(*(one(p) for p in plan)) if d is not None]
        self.say(f"catalogue: {len(done)} clips uploaded; waiting for the pipeline to publish them")
        by_token: dict[str, list[UploadRecord]] = {}
        for token, rec in done:
            by_token.setdefault(token, []).append(rec)
        await asyncio.gather(
            *(self.wait_published(t, recs, cfg.publish_timeout_s) for t, recs in by_token.items())
        )
        ok = sum(1 for _, r in done if r.status == "published")
        self.say(f"catalogue: {ok}/{len(done)} published")

    async def new_creators(self, total_ticks: int) -> None:
        """Brand-new creators, one clip each, spread over the first 60 % of the run."""
        cfg = self.cfg
        topics = list(TOPICS)
        waits = []
        for i in range(cfg.new_creators):
            at = int(total_ticks * 0.4 * i / max(1, cfg.new_creators))
            while self.tick < at:
                await asyncio.sleep(0.2)
            try:
                q = 0.8 if i % 2 == 0 else 0.25  # half good, half poor
                token, uid = await self.api.register(f"sim new creator {i} q{q:.2f}")
                self.quality[uid] = q
                rec = await self.upload(token, uid, topics[(i * 3) % len(topics)], q, new=True)
                waits.append(asyncio.create_task(self.wait_published(token, [rec], cfg.publish_timeout_s)))
            except SimError as exc:
                self.say(f"new creator upload failed: {exc}")
                self.error("upload")
        if waits:
            await asyncio.gather(*waits)

    # ------------------------------------------------------------------ viewers
    def session_length(self, rng: random.Random) -> int:
        n = rng.lognormvariate(0.0, 0.6) * self.cfg.session_mean / 1.2
        pages = max(1, round(n / self.cfg.page_size))
        return pages * self.cfg.page_size

    async def viewer(self, index: int) -> None:
        cfg = self.cfg
        rng = random.Random(cfg.seed * 100_003 + index)
        user = new_user(index, rng)
        try:
            token, _uid = await self.api.register(f"sim viewer {index}")
        except SimError:
            self.error("register")
            return
        shift_at = cfg.steps // 2 if rng.random() < cfg.shift_share else None
        arm: str | None = None
        session, left, cursor, in_session, empty = 0, self.session_length(rng), None, 0, 0
        while user.interactions < cfg.steps:
            try:
                page = await self.api.call(
                    "GET",
                    "/feed",
                    token,
                    params={"count": cfg.page_size, **({"cursor": cursor} if cursor else {})},
                )
            except SimError:
                self.error("feed")
                await asyncio.sleep(0.5)
                cursor = None
                continue
            if arm is None:
                exp = page.get("experiment") or {}
                arm = str(exp.get(cfg.experiment, "none")) if cfg.experiment else "all"
                self.trace.arms[index] = arm
            cursor = page.get("cursor")
            cards = page.get("videos") or []
            if not cards:
                self.error("empty_page")
                empty += 1
                if empty >= 20:  # the catalogue is exhausted for this user: stop rather than spin
                    self.error("user_gave_up")
                    return
                await asyncio.sleep(0.5)
                cursor = None
                continue
            empty = 0
            topics = [topic_of_card(c) for c in cards]
            self.trace.pages.append(
                PageRecord(
                    user=index,
                    arm=arm,
                    k=user.interactions,
                    since_shift=None if user.shifted_at is None else user.interactions - user.shifted_at,
                    on_interest=sum(1 for t in topics if user.on_interest(t)) / len(cards),
                    size=len(cards),
                    personalized=bool(page.get("personalized")),
                    t=self.now(),
                    reason=page.get("reason"),
                )
            )
            batch = []
            for pos, (c, topic) in enumerate(zip(cards, topics, strict=True)):
                if user.interactions >= cfg.steps:
                    break
                creator = str((c.get("creator") or {}).get("id") or "")
                q = self.quality.get(creator) or quality_of(c.get("creator") or {})
                duration = max(1000, int(float(c.get("duration_sec") or 4.0) * 1000))
                out = cfg.watch.watch(
                    rng, match=user.match(topic), quality=q, position=in_session + pos, duration_ms=duration
                )
                batch.append(
                    {
                        "type": "view_ended",
                        "video_id": c["video_id"],
                        "watch_ms": out.watch_ms,
                        "duration_ms": duration,
                        "loops": out.loops,
                        **({"request_id": page["request_id"]} if page.get("request_id") else {}),
                    }
                )
                vid = c["video_id"]
                with contextlib.suppress(SimError):
                    if out.liked:
                        await self.api.call("POST", f"/videos/{vid}/like", token)
                    if out.shared:
                        await self.api.call("POST", f"/videos/{vid}/share", token, json={"channel": "link"})
                followed = False
                if out.followed and creator and creator not in user.followed:
                    with contextlib.suppress(SimError):
                        await self.api.call("POST", f"/users/{creator}/follow", token)
                        user.followed.add(creator)
                        followed = True
                user.interactions += 1
                self.tick += 1
                self.trace.views.append(
                    ViewRecord(
                        user=index,
                        arm=arm,
                        session=session,
                        video_id=vid,
                        creator_id=creator,
                        hashtags=tuple(c.get("hashtags") or ()),
                        topic=topic,
                        on_interest=user.on_interest(topic),
                        watch_ms=out.watch_ms,
                        duration_ms=duration,
                        completed=out.completed,
                        skipped=out.skipped,
                        liked=out.liked,
                        shared=out.shared,
                        followed=followed,
                        t=self.now(),
                        tick=self.tick,
                    )
                )
                if shift_at is not None and user.shifted_at is None and user.interactions >= shift_at:
                    user.shift(rng)
            if batch:
                try:
                    await self.api.call("POST", "/events", token, json={"events": batch})
                except SimError:
                    self.error("events")
            left -= len(cards)
            in_session += len(cards)
            if left <= 0:  # the session ends; interests drift a little before the next one
                session += 1
                left = self.session_length(rng)
                cursor, in_session = None, 0
                user.drift(rng)

    async def run(self) -> Trace:
        cfg = self.cfg
        try:
            health = await self.api.call("GET", "/api/v1/health")
            self.say(f"platform: {health}")
            await self.seed_catalogue()
            total = cfg.users * cfg.steps
            creators_task = asyncio.create_task(self.new_creators(total))
            start = self.now()
            ticker = asyncio.create_task(self._report(total))
            await asyncio.gather(*(self.viewer(i) for i in range(cfg.users)))
            ticker.cancel()
            self.say(
                f"viewers done: {self.tick} interactions in {self.now() - start:.0f} s; "
                "waiting for new creators' uploads"
            )
            await creators_task
        finally:
            await self.api.close()
            shutil.rmtree(self.work, ignore_errors=True)  # the clips are deleted once uploaded; the folder too
        self.trace.wall_s = self.now()
        return self.trace

    async def _report(self, total: int) -> None:
        while True:
            await asyncio.sleep(15)
            self.say(f"{self.tick}/{total} interactions, {self.trace.requests} requests")


def simulate(cfg: SimConfig, progress: Callable[[str], None] | None = None) -> Trace:
    return asyncio.run(_Sim(cfg, progress).run())

"""Seed a running platform with a demo catalogue and audience, through its HTTP API only.

``seed_demo`` registers creators, generates short clips with PyAV (``media.synth``: varied patterns,
palettes and melodies, 3-6 s, small vertical frames so 2 cores transcode them quickly), uploads them
through the real pipeline (upload URL -> PUT -> publish -> transcode -> moderation -> published),
then replays simulated viewers with hidden topic tastes who fetch feeds and report views, likes,
shares, comments and follows, so trending, analytics and notifications have something to show.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import ApiCallError, ApiClient
from .world import LANGS, REGIONS, TOPICS

__all__ = ["DemoReport", "seed_demo"]

CAPTIONS = {
    "cats": ("my cat judging me again", "zoomies at 3am", "the loaf has arrived"),
    "cooking": ("5 minute pasta hack", "crispiest potatoes ever", "grandma's secret sauce"),
    "dance": ("new choreo drop", "learn this in 10 seconds", "trend attempt #3"),
    "football": ("top bins from 30 yards", "keepie uppie record", "sunday league highlights"),
    "travel": ("sunrise over the ridge", "hidden beach nobody knows", "48h in the city"),
    "diy": ("shelf from one plank", "fixing the squeaky door", "tiny workshop tour"),
    "comedy": ("when the wifi drops", "pov: monday", "my dad's reaction"),
    "tech": ("this keyboard sounds unreal", "one-line python trick", "desk setup 2026"),
}


@dataclass
class DemoReport:
    creators: int = 0
    creator_ids: list[str] = field(default_factory=list)
    uploaded: int = 0
    published: int = 0
    not_published: dict[str, str] = field(default_factory=dict)
    viewers: int = 0
    views: int = 0
    likes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _say(progress: Callable[[str], None] | None, text: str) -> None:
    if progress is not None:
        progress(text)


def seed_demo(base_url: str, *, clips: int = 60, creators: int = 12, viewers: int = 300, workers: int = 4,
              seed: int = 7, publish_timeout_s: float = 900.0, moderator_token: str | None = None,
              keep_in_review: int = 2, progress: Callable[[str], None] | None = None) -> DemoReport:
    """Seed the platform at ``base_url``; with ``moderator_token``, held clips are approved by a
    moderator (all but ``keep_in_review``, left in the queue for the moderation console)."""
    rng = random.Random(seed)
    api = ApiClient(base_url)
    report = DemoReport()
    topics = list(TOPICS)

    t = time.perf_counter()
    creator_clients: list[tuple[ApiClient, str, str]] = []  # (client, user id, topic)
    for i in range(creators):
        topic = topics[i % len(topics)]
        region = rng.choice(REGIONS)
        name = f"{topic.title()} {['Lab', 'Club', 'Daily', 'Crew'][i % 4]}"
        tok = api.post("/auth/register", {"name": name, "region": region, "language": LANGS[region],
                                          "birth_year": rng.randint(1980, 2002)})
        creator_clients.append((api.with_token(tok["token"]), tok["user_id"], topic))
    report.creators = len(creator_clients)
    report.creator_ids = [uid for _, uid, _ in creator_clients]
    report.seconds["creators"] = time.perf_counter() - t

    t = time.perf_counter()
    plan = []
    for n in range(clips):
        client, uid, home = creator_clients[n % len(creator_clients)]
        topic = home if rng.random() < 0.75 else rng.choice(topics)
        plan.append((n, client, uid, topic, rng.uniform(3.0, 6.0), rng.randrange(3)))
    work = Path(tempfile.mkdtemp(prefix="reel-demo-clips-"))
    spammy = {n for n in (7, 29) if n < clips and clips >= 20}

    def upload(item: tuple[int, ApiClient, str, str, float, int]) -> str:
        from .democlips import make_demo_clip

        n, client, _uid, topic, seconds, sound = item
        tags = list(TOPICS[topic][:2]) + (["fyp"] if n % 3 == 0 else [])
        caption = f"{CAPTIONS[topic][n % 3]} " + " ".join("#" + h for h in tags)
        if n in spammy:  # what moderation exists for: held for a human (the console has work)
            caption = f"FREE giveaway!! click the link www.win-big.xyz/now and bit.ly/prize dm me #{tags[0]}"
        path = make_demo_clip(work / f"clip{n:03d}.mp4", round(seconds, 1), 288, 512, seed=1000 + n,
                              title=topic.title(), caption=caption)
        ticket = client.post("/videos/upload-url")
        client.call("PUT", ticket["upload_url"], data=path.read_bytes(),
                    headers={"Content-Type": "video/mp4"})
        path.unlink(missing_ok=True)
        client.post(f"/videos/{ticket['video_id']}/publish",
                    {"description": caption, "music_id": f"sound-{topic}-{sound}",
                     "music_title": f"{topic.title()} beat {sound + 1}", "privacy": "public"})
        return str(ticket["video_id"])

    try:
        with ThreadPoolExecutor(workers) as pool:
            video_ids = list(pool.map(upload, plan))
    finally:  # each clip is deleted once uploaded; the folder goes too, also when an upload failed
        shutil.rmtree(work, ignore_errors=True)
    report.uploaded = len(video_ids)
    report.seconds["upload"] = time.perf_counter() - t
    _say(progress, f"uploaded {len(video_ids)} clips in {report.seconds['upload']:.0f} s; processing...")

    t = time.perf_counter()
    owner = {vid: item[1] for vid, item in zip(video_ids, plan, strict=True)}
    topic_of = {vid: item[3] for vid, item in zip(video_ids, plan, strict=True)}
    waiting = set(video_ids)
    durations: dict[str, int] = {}
    held: list[str] = []
    moderator = api.with_token(moderator_token) if moderator_token else None
    last_note = 0.0
    while waiting and time.perf_counter() - t < publish_timeout_s:
        for vid in list(waiting):
            v = owner[vid].get(f"/videos/{vid}")
            if v["status"] == "published":
                durations[vid] = max(1000, int(float(v.get("duration_sec") or 4.0) * 1000))
                waiting.discard(vid)
                report.published += 1
            elif v["status"] in ("rejected", "failed", "removed"):
                waiting.discard(vid)
                report.not_published[vid] = f"{v['status']}: {v.get('reason')}"
            elif v["status"] == "in_review" and vid not in held:
                held.append(vid)
                if moderator is not None and len(held) > keep_in_review:
                    moderator.post(f"/moderation/videos/{vid}/decision",
                                   {"decision": "approve", "reason": "demo: seeding moderator"})
                else:
                    waiting.discard(vid)
                    report.not_published[vid] = "in review (left for the moderation console)"
        if waiting:
            if time.perf_counter() - last_note > 15:
                _say(progress, f"  {report.published}/{len(video_ids)} published, {len(waiting)} processing")
                last_note = time.perf_counter()
            time.sleep(2.0)
    for vid in waiting:
        report.not_published[vid] = "still processing"
    report.seconds["processing"] = time.perf_counter() - t
    _say(progress, f"{report.published} published in {report.seconds['processing']:.0f} s")

    t = time.perf_counter()
    live = [v for v in video_ids if v not in report.not_published]
    creator_ids = [uid for _, uid, _ in creator_clients]

    def viewer(i: int) -> tuple[int, int]:
        vr = random.Random(seed * 1000 + i)
        region = vr.choice(REGIONS)
        tok = api.post("/auth/register", {"name": f"viewer {i}", "region": region, "language": LANGS[region],
                                          "birth_year": vr.randint(1965, 2008)})
        me = api.with_token(tok["token"])
        taste = vr.choice(topics)
        try:
            shown = [c["video_id"] for c in me.get("/feed", count=8)["videos"]]
        except ApiCallError:
            shown = []
        shown += vr.sample(live, k=min(len(live), 6))
        views = likes = 0
        batch: list[dict[str, Any]] = []
        for pos, vid in enumerate(dict.fromkeys(shown)):
            match = 0.85 if topic_of.get(vid) == taste else 0.15
            duration = durations.get(vid, 4000)
            loops = 1 if vr.random() < match * 0.4 else 0
            share = vr.uniform(0.6, 1.0) if vr.random() < match else vr.uniform(0.05, 0.3)
            watch = duration * (1 + loops) if loops else int(duration * share)
            batch.append({"type": "impression", "video_id": vid, "position": pos, "source": "demo"})
            batch.append({"type": "view_ended", "video_id": vid, "watch_ms": watch, "duration_ms": duration,
                          "loops": loops})
            views += 1
            try:
                if vr.random() < match * 0.35:
                    me.post(f"/videos/{vid}/like")
                    likes += 1
                if vr.random() < match * 0.06:
                    me.post(f"/videos/{vid}/share", {"channel": "link"})
                if vr.random() < match * 0.05:
                    text = vr.choice(("love it", "so good", "haha", "how?"))
                    me.post(f"/videos/{vid}/comments", {"text": text})
            except ApiCallError:
                pass
        me.post("/events", {"events": batch})
        if vr.random() < 0.15:
            with contextlib.suppress(ApiCallError):
                me.post(f"/users/{vr.choice(creator_ids)}/follow")
        return views, likes

    with ThreadPoolExecutor(workers * 2) as pool:
        for views, likes in pool.map(viewer, range(viewers)):
            report.viewers += 1
            report.views += views
            report.likes += likes
    report.seconds["viewers"] = time.perf_counter() - t
    _say(progress, f"{report.viewers} viewers replayed ({report.views} views, {report.likes} likes) "
                   f"in {report.seconds['viewers']:.0f} s")
    return report

"""Import real interaction data as the platform's own events (``reel import``).

Two formats, both turned into ``ImportRow``s and then into events by one pure function
(``rows_to_events``), so a dataset replays through exactly the code paths live traffic uses:

- ``interactions``: a CSV with ``user_id,video_id,timestamp_ms`` and optional ``watch_ms,
  duration_ms,liked,hated,shared,commented,followed,creator_id,sound_id,hashtags`` (``|``-separated)
  and ``caption``;
- ``kuairand``: the KuaiRand subset folder (interaction TSV + KuaiRand-Pure video table). Rows are
  sorted by (user_id, time_ms) as its README asks; ``duration_ms == 0`` (a quirk of the raw data) is
  replaced by the video table's duration, else another row's duration of the same video, else the
  watch time; author, music and tags join from the video table where the video id exists there.

Each user gets one ``UserRegistered`` before their first row; each video ``VideoDetailsSubmitted`` ->
``VideoTranscoded`` -> ``VideoPublished`` just before its first row; each row a ``ViewEnded`` and then
``Liked`` / ``NotInterested`` (a hate: explicit negative) / ``Shared`` / ``Commented`` / ``Followed``.
Event ids are UUIDv7 derived from the row, so importing a file twice gives the same events.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from events import (
    Commented,
    Event,
    Followed,
    Liked,
    NotInterested,
    Shared,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoTranscoded,
    ViewEnded,
)
from events.ids import uuid7

from .errors import DatasetFormatError

__all__ = [
    "ImportRow",
    "VideoMeta",
    "append_events",
    "read_interactions_csv",
    "read_kuairand",
    "rows_to_events",
]

KUAIRAND_FILE = "interactions_27k_standard_like_hate_kcore15.tsv"
KUAIRAND_VIDEOS = "video_features_basic_pure.csv"


@dataclass(frozen=True, slots=True)
class VideoMeta:
    creator_id: str | None = None
    sound_id: str | None = None
    hashtags: tuple[str, ...] = ()
    caption: str = ""
    duration_ms: int = 0
    width: int = 0
    height: int = 0


@dataclass(frozen=True, slots=True)
class ImportRow:
    user_id: str
    video_id: str
    ts_ms: int
    watch_ms: int = 0
    duration_ms: int = 0
    liked: bool = False
    hated: bool = False
    shared: bool = False
    commented: bool = False
    followed: bool = False
    meta: VideoMeta = field(default_factory=VideoMeta)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "1.0")


def _int(value: str | None) -> int:
    v = (value or "").strip()
    return int(float(v)) if v else 0


def read_interactions_csv(path: str | Path) -> list[ImportRow]:
    """Rows of a generic interactions CSV (see the module docstring for the columns)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"user_id", "video_id", "timestamp_ms"} - set(reader.fieldnames or ())
        if missing:
            raise DatasetFormatError(path=str(path), problem=f"missing column(s) {sorted(missing)}")
        rows = []
        for n, r in enumerate(reader, start=2):
            try:
                meta = VideoMeta(
                    creator_id=(r.get("creator_id") or "").strip() or None,
                    sound_id=(r.get("sound_id") or "").strip() or None,
                    hashtags=tuple(h.strip() for h in (r.get("hashtags") or "").split("|") if h.strip()),
                    caption=(r.get("caption") or "").strip(),
                )
                rows.append(
                    ImportRow(
                        user_id=r["user_id"].strip(),
                        video_id=r["video_id"].strip(),
                        ts_ms=_int(r["timestamp_ms"]),
                        watch_ms=_int(r.get("watch_ms")),
                        duration_ms=_int(r.get("duration_ms")),
                        liked=_flag(r.get("liked")),
                        hated=_flag(r.get("hated")),
                        shared=_flag(r.get("shared")),
                        commented=_flag(r.get("commented")),
                        followed=_flag(r.get("followed")),
                        meta=meta,
                    )
                )
            except (ValueError, KeyError) as exc:
                raise DatasetFormatError(path=str(path), problem=f"line {n}: {exc}") from exc
    return rows


def _kuairand_videos(path: Path) -> dict[str, VideoMeta]:
    out: dict[str, VideoMeta] = {}
    if not path.exists():
        return out
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            tags = tuple(f"tag{t.strip()}" for t in (r.get("tag") or "").split(",") if t.strip())
            out[r["video_id"]] = VideoMeta(
                creator_id=f"a{r['author_id']}" if r.get("author_id") else None,
                sound_id=f"m{_int(r.get('music_id'))}" if r.get("music_id") else None,
                hashtags=tags,
                caption=" ".join(f"#{t}" for t in tags),
                duration_ms=_int(r.get("video_duration")),
                width=_int(r.get("server_width")),
                height=_int(r.get("server_height")),
            )
    return out


def read_kuairand(folder: str | Path) -> list[ImportRow]:
    """Rows of the KuaiRand subset, sorted by (user_id, time_ms), joined to the video table."""
    folder = Path(folder)
    path = folder / KUAIRAND_FILE
    if not path.exists():
        raise DatasetFormatError(path=str(path), problem="the KuaiRand interaction TSV is not there")
    videos = _kuairand_videos(folder / KUAIRAND_VIDEOS)
    with open(path, newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh, delimiter="\t"))
    need = {"user_id", "video_id", "time_ms", "label", "play_time_ms", "duration_ms"}
    if raw and need - set(raw[0]):
        raise DatasetFormatError(path=str(path), problem=f"missing column(s) {sorted(need - set(raw[0]))}")
    raw.sort(key=lambda r: (int(r["user_id"]), int(r["time_ms"])))
    known_dur: dict[str, int] = {}
    for r in raw:
        if _int(r["duration_ms"]) > 0:
            known_dur.setdefault(r["video_id"], _int(r["duration_ms"]))
    rows = []
    for r in raw:
        vid = r["video_id"]
        meta = videos.get(vid, VideoMeta())
        dur = _int(r["duration_ms"]) or meta.duration_ms or known_dur.get(vid, 0)
        rows.append(
            ImportRow(
                user_id=f"k{r['user_id']}",
                video_id=f"kv{vid}",
                ts_ms=_int(r["time_ms"]),
                watch_ms=_int(r["play_time_ms"]),
                duration_ms=dur,
                liked=r["label"] == "1",
                hated=r["label"] == "0",
                shared=_flag(r.get("is_forward")),
                commented=_flag(r.get("is_comment")),
                followed=_flag(r.get("is_follow")),
                meta=meta,
            )
        )
    return rows


def _eid(ts_us: int, *parts: str) -> str:
    rand = int.from_bytes(hashlib.blake2b("|".join(parts).encode(), digest_size=10).digest(), "big")
    return str(uuid7(ts_us // 1000, rand))


def rows_to_events(rows: Iterable[ImportRow]) -> Iterator[Event]:
    """The platform's events for ``rows``: a registration per user and a lifecycle per video, dated just
    before their earliest row, then each row's view and engagement (the log orders nothing by time
    across partitions; consumers that need time order sort by ``ts``)."""
    rows = list(rows)
    first_user: dict[str, int] = {}
    first_video: dict[str, int] = {}
    for r in rows:  # rows need not be in time order (KuaiRand is sorted by user): date each entity
        first_user[r.user_id] = min(first_user.get(r.user_id, r.ts_ms), r.ts_ms)
        first_video[r.video_id] = min(first_video.get(r.video_id, r.ts_ms), r.ts_ms)
    users: set[str] = set()
    videos: set[str] = set()
    for i, r in enumerate(rows):
        if r.user_id not in users:
            users.add(r.user_id)
            ts = first_user[r.user_id] * 1000
            yield UserRegistered(event_id=_eid(ts - 10, "u", r.user_id), ts=ts - 10, user_id=r.user_id)
        creator = r.meta.creator_id or f"c-{r.video_id}"  # unknown author: the video is its own creator
        if r.video_id not in videos:
            videos.add(r.video_id)
            m, vid = r.meta, r.video_id
            ts = first_video[vid] * 1000  # just before the video's earliest row
            yield VideoDetailsSubmitted(
                event_id=_eid(ts - 4, "d", vid),
                ts=ts - 4,
                video_id=vid,
                creator_id=creator,
                caption=m.caption[:4000],
                hashtags=m.hashtags[:30],
                sound_id=m.sound_id,
            )
            yield VideoTranscoded(
                event_id=_eid(ts - 3, "t", vid),
                ts=ts - 3,
                video_id=vid,
                creator_id=creator,
                duration_ms=r.duration_ms or m.duration_ms,
                width=m.width,
                height=m.height,
                master_playlist_key=f"imported/{vid}/master.m3u8",
                renditions=(),
            )
            yield VideoPublished(event_id=_eid(ts - 2, "p", vid), ts=ts - 2, video_id=vid, creator_id=creator)
        ts = r.ts_ms * 1000
        key = f"{i}|{r.user_id}|{r.video_id}|{r.ts_ms}"
        dur = r.duration_ms if r.duration_ms > 0 else max(r.watch_ms, 1)
        yield ViewEnded(
            event_id=_eid(ts, "v", key),
            ts=ts,
            user_id=r.user_id,
            video_id=r.video_id,
            watch_ms=max(r.watch_ms, 0),
            duration_ms=dur,
        )
        if r.liked:
            yield Liked(event_id=_eid(ts + 1, "l", key), ts=ts + 1, user_id=r.user_id, video_id=r.video_id)
        if r.hated:
            yield NotInterested(
                event_id=_eid(ts + 1, "n", key),
                ts=ts + 1,
                user_id=r.user_id,
                video_id=r.video_id,
                creator_id=r.meta.creator_id,
                sound_id=r.meta.sound_id,
            )
        if r.shared:
            yield Shared(event_id=_eid(ts + 2, "s", key), ts=ts + 2, user_id=r.user_id, video_id=r.video_id)
        if r.commented:
            yield Commented(
                event_id=_eid(ts + 3, "c", key),
                ts=ts + 3,
                user_id=r.user_id,
                video_id=r.video_id,
                comment_id=_eid(ts + 3, "cid", key),
                text="(imported comment)",
            )
        if r.followed and r.meta.creator_id:
            yield Followed(
                event_id=_eid(ts + 4, "f", key), ts=ts + 4, user_id=r.user_id, creator_id=r.meta.creator_id
            )


async def append_events(
    url: str, events: Sequence[Event], *, batch: int = 2000, progress: Callable[[int], None] | None = None
) -> int:
    """Append ``events`` to the log at ``url`` in batches; returns how many were appended."""
    from events import open_log

    log = await open_log(url)
    try:
        for start in range(0, len(events), batch):
            chunk = events[start : start + batch]
            await log.append(chunk)
            if progress is not None:
                progress(len(chunk))
    finally:
        await log.close()
    return len(events)

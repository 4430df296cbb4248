"""Notifications: each user's inbox of likes, comments, new followers and "your video is trending".

Every notification has a deterministic id derived from the event that caused it (``like:<event_id>``,
``comment:…``, ``follow:…``, ``trending:…``), so replays produce the same inbox. Nobody is notified of
their own actions, and a like of a video (or a follow) notifies once per actor, however often it
is undone and redone. Each inbox keeps its newest ``capacity`` notifications (oldest dropped).

Layout: ``m:{user}`` -> ``InboxMeta`` (next sequence number, unread count, first possibly-unread
sequence), ``n:{user}:{seq:012d}`` -> ``Notification``. Sequence numbers follow fold order, so paging
newest first is point reads from a cursor downwards, without scans. ``NotificationsRead`` (schema v2)
marks read everything up to a time and/or a list of ids; it rewrites only the notifications it
changes, visiting only those at or after the first unread one.

Trending: this view keeps its own velocity per video (``v:{video}`` -> ``NotifVideo``) with the very
functions of ``projections.trending`` (``engagement_weight``, ``crossed``, ``common.decayed_add``),
so it detects the first crossing of the threshold exactly when the trending view records
``trending_since``, while rebuilding from the log alone. A notified video is no longer tracked.
User names for the texts come from ``u:{user}`` -> ``NotifUser``; ``l:{video}:{actor}`` and
``f:{user}:{actor}`` -> ``Sent`` mark likes and follows already notified.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from events import (
    Commented,
    Event,
    Followed,
    Liked,
    NotificationsRead,
    Shared,
    UserProfileUpdated,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    VideoUploaded,
    ViewEnded,
)

from .base import Delta, QueryReader, ViewReader
from .common import decayed_add, esc
from .errors import ProjectionsError
from .trending import DEFAULT_CONFIG, TrendingConfig, crossed, engagement_weight

__all__ = [
    "CAPACITY",
    "PROJECTION",
    "InboxMeta",
    "InboxPage",
    "InvalidCursorError",
    "NotifUser",
    "NotifVideo",
    "Notification",
    "NotificationsProjection",
    "Sent",
    "inbox",
    "unread_count",
]

#: Notifications kept per user (the oldest are dropped beyond this).
CAPACITY = 500

Kind = Literal["like", "comment", "follow", "trending"]


class Notification(msgspec.Struct, frozen=True, kw_only=True, tag="nn"):
    id: str
    kind: Kind  # like, comment, follow or trending
    actor_id: str | None  # None for system notifications (trending)
    video_id: str | None
    text: str
    ts: int
    read: bool = False


class InboxMeta(msgspec.Struct, frozen=True, kw_only=True, tag="nm"):
    next_seq: int = 0  # sequence number of the next notification
    count: int = 0  # notifications kept: sequences next_seq - count .. next_seq - 1
    unread: int = 0
    first_unread: int = 0  # every notification below this sequence is read


class NotifVideo(msgspec.Struct, frozen=True, kw_only=True, tag="nv"):
    creator_id: str | None = None
    published: bool = False
    removed: bool = False
    rank: float | None = None  # velocity, as in projections.trending
    notified: bool = False  # the trending notification was sent


class Sent(msgspec.Struct, frozen=True, tag="ns"):
    """Marker: this actor's like of this video (or follow of this user) was notified already."""


class NotifUser(msgspec.Struct, frozen=True, kw_only=True, tag="nu"):
    name: str


class InvalidCursorError(ProjectionsError, ValueError):
    """A paging cursor that no page of this inbox handed out."""

    def __init__(self, *, cursor: str) -> None:
        self.cursor = cursor
        super().__init__(f"invalid notifications cursor {cursor!r}: pass the previous page's next_cursor")


NotifValue = Notification | InboxMeta | NotifVideo | NotifUser | Sent
_SENT = Sent()


class InboxPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Notification]
    next_cursor: str | None  # pass back as ``cursor`` for the next (older) page; None at the end
    unread: int


def _mkey(user_id: str) -> str:
    return "m:" + esc(user_id)


def _nkey(user_id: str, seq: int) -> str:
    return f"n:{esc(user_id)}:{seq:012d}"


def _vkey(video_id: str) -> str:
    return "v:" + esc(video_id)


def _ukey(user_id: str) -> str:
    return "u:" + esc(user_id)


def _lkey(video_id: str, user_id: str) -> str:
    return f"l:{esc(video_id)}:{esc(user_id)}"


def _fkey(creator_id: str, user_id: str) -> str:
    return f"f:{esc(creator_id)}:{esc(user_id)}"


class NotificationsProjection:
    """Fold of the notifications view (see the module docstring)."""

    name = "notifications"
    version = 1
    value_type: Any = NotifValue

    def __init__(self, capacity: int = CAPACITY, trending: TrendingConfig = DEFAULT_CONFIG) -> None:
        self.capacity = capacity
        self.trending = trending

    def keys(self, event: Event) -> Sequence[str]:
        match event:
            case ViewEnded() | Shared():
                return (_vkey(event.video_id),)
            case Liked():
                return (_vkey(event.video_id), _ukey(event.user_id), _lkey(event.video_id, event.user_id))
            case Commented():
                return (_vkey(event.video_id), _ukey(event.user_id))
            case Followed():
                return (_ukey(event.user_id), _mkey(event.creator_id), _fkey(event.creator_id, event.user_id))
            case VideoDetailsSubmitted() | VideoUploaded() | VideoPublished() | VideoRemoved():
                return (_vkey(event.video_id),)
            case NotificationsRead():
                return (_mkey(event.user_id),)
            case _:
                return ()

    def fold(self, view: ViewReader, event: Event) -> Delta:
        match event:
            case ViewEnded() | Shared():
                return self._engage(view, event, None)
            case Liked(user_id=uid, video_id=vid):
                once = _lkey(vid, uid)
                if view.get(once) is not None:  # liked before (then unliked): no second notification
                    return self._engage(view, event, None)
                like: tuple[Kind, str, str] = ("like", f"like:{event.event_id}", "liked your video")
                return self._engage(view, event, like, once)
            case Commented(text=text):
                snippet = text if len(text) <= 80 else text[:79] + "…"
                return self._engage(
                    view, event, ("comment", f"comment:{event.event_id}", f"commented: {snippet}")
                )
            case Followed(user_id=uid, creator_id=cid):
                once = _fkey(cid, uid)
                if uid == cid or view.get(once) is not None:
                    return {}
                note = Notification(
                    id=f"follow:{event.event_id}",
                    kind="follow",
                    actor_id=uid,
                    video_id=None,
                    text=f"{self._name(view, uid)} started following you",
                    ts=event.ts,
                )
                return self._push(view, cid, note, {once: _SENT})
            case UserRegistered(user_id=uid, name=name):
                return {_ukey(uid): NotifUser(name=name)} if name else {}
            case UserProfileUpdated(user_id=uid, name=name):
                return {_ukey(uid): NotifUser(name=name)} if name else {}
            case (
                VideoUploaded(video_id=vid, creator_id=cid)
                | VideoDetailsSubmitted(video_id=vid, creator_id=cid)
            ):
                old = view.get(_vkey(vid)) or NotifVideo()
                if old.creator_id == cid:
                    return {}
                return {_vkey(vid): msgspec.structs.replace(old, creator_id=cid)}
            case VideoPublished(video_id=vid, creator_id=cid):
                old = view.get(_vkey(vid)) or NotifVideo()
                new = msgspec.structs.replace(old, creator_id=cid, published=True)
                return self._maybe_trending(view, vid, new, event)
            case VideoRemoved(video_id=vid):
                old = view.get(_vkey(vid)) or NotifVideo()
                return {_vkey(vid): msgspec.structs.replace(old, removed=True)}
            case NotificationsRead():
                return self._read(view, event)
            case _:
                return {}

    # -------------------------------------------------------------------------------- helpers

    @staticmethod
    def _name(view: ViewReader, user_id: str) -> str:
        user: NotifUser | None = view.get(_ukey(user_id))
        return user.name if user is not None else user_id

    def _engage(
        self,
        view: ViewReader,
        event: ViewEnded | Shared | Liked | Commented,
        note: tuple[Kind, str, str] | None,
        once: str | None = None,
    ) -> Delta:
        vkey = _vkey(event.video_id)
        video: NotifVideo | None = view.get(vkey)
        delta: dict[str, Any] = {}
        if video is None:
            video = NotifVideo()
        if not video.notified:
            weight = engagement_weight(event, self.trending)
            if weight > 0.0:
                video = msgspec.structs.replace(
                    video, rank=decayed_add(video.rank, event.ts, weight, self.trending.half_life_us)
                )
                delta = dict(self._maybe_trending(view, event.video_id, video, event))
        creator = video.creator_id
        if note is not None and creator is not None and creator != event.user_id and not video.removed:
            kind, nid, what = note
            text = f"{self._name(view, event.user_id)} {what}"
            n = Notification(
                id=nid, kind=kind, actor_id=event.user_id, video_id=event.video_id, text=text, ts=event.ts
            )
            if once is not None:
                delta[once] = _SENT
            return self._push(view, creator, n, delta)
        return delta

    def _maybe_trending(self, view: ViewReader, vid: str, video: NotifVideo, event: Event) -> Delta:
        """Store ``video``; on its first crossing while live, notify its creator."""
        live = video.published and not video.removed
        if (
            video.notified
            or not live
            or video.creator_id is None
            or not crossed(video.rank, event.ts, self.trending)
        ):
            return {_vkey(vid): video}
        creator = video.creator_id
        video = msgspec.structs.replace(video, notified=True)
        note = Notification(
            id=f"trending:{event.event_id}",
            kind="trending",
            actor_id=None,
            video_id=vid,
            text="Your video is trending",
            ts=event.ts,
        )
        return self._push(view, creator, note, {_vkey(vid): video})

    def _push(self, view: ViewReader, user_id: str, note: Notification, delta: Delta) -> Delta:
        """Add ``note`` to ``user_id``'s inbox (merged into ``delta``), dropping the oldest past capacity."""
        out = dict(delta)
        mkey = _mkey(user_id)
        meta: InboxMeta = (out[mkey] if mkey in out else view.get(mkey)) or InboxMeta()
        seq = meta.next_seq
        out[_nkey(user_id, seq)] = note
        count, unread, first_unread = meta.count + 1, meta.unread + 1, meta.first_unread
        if meta.unread == 0:
            first_unread = seq
        if count > self.capacity:
            oldest = seq - meta.count
            if oldest >= first_unread:
                okey = _nkey(user_id, oldest)
                dropped: Notification | None = out[okey] if okey in out else view.get(okey)
                if dropped is not None and not dropped.read:
                    unread -= 1
                first_unread = max(first_unread, oldest + 1)
            out[_nkey(user_id, oldest)] = None
            count -= 1
        out[mkey] = InboxMeta(next_seq=seq + 1, count=count, unread=unread, first_unread=first_unread)
        return out

    def _read(self, view: ViewReader, event: NotificationsRead) -> Delta:
        uid = event.user_id
        mkey = _mkey(uid)
        meta: InboxMeta | None = view.get(mkey)
        if meta is None or meta.unread == 0:
            return {}
        everything = event.up_to_ts is None and not event.ids
        up_to = event.up_to_ts if event.up_to_ts is not None else -1
        ids = frozenset(event.ids)
        out: dict[str, Any] = {}
        unread = 0
        first_unread: int | None = None
        for seq in range(max(meta.first_unread, meta.next_seq - meta.count), meta.next_seq):
            key = _nkey(uid, seq)
            note: Notification | None = view.get(key)
            if note is None or note.read:
                continue
            if everything or note.ts <= up_to or note.id in ids:
                out[key] = msgspec.structs.replace(note, read=True)
            else:
                unread += 1
                if first_unread is None:
                    first_unread = seq
        if not out:
            return {}
        out[mkey] = InboxMeta(
            next_seq=meta.next_seq,
            count=meta.count,
            unread=unread,
            first_unread=meta.next_seq if first_unread is None else first_unread,
        )
        return out


PROJECTION = NotificationsProjection()


# ------------------------------------------------------------------------------------- queries


def unread_count(reader: QueryReader, user_id: str) -> int:
    meta: InboxMeta | None = reader.get(_mkey(user_id))
    return 0 if meta is None else meta.unread


def inbox(reader: QueryReader, user_id: str, *, limit: int = 20, cursor: str | None = None) -> InboxPage:
    """One page of ``user_id``'s notifications, newest first; ``cursor`` comes from the previous page."""
    meta: InboxMeta | None = reader.get(_mkey(user_id))
    if meta is None:
        return InboxPage(items=[], next_cursor=None, unread=0)
    oldest = meta.next_seq - meta.count
    start = meta.next_seq - 1
    if cursor is not None:
        if not cursor.isdigit():
            raise InvalidCursorError(cursor=cursor)
        start = min(start, int(cursor) - 1)
    limit = max(1, limit)
    seqs = list(range(start, max(oldest, start - limit + 1) - 1, -1))
    keys = [_nkey(user_id, s) for s in seqs]
    get_many = getattr(reader, "get_many", None)
    found: dict[str, Any] = get_many(keys) if get_many is not None else {k: reader.get(k) for k in keys}
    items = [n for k in keys if (n := found.get(k)) is not None]
    last = seqs[-1] if seqs else oldest
    return InboxPage(items=items, next_cursor=str(last) if last > oldest else None, unread=meta.unread)

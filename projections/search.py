"""Search: hashtags, sounds, users and caption words, with prefix search, ranked by popularity.

A video is in the index only while it is published, not removed and ``public``: it enters on
``VideoPublished`` (or when its privacy becomes public) and leaves on ``VideoRemoved`` or a change
to friends/private, so removed, private, friends-only and unpublished videos never appear.

Popularity of a video = plays + ``LIKE_WEIGHT`` x likes (likes idempotent per user). A hashtag's or
sound's popularity is the exact sum over the indexed videos carrying it; a user's is their
follower count (follows idempotent).

Keys (ids and terms escaped with ``common.esc``; ordered keys serve prefix queries with ``scan``):

- ``v:{video}``                       -> ``VideoDoc`` (what is indexed, and the video's score)
- ``l:{video}:{user}``                -> ``Mark`` (the user's like counted)
- ``t:h:{hashtag}``                   -> ``TermStat`` (prefix-searchable hashtags)
- ``t:s:{title}:{sound}``             -> ``SoundStat`` (prefix-searchable sound titles)
- ``w:{term}:{rank}:{video}``         -> ``Mark`` (posting of a caption word or hashtag; ``rank`` is
  ``999 - bucket(score)``, so a scan returns the most popular videos first; a posting moves only
  when its video's score crosses a class boundary (~19% apart), so plays rarely rewrite postings)
- ``u:{user}``                        -> ``UserDoc``; ``e:{follower}:{followee}`` -> ``Mark``
- ``n:{name or name word}:{user}``    -> ``UserHit`` (prefix-searchable user names)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import msgspec

from events import (
    Event,
    Followed,
    Liked,
    Unfollowed,
    Unliked,
    UserProfileUpdated,
    UserRegistered,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    ViewEnded,
)

from .base import Delta, QueryReader, ViewReader
from .common import esc, normalize_hashtag

__all__ = [
    "LIKE_WEIGHT",
    "PROJECTION",
    "HashtagHit",
    "SearchProjection",
    "SoundHit",
    "SoundStat",
    "TermStat",
    "UserDoc",
    "UserHit",
    "VideoDoc",
    "VideoHit",
    "search",
    "search_hashtags",
    "search_sounds",
    "search_users",
    "search_videos",
    "tokenize",
]

LIKE_WEIGHT = 3
#: Terms per video kept in the index (caption words and hashtags together).
MAX_TERMS = 40
#: How many prefix matches a query ranks (the first ones in key order).
SCAN_CAP = 1000
#: How many of the best postings per query word are considered for video search.
POSTINGS_PER_WORD = 300
_STOP = frozenset(
    [
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "with",
    ]
)
_WORD = re.compile(r"\w+")


class VideoDoc(msgspec.Struct, frozen=True, array_like=True, tag="sd"):
    video_id: str
    published: bool = False
    privacy: Literal["public", "friends", "private"] = "public"
    hashtags: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    sound_id: str | None = None
    sound_title: str | None = None
    plays: int = 0
    likes: int = 0

    @property
    def score(self) -> int:
        return self.plays + LIKE_WEIGHT * self.likes

    @property
    def indexed(self) -> bool:
        return self.published and self.privacy == "public"


class Mark(msgspec.Struct, frozen=True, array_like=True, tag="sm"):
    ts: int


class TermStat(msgspec.Struct, frozen=True, array_like=True, tag="st"):
    term: str
    score: int = 0
    videos: int = 0


class SoundStat(msgspec.Struct, frozen=True, array_like=True, tag="ss"):
    sound_id: str
    title: str
    score: int = 0
    videos: int = 0


class UserDoc(msgspec.Struct, frozen=True, array_like=True, tag="su"):
    user_id: str
    name: str = ""
    followers: int = 0
    anonymous: bool = False


class UserHit(msgspec.Struct, frozen=True, array_like=True, tag="sh"):
    user_id: str
    name: str
    followers: int


SearchValue = VideoDoc | Mark | TermStat | SoundStat | UserDoc | UserHit


def tokenize(text: str) -> list[str]:
    """Lower-case words of at least two characters, stop words dropped, first occurrence order."""
    out: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) > 1 and word not in _STOP:
            out[word] = None
    return list(out)


def _bucket(score: int) -> int:
    """Quarter-octave popularity class (integer ops only): scores 0-3 share one, then classes widen
    geometrically (~19% apart), so a posting moves a few times per doubling of its video's score."""
    x = score + 16
    bits = x.bit_length()
    return (bits << 2) | ((x >> (bits - 3)) & 3)


def _posting(term: str, score: int, vid: str) -> str:
    return f"w:{esc(term)}:{999 - _bucket(score):03d}:{vid}"


def _sound_key(doc: VideoDoc) -> str | None:
    if doc.sound_id is None:
        return None
    title = (doc.sound_title or doc.sound_id).strip().lower()
    return f"t:s:{esc(title)}:{esc(doc.sound_id)}"


class _Tx:
    """The view as this fold has changed it so far (reads see earlier writes of the same event)."""

    __slots__ = ("delta", "view")

    def __init__(self, view: ViewReader) -> None:
        self.view = view
        self.delta: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.delta[key] if key in self.delta else self.view.get(key)

    def put(self, key: str, value: Any) -> None:
        self.delta[key] = value


#: Event types this view folds; the rest are skipped with one set lookup before any ``match``.
_HANDLED: frozenset[type] = frozenset(
    (
        ViewEnded,
        Liked,
        Unliked,
        VideoPublished,
        VideoRemoved,
        VideoDetailsSubmitted,
        Followed,
        Unfollowed,
        UserRegistered,
        UserProfileUpdated,
    )
)


class SearchProjection:
    name = "search"
    version = 1
    value_type = SearchValue

    def keys(self, event: Event) -> Sequence[str]:
        if type(event) not in _HANDLED:
            return ()
        match event:
            case ViewEnded() | VideoPublished() | VideoRemoved() | VideoDetailsSubmitted():
                return (f"v:{esc(event.video_id)}",)
            case Liked() | Unliked():
                vid = esc(event.video_id)
                return (f"l:{vid}:{esc(event.user_id)}", f"v:{vid}")
            case Followed() | Unfollowed():
                b = esc(event.creator_id)
                return (f"e:{esc(event.user_id)}:{b}", f"u:{b}")
            case UserRegistered() | UserProfileUpdated():
                return (f"u:{esc(event.user_id)}",)
            case _:
                return ()

    def fold(self, view: ViewReader, event: Event) -> Delta:
        if type(event) not in _HANDLED:
            return {}
        match event:
            case ViewEnded():
                return _engage(view, event.video_id, 1, 0)
            case Liked() | Unliked():
                vid = esc(event.video_id)
                lkey = f"l:{vid}:{esc(event.user_id)}"
                like = isinstance(event, Liked)
                if (view.get(lkey) is not None) == like:
                    return {}
                delta = dict(_engage(view, event.video_id, 0, 1 if like else -1))
                delta[lkey] = Mark(event.ts) if like else None
                return delta
            case VideoPublished() | VideoRemoved() | VideoDetailsSubmitted():
                return _lifecycle(view, event)
            case Followed() | Unfollowed():
                return _follow(view, event)
            case UserRegistered() | UserProfileUpdated():
                return _user(view, event)
            case _:
                return {}


def _engage(view: ViewReader, video_id: str, plays: int, likes: int) -> Delta:
    vid = esc(video_id)
    vkey = f"v:{vid}"
    doc: VideoDoc | None = view.get(vkey)
    if doc is None:
        doc = VideoDoc(video_id)  # parked: counted, indexed once published
    new = msgspec.structs.replace(doc, plays=doc.plays + plays, likes=doc.likes + likes)
    delta: dict[str, Any] = {vkey: new}
    if not doc.indexed:
        return delta
    step = new.score - doc.score
    for tag in doc.hashtags:
        tkey = f"t:h:{esc(tag)}"
        t: TermStat = view.get(tkey) or TermStat(tag, doc.score, 1)  # (always there while indexed)
        delta[tkey] = TermStat(t.term, t.score + step, t.videos)
    skey = _sound_key(doc)
    if skey is not None:
        s: SoundStat = view.get(skey) or SoundStat(doc.sound_id or "", doc.sound_title or "", doc.score, 1)
        delta[skey] = SoundStat(s.sound_id, s.title, s.score + step, s.videos)
    old_b, new_b = _bucket(doc.score), _bucket(new.score)
    if old_b != new_b:
        for term in doc.terms:
            delta[_posting(term, doc.score, vid)] = None
            delta[_posting(term, new.score, vid)] = Mark(0)
    return delta


def _index(tx: _Tx, doc: VideoDoc, sign: int) -> None:
    """Add (``sign=1``) or remove (``-1``) an indexed video's contributions to terms and postings."""
    vid = esc(doc.video_id)
    score = doc.score
    for tag in doc.hashtags:
        tkey = f"t:h:{esc(tag)}"
        t: TermStat = tx.get(tkey) or TermStat(tag)
        videos = t.videos + sign
        tx.put(tkey, TermStat(tag, t.score + sign * score, videos) if videos > 0 else None)
    skey = _sound_key(doc)
    if skey is not None:
        s: SoundStat = tx.get(skey) or SoundStat(doc.sound_id or "", doc.sound_title or doc.sound_id or "")
        videos = s.videos + sign
        tx.put(skey, SoundStat(s.sound_id, s.title, s.score + sign * score, videos) if videos > 0 else None)
    posting = Mark(0) if sign > 0 else None
    for term in doc.terms:
        tx.put(_posting(term, score, vid), posting)


def _lifecycle(view: ViewReader, event: VideoPublished | VideoRemoved | VideoDetailsSubmitted) -> Delta:
    vkey = f"v:{esc(event.video_id)}"
    old: VideoDoc | None = view.get(vkey)
    doc = old or VideoDoc(event.video_id)
    match event:
        case VideoPublished():
            new = msgspec.structs.replace(doc, published=True)
        case VideoRemoved():
            new = msgspec.structs.replace(doc, published=False)
        case VideoDetailsSubmitted():
            hashtags = tuple(dict.fromkeys(t for t in map(normalize_hashtag, event.hashtags) if t))
            terms = tuple(dict.fromkeys((*hashtags, *tokenize(event.caption))))[:MAX_TERMS]
            new = msgspec.structs.replace(
                doc,
                privacy=event.privacy,
                hashtags=hashtags[:MAX_TERMS],
                terms=terms,
                sound_id=event.sound_id,
                sound_title=event.sound_title,
            )
    if new == old:
        return {}
    tx = _Tx(view)
    if doc.indexed:
        _index(tx, doc, -1)
    if new.indexed:
        _index(tx, new, +1)
    tx.put(vkey, new)
    return tx.delta


def _name_keys(doc: UserDoc) -> list[str]:
    if doc.anonymous or not doc.name.strip():
        return []
    name = doc.name.strip().lower()
    words = name.split()
    uid = esc(doc.user_id)
    return [f"n:{esc(n)}:{uid}" for n in dict.fromkeys([name, *words[1:4]])]


def _reindex_user(tx: _Tx, old: UserDoc | None, new: UserDoc) -> None:
    for key in _name_keys(old) if old is not None else ():
        tx.put(key, None)
    hit = UserHit(new.user_id, new.name, new.followers)
    for key in _name_keys(new):
        tx.put(key, hit)
    tx.put(f"u:{esc(new.user_id)}", new)


def _follow(view: ViewReader, event: Followed | Unfollowed) -> Delta:
    if event.user_id == event.creator_id:
        return {}
    b = esc(event.creator_id)
    ekey = f"e:{esc(event.user_id)}:{b}"
    on = isinstance(event, Followed)
    if (view.get(ekey) is not None) == on:
        return {}
    tx = _Tx(view)
    tx.put(ekey, Mark(event.ts) if on else None)
    old: UserDoc | None = view.get(f"u:{b}")
    doc = old or UserDoc(event.creator_id)
    _reindex_user(tx, old, msgspec.structs.replace(doc, followers=doc.followers + (1 if on else -1)))
    return tx.delta


def _user(view: ViewReader, event: UserRegistered | UserProfileUpdated) -> Delta:
    old: UserDoc | None = view.get(f"u:{esc(event.user_id)}")
    doc = old or UserDoc(event.user_id)
    match event:
        case UserRegistered():
            new = msgspec.structs.replace(doc, name=doc.name or event.name, anonymous=event.anonymous)
        case UserProfileUpdated():
            new = doc if event.name is None else msgspec.structs.replace(doc, name=event.name)
    if new == old:
        return {}
    tx = _Tx(view)
    _reindex_user(tx, old, new)
    return tx.delta


PROJECTION = SearchProjection()


# ------------------------------------------------------------------------------------- queries


class HashtagHit(msgspec.Struct, frozen=True, kw_only=True):
    hashtag: str
    score: int
    videos: int


class SoundHit(msgspec.Struct, frozen=True, kw_only=True):
    sound_id: str
    title: str
    score: int
    videos: int


class VideoHit(msgspec.Struct, frozen=True, kw_only=True):
    video_id: str
    score: int
    #: How many of the query's words the video carries (results rank by this first).
    matched: int


SearchType = Literal["hashtag", "sound", "user", "video"]
Hit = HashtagHit | SoundHit | UserHit | VideoHit


def search_hashtags(reader: QueryReader, q: str, limit: int = 20) -> list[HashtagHit]:
    """Hashtags starting with ``q`` (``#`` and case ignored), most popular first."""
    stats = [v for _, v in reader.scan(f"t:h:{esc(normalize_hashtag(q))}", SCAN_CAP)]
    stats.sort(key=lambda t: (-t.score, t.term))
    return [HashtagHit(hashtag=t.term, score=t.score, videos=t.videos) for t in stats[:limit]]


def search_sounds(reader: QueryReader, q: str, limit: int = 20) -> list[SoundHit]:
    """Sounds whose title starts with ``q``, most used (by plays and likes) first."""
    best: dict[str, SoundHit] = {}
    for _, s in reader.scan(f"t:s:{esc(q.strip().lower())}", SCAN_CAP):
        seen = best.get(s.sound_id)
        if seen is None:
            best[s.sound_id] = SoundHit(sound_id=s.sound_id, title=s.title, score=s.score, videos=s.videos)
        else:  # the same sound under another title: one hit, titled by its most popular use
            title = s.title if s.score > seen.score else seen.title
            best[s.sound_id] = SoundHit(
                sound_id=s.sound_id, title=title, score=seen.score + s.score, videos=seen.videos + s.videos
            )
    hits = sorted(best.values(), key=lambda h: (-h.score, h.sound_id))
    return hits[:limit]


def search_users(reader: QueryReader, q: str, limit: int = 20) -> list[UserHit]:
    """Users whose name (or a later word of it) starts with ``q``, most followed first."""
    prefix = q.strip().lower()
    if not prefix:
        return []
    hits: dict[str, UserHit] = {}
    for _, hit in reader.scan(f"n:{esc(prefix)}", SCAN_CAP):
        hits[hit.user_id] = hit
    return sorted(hits.values(), key=lambda h: (-h.followers, h.user_id))[:limit]


def search_videos(reader: QueryReader, q: str, limit: int = 20) -> list[VideoHit]:
    """Videos whose caption words or hashtags match the words of ``q`` (whole words), ranked by how
    many words match, then popularity."""
    matched: dict[str, int] = {}
    for word in _query_words(q):
        prefix = f"w:{esc(word)}:"
        for key, _ in reader.scan(prefix, POSTINGS_PER_WORD):
            vid = key[len(prefix) + 4 :]
            matched[vid] = matched.get(vid, 0) + 1
    hits: list[VideoHit] = []
    for vid, n in matched.items():
        doc: VideoDoc | None = reader.get(f"v:{vid}")
        if doc is not None and doc.indexed:
            hits.append(VideoHit(video_id=doc.video_id, score=doc.score, matched=n))
    hits.sort(key=lambda h: (-h.matched, -h.score, h.video_id))
    return hits[:limit]


def _query_words(q: str) -> Iterable[str]:
    return dict.fromkeys(tokenize(q.replace("#", " ")))


def search(reader: QueryReader, q: str, type: SearchType = "video", limit: int = 20) -> Sequence[Hit]:
    """The ``GET /search?q=&type=`` query: one of the typed searches above."""
    match type:
        case "hashtag":
            return search_hashtags(reader, q, limit)
        case "sound":
            return search_sounds(reader, q, limit)
        case "user":
            return search_users(reader, q, limit)
        case "video":
            return search_videos(reader, q, limit)
    raise ValueError(f"unknown search type {type!r}; use hashtag, sound, user or video")

"""The event vocabulary of Reelstack: every fact the platform records, as one tagged union.

Every event is a frozen, tagged ``msgspec.Struct`` with ``event_id`` (a UUIDv7 string), ``ts``
(epoch microseconds) and a partition key: the user for users and interactions, the video for its
lifecycle, the model name for model versions.

Schema evolution rules (tests/fixtures keeps a log per released schema and checks it still decodes):

- new fields always get a default;
- nothing is ever renamed or removed, and no type is narrowed;
- a new event is a new class added to ``Event`` (its tag is its class name).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "AppealDecided",
    "AppealFiled",
    "Commented",
    "Event",
    "EventBase",
    "Followed",
    "Impression",
    "Liked",
    "ModelVersionPublished",
    "ModerationDecided",
    "ModerationScored",
    "NotInterested",
    "NotificationsRead",
    "ProtectedSoundRegistered",
    "Rendition",
    "Reported",
    "ReviewDecided",
    "Shared",
    "TranscodeFailed",
    "Unfollowed",
    "Unliked",
    "UploadRequested",
    "UserProfileUpdated",
    "UserRegistered",
    "VideoDetailsSubmitted",
    "VideoPublished",
    "VideoRemoved",
    "VideoTranscoded",
    "VideoUploaded",
    "ViewEnded",
    "partition_key",
]

#: Bumped whenever a field or an event is added; a fixture log per version lives in tests/fixtures.
SCHEMA_VERSION = 2

# Reusable constrained types: checked whenever an event is decoded (log, HTTP, CLI, import) and
# when it is appended (the log validates by round-trip before anything is written).
Id = Annotated[str, Meta(min_length=1, max_length=128)]
EventId = Annotated[str, Meta(min_length=1, max_length=64)]
Micros = Annotated[int, Meta(ge=0)]
NonNeg = Annotated[int, Meta(ge=0)]
Score = Annotated[float, Meta(ge=0.0, le=1.0)]
Text = Annotated[str, Meta(max_length=4000)]
ShortText = Annotated[str, Meta(max_length=300)]
Region = Annotated[str, Meta(min_length=2, max_length=8)]
Language = Annotated[str, Meta(min_length=2, max_length=16)]
BirthYear = Annotated[int, Meta(ge=1900, le=2100)]

Privacy = Literal["public", "friends", "private"]
Role = Literal["user", "moderator", "admin"]
Decision = Literal["approve", "review", "reject"]
AgeRating = Literal["general", "mature"]


class EventBase(msgspec.Struct, frozen=True, kw_only=True, tag=True, tag_field="type"):
    """Fields every event carries. Subclasses name the field that is their partition key."""

    KEY: ClassVar[str] = ""

    event_id: EventId
    ts: Micros


def partition_key(event: EventBase) -> str:
    """The value the log partitions this event by (user id, video id or model name)."""
    return getattr(event, event.KEY)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------- users


class UserRegistered(EventBase, frozen=True, kw_only=True):
    """A person (or an anonymous device) joined; region/language/birth year drive cold start and age gates."""

    KEY: ClassVar[str] = "user_id"
    user_id: Id
    name: ShortText = ""
    region: Region = "ZZ"
    language: Language = "en"
    birth_year: BirthYear | None = None
    role: Role = "user"
    anonymous: bool = False


class UserProfileUpdated(EventBase, frozen=True, kw_only=True):
    """A user changed their public profile."""

    KEY: ClassVar[str] = "user_id"
    user_id: Id
    name: ShortText | None = None
    avatar_url: ShortText | None = None
    bio: Text | None = None


# --------------------------------------------------------------------------------------- videos


class UploadRequested(EventBase, frozen=True, kw_only=True):
    """A creator asked for an upload slot; the token expires at ``expires_at`` (epoch µs)."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    creator_id: Id
    max_bytes: NonNeg
    expires_at: Micros


class VideoUploaded(EventBase, frozen=True, kw_only=True):
    """The bytes of an upload are in the blob store under a server-generated key."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    creator_id: Id
    blob_key: ShortText
    sha256: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
    size_bytes: NonNeg


class VideoDetailsSubmitted(EventBase, frozen=True, kw_only=True):
    """The creator's caption, hashtags, sound and privacy for a video (``POST /videos/{id}/publish``)."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    creator_id: Id
    caption: Text = ""
    hashtags: tuple[ShortText, ...] = ()
    sound_id: Id | None = None
    sound_title: ShortText | None = None
    privacy: Privacy = "public"


class Rendition(msgspec.Struct, frozen=True, kw_only=True):
    """One rung of the HLS ladder."""

    height: NonNeg
    width: NonNeg
    bitrate_kbps: NonNeg
    playlist_key: ShortText
    codec: ShortText = "avc1"


class VideoTranscoded(EventBase, frozen=True, kw_only=True):
    """Every rendition, the master playlist and the thumbnails exist in the blob store."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    creator_id: Id
    duration_ms: NonNeg
    width: NonNeg
    height: NonNeg
    master_playlist_key: ShortText
    renditions: tuple[Rendition, ...]
    thumbnail_keys: tuple[ShortText, ...] = ()
    audio_fingerprint: str | None = None
    video_fingerprint: tuple[str, ...] = ()


class TranscodeFailed(EventBase, frozen=True, kw_only=True):
    """Processing gave up on a video; ``reason`` is shown to the creator."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    creator_id: Id
    reason: Text
    attempts: NonNeg = 1
    stage: ShortText = "transcode"


class ModerationScored(EventBase, frozen=True, kw_only=True):
    """Automated scores per category in [0, 1]; ``None`` means the category is unscored (never "safe")."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    scores: dict[str, Score | None]
    model_versions: dict[str, str] = {}


class ModerationDecided(EventBase, frozen=True, kw_only=True):
    """The automated routing of a scored video: approve, hold for human review, or reject."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    decision: Decision
    category: ShortText | None = None
    max_score: Score | None = None
    age_rating: AgeRating = "general"
    reason: Text = ""


class ReviewDecided(EventBase, frozen=True, kw_only=True):
    """A human moderator's decision on a held, reported or appealed video."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    moderator_id: Id
    decision: Literal["approve", "reject"]
    reason: Text = ""
    age_rating: AgeRating | None = None


class VideoPublished(EventBase, frozen=True, kw_only=True):
    """The video is visible to viewers (every rendition exists and moderation approved)."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    creator_id: Id


class VideoRemoved(EventBase, frozen=True, kw_only=True):
    """The video is taken off every surface (by its creator, a moderator or report thresholds)."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    reason: Text = ""
    by: Literal["creator", "moderator", "reports", "system"] = "system"


class AppealFiled(EventBase, frozen=True, kw_only=True):
    """A creator appeals a rejection (once per video)."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    creator_id: Id
    reason: Text = ""


class AppealDecided(EventBase, frozen=True, kw_only=True):
    """A second reviewer's answer to an appeal: ``upheld`` means the rejection stands."""

    KEY: ClassVar[str] = "video_id"
    video_id: Id
    moderator_id: Id
    upheld: bool
    reason: Text = ""


class ProtectedSoundRegistered(EventBase, frozen=True, kw_only=True):
    """A rights holder's sound whose Chromaprint fingerprint uploads are matched against."""

    KEY: ClassVar[str] = "sound_id"
    sound_id: Id
    title: ShortText
    owner: ShortText
    fingerprint: str


# --------------------------------------------------------------------------------- interactions


class Impression(EventBase, frozen=True, kw_only=True):
    """A video was shown to a user in a feed page (training data and A/B exposure log)."""

    KEY: ClassVar[str] = "user_id"
    user_id: Id
    video_id: Id
    request_id: Id
    position: NonNeg
    source: ShortText = "unknown"
    experiment: dict[str, str] = {}
    # the candidate source's retrieval score (the ranker's ``retrieval`` feature) when the feed logged
    # it; None where it was not recorded (impressions posted by clients, older logs)
    retrieval: float | None = None


class ViewEnded(EventBase, frozen=True, kw_only=True):
    """A user left a video after ``watch_ms`` of a ``duration_ms`` clip, looping ``loops`` times."""

    KEY: ClassVar[str] = "user_id"
    user_id: Id
    video_id: Id
    watch_ms: NonNeg
    duration_ms: Annotated[int, Meta(gt=0)]
    loops: NonNeg = 0
    request_id: Id | None = None


class Liked(EventBase, frozen=True, kw_only=True):
    KEY: ClassVar[str] = "user_id"
    user_id: Id
    video_id: Id


class Unliked(EventBase, frozen=True, kw_only=True):
    KEY: ClassVar[str] = "user_id"
    user_id: Id
    video_id: Id


class Shared(EventBase, frozen=True, kw_only=True):
    KEY: ClassVar[str] = "user_id"
    user_id: Id
    video_id: Id
    channel: ShortText = "link"


class Commented(EventBase, frozen=True, kw_only=True):
    KEY: ClassVar[str] = "user_id"
    user_id: Id
    video_id: Id
    comment_id: Id
    text: Annotated[str, Meta(min_length=1, max_length=2000)]


class Followed(EventBase, frozen=True, kw_only=True):
    """``user_id`` now follows ``creator_id``."""

    KEY: ClassVar[str] = "user_id"
    user_id: Id
    creator_id: Id


class Unfollowed(EventBase, frozen=True, kw_only=True):
    KEY: ClassVar[str] = "user_id"
    user_id: Id
    creator_id: Id


class NotInterested(EventBase, frozen=True, kw_only=True):
    """Explicit negative feedback; the creator and/or sound are marked unwanted for this user."""

    KEY: ClassVar[str] = "user_id"
    user_id: Id
    video_id: Id
    creator_id: Id | None = None
    sound_id: Id | None = None


class Reported(EventBase, frozen=True, kw_only=True):
    KEY: ClassVar[str] = "user_id"
    user_id: Id
    video_id: Id
    reason: ShortText


# --------------------------------------------------------------------------------------- models


class ModelVersionPublished(EventBase, frozen=True, kw_only=True):
    """A trained model artifact that serving should load (``uri`` points into the blob store)."""

    KEY: ClassVar[str] = "model"
    model: Id
    version: Id
    uri: ShortText
    metrics: dict[str, float] = {}


# -------------------------------------------------------------------------------- notifications (v2)


class NotificationsRead(EventBase, frozen=True, kw_only=True):
    """A user read their inbox: every notification up to ``up_to_ts`` (epoch µs) and those in ``ids``.

    With neither set, everything in the inbox when the event is folded is read. Added in schema v2.
    """

    KEY: ClassVar[str] = "user_id"
    user_id: Id
    up_to_ts: Micros | None = None
    ids: tuple[Id, ...] = ()


Event = (
    UserRegistered
    | UserProfileUpdated
    | UploadRequested
    | VideoUploaded
    | VideoDetailsSubmitted
    | VideoTranscoded
    | TranscodeFailed
    | ModerationScored
    | ModerationDecided
    | ReviewDecided
    | VideoPublished
    | VideoRemoved
    | AppealFiled
    | AppealDecided
    | ProtectedSoundRegistered
    | Impression
    | ViewEnded
    | Liked
    | Unliked
    | Shared
    | Commented
    | Followed
    | Unfollowed
    | NotInterested
    | Reported
    | ModelVersionPublished
    | NotificationsRead
)

#: Tag (class name) → class, for CLI filters and importers.
EVENT_TYPES: dict[str, type[EventBase]] = {cls.__name__: cls for cls in Event.__args__}

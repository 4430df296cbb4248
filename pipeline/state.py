"""The pipeline's own view of every video it drives: a pure fold, and the action each video is due for.

Stages (the state machine, moved only by events)::

    requested -> uploaded -> transcoding -> transcoded -> moderating -> approved -> published
                                 |              (decision: review -> in_review, reject -> rejected)
                                 '-> failed (TranscodeFailed; a new VideoUploaded retries it)
    any -> removed

``uploaded`` waits for the creator's details; with them the video is ``transcoding`` (due for the
worker). ``approved`` means a decision allows publication and ``VideoPublished`` is due; a human
approval (``ReviewDecided``) or an overturned appeal also lead there once the video is transcoded.

Keys: ``v:{video}`` -> ``PipelineVideo``; ``due:{video}`` -> ``Due`` for every video that needs work,
so the coordinator finds its work with one prefix scan. No IO, clock or Ray here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from events.schema import (
    AppealDecided,
    Event,
    ModerationDecided,
    ModerationScored,
    ReviewDecided,
    TranscodeFailed,
    UploadRequested,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoRemoved,
    VideoTranscoded,
    VideoUploaded,
)
from projections.base import Delta, ViewReader
from projections.common import esc

__all__ = [
    "PROJECTION",
    "Action",
    "Due",
    "PipelineProjection",
    "PipelineVideo",
    "Stage",
    "due_action",
    "fold_video",
]

Stage = Literal[
    "requested",
    "uploaded",
    "transcoding",
    "transcoded",
    "moderating",
    "approved",
    "published",
    "in_review",
    "rejected",
    "failed",
    "removed",
]
Action = Literal["transcode", "moderate", "publish"]


class PipelineVideo(msgspec.Struct, frozen=True, kw_only=True, tag="pv"):
    video_id: str
    creator_id: str | None = None
    stage: Stage = "requested"
    uploaded: VideoUploaded | None = None
    details: VideoDetailsSubmitted | None = None
    transcoded: VideoTranscoded | None = None
    scored: bool = False
    failure: str | None = None
    decision: str | None = None
    updated_at: int = 0


class Due(msgspec.Struct, frozen=True, tag="due"):
    action: Action
    since: int


PipelineValue = PipelineVideo | Due

_EVENTS: frozenset[type] = frozenset(
    (
        UploadRequested,
        VideoUploaded,
        VideoDetailsSubmitted,
        VideoTranscoded,
        TranscodeFailed,
        ModerationScored,
        ModerationDecided,
        ReviewDecided,
        AppealDecided,
        VideoPublished,
        VideoRemoved,
    )
)
_BEFORE_TRANSCODED: frozenset[str] = frozenset(("requested", "uploaded", "transcoding", "failed"))
_FINAL: frozenset[str] = frozenset(("published", "removed"))


def _ready(v: PipelineVideo) -> PipelineVideo:
    """uploaded + details from the same creator → transcoding."""
    if (
        v.stage in ("uploaded", "requested")
        and v.uploaded is not None
        and v.details is not None
        and v.details.creator_id == v.uploaded.creator_id
    ):
        return msgspec.structs.replace(v, stage="transcoding")
    return v


def fold_video(v: PipelineVideo, event: Event) -> PipelineVideo | None:
    """The video after ``event``, or None when nothing changes; pure."""
    replace = msgspec.structs.replace
    stage = v.stage
    match event:
        case UploadRequested():
            return None if v.creator_id else replace(v, creator_id=event.creator_id)
        case VideoUploaded():
            if event.creator_id != (v.creator_id or event.creator_id) or stage not in ("requested", "failed"):
                return None  # another creator's bytes, or a duplicate after processing began
            return _ready(
                replace(v, creator_id=event.creator_id, uploaded=event, stage="uploaded", failure=None)
            )
        case VideoDetailsSubmitted():
            if v.creator_id is not None and event.creator_id != v.creator_id:
                return None  # only the owner describes a video
            return _ready(replace(v, creator_id=v.creator_id or event.creator_id, details=event))
        case VideoTranscoded():
            if stage not in _BEFORE_TRANSCODED:
                return None
            return replace(v, transcoded=event, stage="transcoded", failure=None)
        case TranscodeFailed():
            if stage not in _BEFORE_TRANSCODED:
                return None
            return replace(v, stage="failed", failure=event.reason)
        case ModerationScored():
            return replace(v, scored=True, stage="moderating" if stage == "transcoded" else stage)
        case ModerationDecided():
            if stage not in ("transcoded", "moderating"):
                return None
            nxt: Stage = {"approve": "approved", "review": "in_review", "reject": "rejected"}[event.decision]  # type: ignore[assignment]
            return replace(v, stage=nxt, decision=event.decision)
        case ReviewDecided():
            if stage in _FINAL or v.transcoded is None:
                return None
            if event.decision == "approve":
                return replace(v, stage="approved", decision="approve")
            return replace(v, stage="rejected", decision="reject")
        case AppealDecided():
            if event.upheld or stage != "rejected" or v.transcoded is None:
                return None
            return replace(v, stage="approved", decision="approve")
        case VideoPublished():
            return replace(v, stage="published")
        case VideoRemoved():
            return replace(v, stage="removed")
        case _:
            return None


def due_action(v: PipelineVideo) -> Action | None:
    """What the coordinator must do next for this video, if anything; pure."""
    if v.stage == "transcoding":
        return "transcode"
    if v.stage in ("transcoded", "moderating"):
        return "moderate"
    if v.stage == "approved":
        return "publish"
    return None


class PipelineProjection:
    """The fold above as a ``projections`` Projection, run by the coordinator's ``ProjectionRunner``."""

    name = "pipeline"
    version = 1
    value_type = PipelineValue

    def keys(self, event: Event) -> Sequence[str]:
        if type(event) in _EVENTS:
            vid = esc(event.video_id)  # type: ignore[union-attr]
            return (f"v:{vid}", f"due:{vid}")
        return ()

    def fold(self, view: ViewReader, event: Event) -> Delta:
        if type(event) not in _EVENTS:
            return {}
        vid_id: str = event.video_id  # type: ignore[union-attr]
        vid = esc(vid_id)
        old: PipelineVideo | None = view.get(f"v:{vid}")
        new = fold_video(old or PipelineVideo(video_id=vid_id), event)
        if new is None or new == old:
            return {}
        new = msgspec.structs.replace(new, updated_at=event.ts)
        delta: dict[str, object] = {f"v:{vid}": new}
        before = None if old is None else due_action(old)
        after = due_action(new)
        if after != before:
            delta[f"due:{vid}"] = None if after is None else Due(after, event.ts)
        return delta


PROJECTION = PipelineProjection()

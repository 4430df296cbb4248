"""The moderation port the pipeline asks before publishing, its fail-closed default and a test approver.

The real ensemble (issue 6) implements ``ModerationPort``. Until a port gives an explicit decision a
video is never published: ``FailClosedModeration`` (the default) scores nothing and decides nothing,
so videos wait in ``moderating``. ``ApproveAllModeration`` approves everything and exists only for
tests and the local demo — never wire it into a deployment that serves people.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

import msgspec

from events.schema import VideoTranscoded

__all__ = [
    "ApproveAllModeration",
    "FailClosedModeration",
    "ModerationPort",
    "ModerationRequest",
    "ModerationResult",
]


class ModerationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What moderation gets about a transcoded video: the event (keys of renditions, thumbnails,
    fingerprints) plus the creator's details."""

    video: VideoTranscoded
    caption: str = ""
    hashtags: tuple[str, ...] = ()
    sound_id: str | None = None


class ModerationResult(msgspec.Struct, frozen=True, kw_only=True):
    """Scores per category (``None`` = unscored, never "safe") and the decision, if one was reached.

    ``decision is None`` means "no decision yet": the pipeline keeps the video unpublished and asks again.
    """

    scores: dict[str, float | None] = {}
    model_versions: dict[str, str] = {}
    decision: Literal["approve", "review", "reject"] | None = None
    category: str | None = None
    max_score: float | None = None
    age_rating: Literal["general", "mature"] = "general"
    reason: str = ""


@runtime_checkable
class ModerationPort(Protocol):
    async def score(self, request: ModerationRequest) -> ModerationResult:
        """Score a video; raise ``ModerationUnavailableError`` (or time out) when it cannot now."""
        ...


class FailClosedModeration:
    """The default: nothing is scored and nothing is approved without an explicit decision."""

    name = "fail-closed"

    async def score(self, request: ModerationRequest) -> ModerationResult:
        return ModerationResult(reason="no moderation service is configured; waiting for a decision")


class ApproveAllModeration:
    """Approves every video with an explicit decision. For tests and the local demo only."""

    name = "approve-all"

    async def score(self, request: ModerationRequest) -> ModerationResult:
        return ModerationResult(
            decision="approve",
            model_versions={"approve-all": "test"},
            reason="approved by ApproveAllModeration (tests/demo)",
        )

"""Errors of ``moderation``: one root, keyword-only structured fields, messages that say what to do."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AppealAlreadyFiledError",
    "AppealNotAllowedError",
    "ModerationError",
    "NotInReviewError",
    "PluginError",
    "ReviewerConflictError",
    "ScoringUnavailableError",
]


class ModerationError(Exception):
    """Root of every error raised by ``moderation``."""

    def __reduce__(self) -> tuple[Any, ...]:
        # the fields are keyword-only, so pickling's default (``cls(*args)``) cannot rebuild it: restore
        # the message and fields without __init__ (an error raised in a Ray actor or task reaches the caller)
        return type(self).__new__, (type(self), *self.args), self.__dict__


class PluginError(ModerationError):
    """A configured scorer plug-in (``module:Class``) could not be loaded."""

    def __init__(self, *, category: str, target: str, detail: str) -> None:
        self.category = category
        self.target = target
        self.detail = detail
        super().__init__(
            f"the {category!r} scorer plug-in {target!r} could not be loaded ({detail}); fix the "
            "'category=module:Class' entry in REEL_MODERATION_PLUGINS or install the module"
        )


class ScoringUnavailableError(ModerationError):
    """The scoring service could not answer now (down, overloaded, timed out); the video waits."""

    def __init__(self, *, video_id: str, detail: str) -> None:
        self.video_id = video_id
        self.detail = detail
        super().__init__(
            f"moderation could not score video {video_id} ({detail}); it stays unpublished and is retried"
        )


class AppealAlreadyFiledError(ModerationError):
    """A video gets one appeal; this one already had it."""

    def __init__(self, *, video_id: str, status: str) -> None:
        self.video_id = video_id
        self.status = status
        super().__init__(
            f"video {video_id} was already appealed (appeal {status}); a rejection can be appealed only once"
        )


class AppealNotAllowedError(ModerationError):
    """Only the creator of a rejected video may appeal it."""

    def __init__(self, *, video_id: str, reason: str) -> None:
        self.video_id = video_id
        self.reason = reason
        super().__init__(f"video {video_id} cannot be appealed: {reason}")


class NotInReviewError(ModerationError):
    """A review decision was given for a video that is not waiting for one."""

    def __init__(self, *, video_id: str) -> None:
        self.video_id = video_id
        super().__init__(
            f"video {video_id} is not in the review queue; refresh the queue and pick a listed video"
        )


class ReviewerConflictError(ModerationError):
    """The moderator who made the original decision may not decide the appeal against it."""

    def __init__(self, *, video_id: str, moderator_id: str) -> None:
        self.video_id = video_id
        self.moderator_id = moderator_id
        super().__init__(
            f"moderator {moderator_id} made the decision appealed for video {video_id}; "
            "another moderator must decide the appeal"
        )

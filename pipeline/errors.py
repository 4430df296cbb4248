"""Errors of the upload pipeline: one root, keyword-only structured fields, messages that say what to do."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ModerationUnavailableError",
    "PipelineError",
    "UploadAlreadyReceivedError",
    "UploadTokenError",
    "UploadTokenExpiredError",
    "UploadTokenInvalidError",
    "UploadTooLarge",
]


class PipelineError(Exception):
    """Root of every error raised by ``pipeline``."""

    def __reduce__(self) -> tuple[Any, ...]:
        # the fields are keyword-only, so pickling's default (``cls(*args)``) cannot rebuild it: restore
        # the message and fields without __init__ (an error raised in a Ray actor or task reaches the caller)
        return type(self).__new__, (type(self), *self.args), self.__dict__


class UploadTokenError(PipelineError):
    """The upload token cannot be used (root of expired and invalid)."""


class UploadTokenExpiredError(UploadTokenError):
    def __init__(self, *, video_id: str, expired_at_us: int, now_us: int) -> None:
        self.video_id = video_id
        self.expired_at_us = expired_at_us
        self.now_us = now_us
        ago = (now_us - expired_at_us) / 1e6
        super().__init__(
            f"the upload token for video {video_id} expired {ago:.0f} s ago; request a new upload"
        )


class UploadTokenInvalidError(UploadTokenError):
    """Malformed, signed with another key, or altered after signing."""

    def __init__(self, *, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"the upload token is not valid ({reason}); request a new upload and use its token as is"
        )


class UploadTooLarge(PipelineError):
    """The upload went past its size limit; nothing was stored and no event was appended."""

    def __init__(self, *, video_id: str, max_bytes: int, received: int) -> None:
        self.video_id = video_id
        self.max_bytes = max_bytes
        self.received = received
        super().__init__(
            f"the upload for video {video_id} is larger than the limit of {max_bytes} bytes "
            f"(received {received} before stopping); trim or compress the video and upload again"
        )


class UploadAlreadyReceivedError(PipelineError):
    def __init__(self, *, video_id: str, in_progress: bool = False) -> None:
        self.video_id = video_id
        self.in_progress = in_progress
        super().__init__(
            f"an upload of video {video_id} is already in progress with this token; wait for its answer"
            if in_progress else
            f"video {video_id} was already uploaded with this token; request a new upload for another video"
        )


class ModerationUnavailableError(PipelineError):
    """The moderation port could not score a video now (down, slow): the video waits, fail closed."""

    def __init__(self, *, video_id: str, detail: str) -> None:
        self.video_id = video_id
        self.detail = detail
        super().__init__(
            f"moderation could not score video {video_id}: {detail}; it stays unpublished and is retried"
        )

"""The error root of ``media``: everything that touches video bytes raises a subclass of ``MediaError``."""

from __future__ import annotations

from typing import Any

__all__ = ["EncoderUnavailableError", "MediaError", "TranscodeError"]


class MediaError(Exception):
    """Root of every error raised by ``media``."""

    def __reduce__(self) -> tuple[Any, ...]:
        # the fields are keyword-only, so pickling's default (``cls(*args)``) cannot rebuild it: restore
        # the message and fields without __init__ (an error raised in a Ray actor or task reaches the caller)
        return type(self).__new__, (type(self), *self.args), self.__dict__


class TranscodeError(MediaError):
    """Transcoding a probed upload failed; ``stage`` says where, the message says what to do."""

    def __init__(self, *, path: str, stage: str, detail: str) -> None:
        self.path = path
        self.stage = stage
        self.detail = detail
        super().__init__(
            f"transcoding {path} failed while {stage}: {detail}; probe the file first and retry, "
            "or reject the upload if it keeps failing"
        )


class EncoderUnavailableError(MediaError):
    """The configured video encoder is not usable on this machine."""

    def __init__(self, *, encoder: str, reason: str) -> None:
        self.encoder = encoder
        self.reason = reason
        super().__init__(
            f"video encoder {encoder!r} is unavailable: {reason}; use encoder='libx264' or 'auto'"
        )

"""Errors of the HTTP API and the one table that maps every package's typed errors to HTTP answers.

``ApiError`` (the root) carries ``status``, a stable machine ``code`` and, for 429/503, the seconds a
client should wait (``retry_after``). ``to_api_error`` turns any other package's error into one, so a
single exception handler answers every failure as ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Unauthorized",
    "Unavailable",
    "Unprocessable",
    "to_api_error",
]


class ApiError(Exception):
    """Root of the API's errors: an HTTP status, a stable code and a message that says what to do."""

    status = 500
    code = "internal"

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None) -> None:
        self.message = message
        if code is not None:
            self.code = code
        self.retry_after = retry_after
        super().__init__(message)

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, int(self.retry_after + 0.999)))}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class Unprocessable(ApiError):
    status, code = 422, "unprocessable"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class Unavailable(ApiError):
    status, code = 503, "unavailable"


def to_api_error(exc: BaseException) -> ApiError | None:
    """The API error for a typed error of another package (None: not ours to map, i.e. a bug -> 500)."""
    if isinstance(exc, ApiError):
        return exc
    from ray.exceptions import RayTaskError

    if isinstance(exc, RayTaskError) and isinstance(getattr(exc, "cause", None), BaseException):
        return to_api_error(exc.cause)  # an error raised inside an actor (e.g. the log writer)
    from actors.errors import ShardUnavailableError
    from blobs.errors import BlobError, BlobNotFoundError, BlobTooLargeError, InvalidBlobKeyError
    from events.errors import EventValidationError, LogError
    from moderation.errors import (
        AppealAlreadyFiledError,
        AppealNotAllowedError,
        NotInReviewError,
        ReviewerConflictError,
        ScoringUnavailableError,
    )
    from pipeline.errors import (
        ModerationUnavailableError,
        UploadAlreadyReceivedError,
        UploadTokenError,
        UploadTooLarge,
    )
    from projections.analytics import InvalidDayError
    from projections.errors import StoreError
    from projections.notifications import InvalidCursorError

    msg = str(exc)
    table: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], type[ApiError], str], ...] = (
        (UploadTooLarge, PayloadTooLarge, "upload_too_large"),
        (BlobTooLargeError, PayloadTooLarge, "payload_too_large"),
        (UploadTokenError, Forbidden, "upload_token_invalid"),
        (UploadAlreadyReceivedError, Conflict, "already_uploaded"),
        (AppealAlreadyFiledError, Conflict, "already_appealed"),
        (AppealNotAllowedError, Forbidden, "appeal_not_allowed"),
        (NotInReviewError, Conflict, "not_in_review"),
        (ReviewerConflictError, Conflict, "reviewer_conflict"),
        ((InvalidCursorError, InvalidDayError, InvalidBlobKeyError), BadRequest, "bad_request"),
        (BlobNotFoundError, NotFound, "not_found"),
        (EventValidationError, Unprocessable, "invalid_event"),
        ((ShardUnavailableError, ModerationUnavailableError, ScoringUnavailableError), Unavailable,
         "unavailable"),
        ((LogError, StoreError, BlobError), Unavailable, "storage_unavailable"),
    )
    for types, cls, code in table:
        if isinstance(exc, types):
            retry = 1.0 if cls is Unavailable else None
            return cls(msg, code=code, retry_after=retry)
    from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError
    from ray.serve.exceptions import BackPressureError

    if isinstance(exc, BackPressureError):
        return Unavailable("the service is overloaded; retry shortly", code="overloaded", retry_after=1.0)
    if isinstance(exc, (RayActorError, ActorUnavailableError, GetTimeoutError)):
        return Unavailable("a platform component is restarting; retry shortly", code="unavailable",
                           retry_after=2.0)
    return None

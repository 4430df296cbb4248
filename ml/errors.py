"""The error root of ``ml``: every failure of import, training, registry or evaluation subclasses it."""

from __future__ import annotations

from typing import Any

__all__ = ["DatasetFormatError", "MLError", "ModelNotFoundError"]


class MLError(Exception):
    """Root of every error raised by ``ml``."""

    def __reduce__(self) -> tuple[Any, ...]:
        # the fields are keyword-only, so pickling's default (``cls(*args)``) cannot rebuild it: restore
        # the message and fields without __init__ (an error raised in a Ray actor or task reaches the caller)
        return type(self).__new__, (type(self), *self.args), self.__dict__


class DatasetFormatError(MLError):
    """An input file does not have the columns or values its format needs."""

    def __init__(self, *, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(
            f"{path}: {problem}; check the file against the format described in `reel import -h`"
        )


class ModelNotFoundError(MLError):
    """No ``ModelVersionPublished`` event names the model serving asked for."""

    def __init__(self, *, model: str, log_url: str) -> None:
        self.model = model
        self.log_url = log_url
        super().__init__(
            f"no published version of model {model!r} in {log_url}; run `reel train {model}` first"
        )

"""The error root of ``ml``: every failure of import, training, registry or evaluation subclasses it."""

from __future__ import annotations

__all__ = ["DatasetFormatError", "MLError", "ModelNotFoundError"]


class MLError(Exception):
    """Root of every error raised by ``ml``."""


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

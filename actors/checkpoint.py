"""The ``CheckpointStore`` port: named blobs a shard snapshots its state into, chosen by URL.

``file:///dir`` is the embedded default (``actors.checkpoint_file``); an object-store backend
(the blob store of the upload pipeline, ``s3://``) registers itself with ``register_backend``.
A ``save`` is atomic: a reader sees the previous checkpoint or the new one, never a torn one.
"""

from __future__ import annotations

import importlib
from typing import Protocol, runtime_checkable

from .errors import UnsupportedCheckpointURLError

__all__ = ["CheckpointStore", "open_checkpoint_store", "register_backend"]


@runtime_checkable
class CheckpointStore(Protocol):
    url: str

    async def save(self, name: str, data: bytes) -> None:
        """Durably replace the checkpoint ``name`` with ``data`` (all or nothing)."""
        ...

    async def load(self, name: str) -> bytes | None:
        """The latest checkpoint ``name``, or None when there is none."""
        ...

    async def delete(self, name: str) -> None: ...


_BACKENDS: dict[str, str] = {"file": "actors.checkpoint_file:FileCheckpointStore"}


def register_backend(scheme: str, target: str) -> None:
    """Register ``module:Class`` (constructed with the URL) as the store of ``scheme://`` URLs."""
    _BACKENDS[scheme] = target


def open_checkpoint_store(url: str) -> CheckpointStore:
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in _BACKENDS:
        raise UnsupportedCheckpointURLError(url=url)
    module_name, _, cls = _BACKENDS[scheme].partition(":")
    store: CheckpointStore = getattr(importlib.import_module(module_name), cls)(url)
    return store

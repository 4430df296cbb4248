"""The ``ViewStore`` port: where folded views live, together with the log offsets they reflect.

Backends are chosen by URL through ``open_store``:

- ``memory://`` — a dict per view, for tests and one-off replays (``projections.stores.memory``);
- ``sqlite:///path/views.db`` (or ``sqlite://relative.db``) — the embedded default, shared by every
  process of one machine (``projections.stores.sqlite``);
- ``redis://host:port[/db]`` — shared across a cluster (``projections.stores.redis``).

Contract (tests/contract/test_store_contract.py runs it against every backend):

- values are opaque ``bytes`` here; ``reader`` decodes them with the projection's ``value_type``;
- ``scan`` returns entries in lexicographic (code point, i.e. UTF-8 byte) order of their keys;
- ``commit`` applies puts, deletes and the new ``Checkpoint`` in ONE atomic step: a reader (in this
  process or another) sees all of it or none of it, and a crash never leaves part of it behind;
- ``commit`` accepts a checkpoint only if its ``seq`` is the stored one plus one (no checkpoint:
  ``seq == 1``), so two runners writing one view, or a runner racing a rebuild, fail loudly
  (``CheckpointConflictError``) instead of double counting.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import msgspec

from .base import Projection
from .errors import UnsupportedStoreURLError

__all__ = [
    "Checkpoint",
    "StoreReader",
    "ViewStore",
    "decode_checkpoint",
    "encode_checkpoint",
    "open_store",
    "prefix_end",
    "reader",
    "register_store",
    "value_decoder",
]


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """How far a stored view has folded the log, written in the same step as the view's changes."""

    offsets: dict[int, int]  # partition -> next offset to read
    version: int  # projection version that folded the view
    seq: int  # commits since the view was created (1 for the first)
    events: int = 0  # records consumed (folded or dead-lettered)
    dead_lettered: int = 0
    last_event_ts: int | None = None  # epoch µs of the newest event folded
    updated_at: int = 0  # epoch µs of the commit


_ckpt_encoder = msgspec.json.Encoder()
_ckpt_decoder = msgspec.json.Decoder(Checkpoint)


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    return _ckpt_encoder.encode(checkpoint)


def decode_checkpoint(raw: bytes | str) -> Checkpoint:
    return _ckpt_decoder.decode(raw)


@runtime_checkable
class ViewStore(Protocol):
    """Keyed views of bytes plus a checkpoint each; see the module docstring for the contract."""

    url: str
    #: Events per commit this backend handles well while a runner catches up (a rebuild): big enough
    #: to write each page/structure once for many entries, small enough not to stall other clients.
    catchup_batch: int
    #: True when a commit mostly waits on a server (Redis): the runner overlaps it with folding in a
    #: thread. False for in-process stores, whose commits are CPU work under the GIL.
    remote: bool

    def get_many(self, view: str, keys: Iterable[str]) -> dict[str, bytes]:
        """The stored values of ``keys`` (missing keys are absent from the result)."""
        ...

    def scan(
        self, view: str, prefix: str = "", *, limit: int | None = None, start_after: str | None = None
    ) -> list[tuple[str, bytes]]:
        """Entries whose key starts with ``prefix`` (and sorts after ``start_after``), in key order."""
        ...

    def checkpoint(self, view: str) -> Checkpoint | None: ...

    def commit(
        self, view: str, puts: Mapping[str, bytes], deletes: Iterable[str], checkpoint: Checkpoint
    ) -> None:
        """Apply ``puts``, ``deletes`` and ``checkpoint`` atomically (see the module docstring)."""
        ...

    def drop(self, view: str) -> None:
        """Remove every entry and the checkpoint of ``view``."""
        ...

    def views(self) -> list[str]:
        """Names of the views that have a checkpoint, sorted."""
        ...

    def close(self) -> None: ...


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: no bound)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:  # surrogates cannot be stored; skip past them
                nxt = 0xE000
            return "".join(chars) + chr(nxt)
    return None


Opener = Callable[[str], ViewStore]
_BACKENDS: dict[str, str] = {
    "memory": "projections.stores.memory:open_memory_store",
    "sqlite": "projections.stores.sqlite:open_sqlite_store",
    "redis": "projections.stores.redis:open_redis_store",
}


def register_store(scheme: str, target: str) -> None:
    """Register ``module:function`` as the opener of ``scheme://`` URLs."""
    _BACKENDS[scheme] = target


def open_store(url: str) -> ViewStore:
    """Open the view store at ``url`` (``memory://``, ``sqlite:///path`` or ``redis://host:port``)."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in _BACKENDS:
        raise UnsupportedStoreURLError(url=url)
    module_name, _, func = _BACKENDS[scheme].partition(":")
    opener: Opener = getattr(importlib.import_module(module_name), func)
    return opener(url)


_decoders: dict[tuple[str, int], Callable[[bytes], Any]] = {}


def value_decoder(projection: Projection) -> Callable[[bytes], Any]:
    """The one reusable msgpack decoder of ``projection.value_type`` (built once per projection)."""
    key = (projection.name, id(projection.value_type))
    dec = _decoders.get(key)
    if dec is None:
        dec = _decoders[key] = msgspec.msgpack.Decoder(projection.value_type).decode
    return dec


class StoreReader:
    """A ``QueryReader`` over one view of a store: decodes values with the projection's ``value_type``.

    The typed query functions of the folds read through it, e.g.
    ``counters.video_counts(reader(store, counters.PROJECTION), video_id)``.
    """

    __slots__ = ("_decode", "store", "view")

    def __init__(self, store: ViewStore, projection: Projection) -> None:
        self.store = store
        self.view = projection.name
        self._decode = value_decoder(projection)

    def get(self, key: str) -> Any | None:
        raw = self.store.get_many(self.view, (key,)).get(key)
        return None if raw is None else self._decode(raw)

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        dec = self._decode
        return {k: dec(v) for k, v in self.store.get_many(self.view, keys).items()}

    def scan(
        self, prefix: str, limit: int | None = None, *, start_after: str | None = None
    ) -> list[tuple[str, Any]]:
        dec = self._decode
        rows = self.store.scan(self.view, prefix, limit=limit, start_after=start_after)
        return [(k, dec(v)) for k, v in rows]


def reader(store: ViewStore, projection: Projection) -> StoreReader:
    """The ``QueryReader`` of ``projection``'s view in ``store`` (cheap: the decoder is shared)."""
    return StoreReader(store, projection)

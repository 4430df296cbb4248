"""What a projection is: a pure fold of events into a keyed view, plus the helpers to run one in memory.

A view is a mapping ``key -> value`` (values are msgspec types the projection declares). A fold reads
the view through ``ViewReader.get`` and returns a ``Delta``: the entries that change (``None``
deletes). No IO, no clock (time comes from ``event.ts``), no Ray, no randomness — so folding the same
log twice gives the same view, replay after a crash gives the same view, and tests need no runtime.

The runner (``projections.runner``) owns IO: it prefetches ``keys(event)`` from the ``ViewStore``
in batches, serves ``get`` from its cache (loading misses lazily), applies each delta to the cache
and writes the changed entries together with the log offsets in one atomic commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from events import Event

__all__ = [
    "Delta",
    "DictView",
    "Projection",
    "QueryReader",
    "ViewReader",
    "apply",
    "fold_all",
]

#: The entries a fold changes: key -> new value, or None to delete the key.
Delta = Mapping[str, Any]


@runtime_checkable
class ViewReader(Protocol):
    """Read access to a view, as a fold (or a query) sees it."""

    def get(self, key: str) -> Any | None: ...


@runtime_checkable
class QueryReader(ViewReader, Protocol):
    """What the typed query APIs read through: point gets plus ordered prefix scans.

    ``DictView`` implements it for tests; the stores provide one per view (``store.reader(projection)``).
    """

    def scan(
        self, prefix: str, limit: int | None = None, *, start_after: str | None = None
    ) -> list[tuple[str, Any]]:
        """Entries whose key starts with ``prefix`` and sorts after ``start_after``, in key order."""
        ...


@runtime_checkable
class Projection(Protocol):
    """A read model folded from the log.

    ``name`` names the view in its store and its consumer group (``proj.<name>``); ``version`` is
    bumped when the fold changes meaning, which makes ``reel projections status`` ask for a rebuild;
    ``value_type`` is the msgspec type of every value (usually a union of tagged Structs), used by
    the stores to encode and decode.
    """

    name: str
    version: int
    value_type: Any

    def keys(self, event: Event) -> Sequence[str]:
        """Keys ``fold`` will read for this event (a prefetch hint; ``()`` when the event is ignored)."""
        ...

    def fold(self, view: ViewReader, event: Event) -> Delta:
        """The change this event makes to the view. Must not raise for well-formed events that
        reference unknown entities: ignore them (or park them in the view) instead."""
        ...


class DictView:
    """A view held in a dict: the in-memory store of tests, replays and property checks."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = {} if data is None else data

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values of ``keys`` (missing keys are absent), as the stores' readers answer."""
        data = self.data
        return {k: v for k in keys if (v := data.get(k)) is not None}

    def scan(
        self, prefix: str, limit: int | None = None, *, start_after: str | None = None
    ) -> list[tuple[str, Any]]:
        """Entries whose key starts with ``prefix`` (and sorts after ``start_after``), in key order
        (what the stores' ``scan`` returns)."""
        items = sorted((k, v) for k, v in self.data.items() if k.startswith(prefix))
        if start_after is not None:
            items = [(k, v) for k, v in items if k > start_after]
        return items if limit is None else items[:limit]


def apply(view: DictView, delta: Delta) -> DictView:
    """Apply a delta to a dict view in place and return it."""
    for key, value in delta.items():
        if value is None:
            view.data.pop(key, None)
        else:
            view.data[key] = value
    return view


def fold_all(projection: Projection, events: Iterable[Event], view: DictView | None = None) -> DictView:
    """Fold a sequence of events into a dict view from scratch (or onto ``view``)."""
    out = DictView() if view is None else view
    for event in events:
        apply(out, projection.fold(out, event))
    return out

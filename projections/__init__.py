"""Read models folded from the event log: pure folds, view stores, and the exactly-once runner."""

from .base import Delta, DictView, Projection, QueryReader, ViewReader, apply, fold_all

__all__ = ["Delta", "DictView", "Projection", "QueryReader", "ViewReader", "apply", "fold_all"]

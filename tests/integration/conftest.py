"""Integration fixtures shared across files: one local Ray session for every Ray test of the run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """A local Ray (2 CPUs, no dashboard) started once per test session; yields the ``ray`` module.

    Starting Ray costs several seconds on a small machine, so every Ray test shares this one; keep
    actor counts small and give actors ``num_cpus=0`` where they mostly wait on IO.
    """
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, namespace="reelstack-tests",
                 logging_level=logging.WARNING, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()

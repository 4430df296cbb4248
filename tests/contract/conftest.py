"""Backends every port contract suite is parametrised over."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from events import EventLog, open_log

LOG_BACKENDS = ["file", "kafka"]

LogFactory = Callable[..., Awaitable[EventLog]]


@pytest.fixture(params=LOG_BACKENDS)
async def log_factory(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[LogFactory]:  # type: ignore[no-untyped-def]
    """``await log_factory(partitions=4)`` opens a fresh, empty log of the parametrised backend.

    Calling it again with ``reopen=True`` opens the same log again (after the test closed it),
    to check durability of data and committed offsets across restarts.
    """
    opened: list[EventLog] = []
    if request.param == "file":
        url = f"file://{tmp_path / 'log'}"
    else:
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        url = f"kafka://{bootstrap}/t{uuid.uuid4().hex[:12]}"

    async def factory(partitions: int = 4, **options: object) -> EventLog:
        options.pop("reopen", None)
        log = await open_log(url, partitions=partitions, **options)
        opened.append(log)
        return log

    yield factory
    for log in opened:
        await log.close()

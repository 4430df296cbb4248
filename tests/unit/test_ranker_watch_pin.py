"""``RankerWatch``: a model an operator pins while a published version loads keeps serving."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

import serve.models
from events import ModelVersionPublished, new_event_id, now_us, open_log
from serve.feed.scoring import PriorRanker
from serve.models import RankerWatch


async def test_a_pin_made_while_a_published_version_loads_wins(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"file://{tmp_path / 'log'}"
    log = await open_log(url, partitions=2)
    await log.append([ModelVersionPublished(event_id=new_event_id(), ts=now_us(), model="ranker", version="7",
                                            uri="file:///models/ranker/7.pt", metrics={})])
    await log.close()
    loading, release = threading.Event(), threading.Event()
    published = PriorRanker()

    def slow_load(uri: str, *, version: str | None = None) -> Any:  # the published artifact, slow to load
        loading.set()
        release.wait(10)
        return published

    monkeypatch.setattr(serve.models, "load_ranker", slow_load)
    watch = RankerWatch(url)
    try:
        scan = asyncio.ensure_future(watch.scan())
        await asyncio.to_thread(loading.wait, 10)
        pinned = PriorRanker()
        watch.pin(pinned)  # the operator's reconfigure, while version 7 loads
        release.set()
        assert await scan is False
        assert watch.ranker is pinned
    finally:
        await watch.close()

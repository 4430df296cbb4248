"""The ``CheckpointStore`` contract, run against every backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from actors.checkpoint import CheckpointStore, open_checkpoint_store
from actors.errors import CheckpointError, UnsupportedCheckpointURLError

CHECKPOINT_BACKENDS = ["file"]


@pytest.fixture(params=CHECKPOINT_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> CheckpointStore:
    return open_checkpoint_store(f"file://{tmp_path / 'ckpt'}")


async def test_missing_checkpoint_is_none(store: CheckpointStore) -> None:
    assert await store.load("user-shard-0-of-4") is None


async def test_save_replaces_and_survives_reopen(store: CheckpointStore) -> None:
    await store.save("user-shard-0-of-4", b"one")
    await store.save("user-shard-0-of-4", b"two" * 100_000)
    await store.save("user-shard-1-of-4", b"other")
    again = open_checkpoint_store(store.url)
    assert await again.load("user-shard-0-of-4") == b"two" * 100_000
    assert await again.load("user-shard-1-of-4") == b"other"
    await again.delete("user-shard-1-of-4")
    await again.delete("user-shard-1-of-4")  # idempotent
    assert await store.load("user-shard-1-of-4") is None


async def test_no_temporary_file_is_left_behind(store: CheckpointStore, tmp_path: Path) -> None:
    if not store.url.startswith("file://"):
        pytest.skip("lists a directory")
    for i in range(5):
        await store.save("s", bytes([i]) * 1000)
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["s.ckpt"]


async def test_bad_names_and_urls_are_refused(store: CheckpointStore) -> None:
    with pytest.raises(CheckpointError, match="bad checkpoint name"):
        await store.save("../escape", b"x")
    with pytest.raises(UnsupportedCheckpointURLError, match="file:///"):
        open_checkpoint_store("ftp://somewhere")

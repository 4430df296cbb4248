"""Upload service on a real file log and blob store: tokens, streaming, size limit, nothing half-done."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from blobs import open_blobs
from events import EventLog, open_log
from events.schema import UploadRequested, VideoDetailsSubmitted, VideoUploaded
from pipeline.errors import (
    UploadAlreadyReceivedError,
    UploadTokenExpiredError,
    UploadTokenInvalidError,
    UploadTooLarge,
)
from pipeline.uploads import UploadService, source_key


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000_000_000

    def __call__(self) -> int:
        return self.now


async def _all(log: EventLog) -> list[object]:
    out: list[object] = []
    for info in await log.partition_info():
        out.extend(r.event for r in await log.read(info.partition, info.start, 10_000))
    return out


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[UploadService, EventLog, Clock]]:
    log = await open_log(f"file://{tmp_path / 'log'}", partitions=2)
    blobs = open_blobs(f"file://{tmp_path / 'blobs'}")
    clock = Clock()
    yield (
        UploadService(log, blobs, secret=b"k" * 32, max_bytes=100_000, token_ttl_s=60, clock=clock),
        log,
        clock,
    )
    await log.close()


async def test_upload_flow_appends_requested_uploaded_and_details(
    env: tuple[UploadService, EventLog, Clock],
) -> None:
    svc, log, _ = env
    ticket = await svc.request_upload("creator-1")
    assert ticket.max_bytes == 100_000
    data = os.urandom(70_000)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 8192):
            yield data[i : i + 8192]

    up = await svc.receive_upload(ticket.token, chunks())
    assert (up.video_id, up.creator_id, up.size_bytes) == (ticket.video_id, "creator-1", len(data))
    assert up.sha256 == hashlib.sha256(data).hexdigest()
    assert up.blob_key == source_key(ticket.video_id) == f"uploads/{ticket.video_id}/source"
    assert svc.blobs.get(up.blob_key) == data
    await svc.submit_details(ticket.video_id, "creator-1", caption="hello", hashtags=["#cats"])
    kinds = [type(e) for e in await _all(log)]
    assert kinds == [UploadRequested, VideoUploaded, VideoDetailsSubmitted]


async def test_over_the_limit_is_rejected_and_leaves_nothing(
    env: tuple[UploadService, EventLog, Clock],
) -> None:
    svc, log, _ = env
    ticket = await svc.request_upload("c", max_bytes=10_000)
    with pytest.raises(UploadTooLarge) as err:
        await svc.receive_upload(ticket.token, [b"x" * 4096] * 5)
    assert err.value.max_bytes == 10_000 and err.value.received > 10_000
    assert not svc.blobs.exists(source_key(ticket.video_id))
    assert svc.blobs.list("uploads/") == []
    assert list((Path(svc.blobs.url[len("file://") :]) / ".tmp").iterdir()) == []
    assert [type(e) for e in await _all(log)] == [UploadRequested]


async def test_service_limit_caps_requested_limit(env: tuple[UploadService, EventLog, Clock]) -> None:
    svc, _, _ = env
    ticket = await svc.request_upload("c", max_bytes=10**12)
    assert ticket.max_bytes == 100_000
    with pytest.raises(UploadTooLarge):
        await svc.receive_upload(ticket.token, [b"y" * 100_001])


async def test_expired_and_tampered_tokens_store_nothing(env: tuple[UploadService, EventLog, Clock]) -> None:
    svc, log, clock = env
    ticket = await svc.request_upload("c")
    clock.now += 61 * 1_000_000
    with pytest.raises(UploadTokenExpiredError):
        await svc.receive_upload(ticket.token, [b"data"])
    clock.now -= 61 * 1_000_000
    body, sig = ticket.token.split(".")
    with pytest.raises(UploadTokenInvalidError):
        await svc.receive_upload(f"{body}x.{sig}", [b"data"])
    other = UploadService(log, svc.blobs, secret=b"another", clock=clock)
    with pytest.raises(UploadTokenInvalidError):
        await other.receive_upload(ticket.token, [b"data"])
    assert svc.blobs.list() == []
    assert [type(e) for e in await _all(log)] == [UploadRequested]


async def test_a_token_uploads_once(env: tuple[UploadService, EventLog, Clock]) -> None:
    svc, log, _ = env
    ticket = await svc.request_upload("c")
    await svc.receive_upload(ticket.token, [b"first"])
    with pytest.raises(UploadAlreadyReceivedError):
        await svc.receive_upload(ticket.token, [b"second"])
    assert svc.blobs.get(source_key(ticket.video_id)) == b"first"
    assert [type(e) for e in await _all(log)] == [UploadRequested, VideoUploaded]


async def test_a_second_put_while_the_first_streams_is_refused_and_changes_nothing(
    env: tuple[UploadService, EventLog, Clock],
) -> None:
    svc, log, _ = env
    ticket = await svc.request_upload("c")
    streaming, finish = asyncio.Event(), asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"first half "
        streaming.set()
        await finish.wait()
        yield b"second half"

    first = asyncio.ensure_future(svc.receive_upload(ticket.token, slow()))
    await streaming.wait()
    with pytest.raises(UploadAlreadyReceivedError, match="already in progress"):
        await svc.receive_upload(ticket.token, [b"a double submit"])
    finish.set()
    uploaded = await first
    assert svc.blobs.get(source_key(ticket.video_id)) == b"first half second half"
    assert [e for e in await _all(log) if isinstance(e, VideoUploaded)] == [uploaded]

"""The BlobStore contract, run against every backend: file:// and s3:// (a real moto_server on loopback)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from blobs import (
    BlobNotFoundError,
    BlobStore,
    BlobTooLargeError,
    InvalidBlobKeyError,
    UnsupportedBlobURLError,
    open_blobs,
)
from blobs.http import serve_blob
from tests.services.s3 import S3_CREDENTIALS

BACKENDS = ["file", "s3"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "file":
        s = open_blobs(f"file://{tmp_path / 'blobs'}")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"reel-{uuid.uuid4().hex[:12]}"
        s = open_blobs(f"s3://{bucket}?endpoint={endpoint}&create=1", part_size=5 * 1024 * 1024,
                       **S3_CREDENTIALS)
    yield s
    s.close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_put_get_roundtrip_reports_size_and_sha(store: BlobStore) -> None:
    data = os.urandom(70_000)
    info = store.put_stream("uploads/v1/source", [data[:1000], b"", data[1000:]])
    assert (info.key, info.size, info.sha256) == ("uploads/v1/source", len(data), _sha(data))
    assert store.get("uploads/v1/source") == data
    assert store.size("uploads/v1/source") == len(data)
    assert store.exists("uploads/v1/source")
    with store.open("uploads/v1/source") as f:
        assert f.read(10) == data[:10]
        assert f.read() == data[10:]


def test_put_bytes_and_file_and_get_to_file(store: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(b"abc" * 1000)
    info = store.put_file("videos/v/hls/360p/seg_00000.ts", src)
    assert info.sha256 == _sha(src.read_bytes())
    out = tmp_path / "deep" / "out.bin"
    assert store.get_to_file("videos/v/hls/360p/seg_00000.ts", out) == 3000
    assert out.read_bytes() == src.read_bytes()
    assert store.put_bytes("k", b"").size == 0
    assert store.get("k") == b""


def test_overwrite_replaces_whole_object(store: BlobStore) -> None:
    store.put_bytes("a/b", b"x" * 5000)
    store.put_bytes("a/b", b"short")
    assert store.get("a/b") == b"short"


def test_multipart_stream_of_many_chunks(store: BlobStore) -> None:
    """11 MiB in 64 KiB chunks: S3 takes the multipart path (5 MiB parts), file the temp+rename path."""
    block = os.urandom(64 * 1024)
    chunks = [block] * 176
    info = store.put_stream("uploads/big/source", chunks)
    whole = block * 176
    assert info.size == len(whole) and info.sha256 == _sha(whole)
    assert store.size("uploads/big/source") == len(whole)
    assert store.read_range("uploads/big/source", 6 * 1024 * 1024 - 3, 7) == whole[6 * 1024 * 1024 - 3:][:7]


@pytest.mark.parametrize("total", [1001, 11 * 1024 * 1024])
def test_over_the_limit_stores_nothing(store: BlobStore, total: int) -> None:
    store.put_bytes("uploads/v2/source", b"old")
    chunk = b"z" * 1000 if total < 10_000 else os.urandom(1024 * 1024)
    n = -(-total // len(chunk))
    with pytest.raises(BlobTooLargeError) as err:
        store.put_stream("uploads/v2/source", [chunk] * n, max_bytes=total - 1)
    assert err.value.max_bytes == total - 1
    assert store.get("uploads/v2/source") == b"old"  # the old object is untouched, nothing partial
    with pytest.raises(BlobTooLargeError):
        store.put_stream("uploads/v3/source", [chunk] * n, max_bytes=total - 1)
    assert not store.exists("uploads/v3/source")
    assert store.list("uploads/v3") == []


def test_exact_limit_is_accepted(store: BlobStore) -> None:
    assert store.put_stream("x", [b"a" * 10], max_bytes=10).size == 10


def test_writer_abort_leaves_nothing(store: BlobStore) -> None:
    w = store.writer("uploads/v4/source")
    w.write(b"partial")
    w.abort()
    assert not store.exists("uploads/v4/source")


def test_missing_keys(store: BlobStore, tmp_path: Path) -> None:
    for call in (lambda: store.get("nope/x"), lambda: store.size("nope/x"),
                 lambda: store.open("nope/x"), lambda: store.get_to_file("nope/x", tmp_path / "o")):
        with pytest.raises(BlobNotFoundError):
            call()
    assert not store.exists("nope/x")
    store.delete("nope/x")  # deleting a missing key is fine


def test_delete_and_list(store: BlobStore) -> None:
    keys = ["videos/a/hls/master.m3u8", "videos/a/hls/360p/index.m3u8", "videos/a/thumb_240.jpg",
            "videos/ab/x", "uploads/a/source"]
    for k in keys:
        store.put_bytes(k, k.encode())
    assert store.list("videos/a/") == sorted(k for k in keys if k.startswith("videos/a/"))
    assert store.list("videos/a") == sorted(k for k in keys if k.startswith("videos/a"))
    assert store.list() == sorted(keys)
    store.delete("videos/a/thumb_240.jpg")
    assert "videos/a/thumb_240.jpg" not in store.list("videos/")
    assert not store.exists("videos/a/thumb_240.jpg")


def test_read_range_edges(store: BlobStore) -> None:
    store.put_bytes("r", b"0123456789")
    assert store.read_range("r", 2, 3) == b"234"
    assert store.read_range("r", 8, 100) == b"89"
    assert store.read_range("r", 10, 5) == b""
    assert store.read_range("r", 0, 0) == b""


@pytest.mark.parametrize("key", [
    "../etc/passwd", "a/../../b", "/etc/passwd", "a//b", "a/", "", ".", "..", "a/./b", ".hidden",
    "a\\b", "a\x00b", "ünï", "a b", "a/-x", "x" * 600, "~/x", "a?b", "a%2f..",
])
def test_bad_keys_are_refused_before_any_io(store: BlobStore, key: str) -> None:
    for call in (lambda: store.put_bytes(key, b"x"), lambda: store.get(key), lambda: store.exists(key),
                 lambda: store.delete(key), lambda: store.writer(key), lambda: store.url_for(key)):
        with pytest.raises(InvalidBlobKeyError):
            call()


def test_url_for_names_the_object(store: BlobStore) -> None:
    store.put_bytes("videos/v/hls/master.m3u8", b"#EXTM3U\n")
    url = store.url_for("videos/v/hls/master.m3u8")
    assert url.endswith("videos/v/hls/master.m3u8")


def test_http_serving_with_ranges(store: BlobStore) -> None:
    store.put_bytes("videos/v/hls/360p/seg_00000.ts", bytes(range(256)) * 4)
    full = serve_blob(store, "videos/v/hls/360p/seg_00000.ts")
    assert full.status == 200 and full.headers["content-type"] == "video/mp2t" and len(full.body) == 1024
    part = serve_blob(store, "videos/v/hls/360p/seg_00000.ts", "bytes=10-19")
    assert part.status == 206 and part.body == bytes(range(10, 20))
    assert part.headers["content-range"] == "bytes 10-19/1024"
    tail = serve_blob(store, "videos/v/hls/360p/seg_00000.ts", "bytes=-4")
    assert tail.body == bytes(range(252, 256))
    assert serve_blob(store, "videos/v/hls/360p/seg_00000.ts", "bytes=2000-").status == 416
    assert serve_blob(store, "videos/none", None).status == 404
    assert serve_blob(store, "../etc/passwd", None).status == 404


def test_unsupported_url() -> None:
    with pytest.raises(UnsupportedBlobURLError):
        open_blobs("ftp://x")
    with pytest.raises(UnsupportedBlobURLError):
        open_blobs("nothing")


def test_file_store_never_writes_outside_its_root(tmp_path: Path) -> None:
    """A symlink planted inside the root cannot carry a write outside it."""
    root = tmp_path / "root"
    s = open_blobs(f"file://{root}")
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "evil").symlink_to(outside)
    with pytest.raises(InvalidBlobKeyError):
        s.put_bytes("evil/x", b"x")
    assert list(outside.iterdir()) == []
    assert not list((root / ".tmp").iterdir())  # no temp files left behind

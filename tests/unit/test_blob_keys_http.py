"""Blob keys, HTTP range parsing and playback URLs (pure)."""

from __future__ import annotations

import pytest

from blobs import InvalidBlobKeyError, check_key, check_prefix, join_key
from blobs.http import content_type, parse_range
from blobs.playback import blob_url, playback
from pipeline.wiring import blob_spec, coordinator_config
from reelstack.settings import load_settings


@pytest.mark.parametrize("key", ["uploads/01a1-b/source", "videos/v/hls/720p/seg_00001.ts", "a", "x=1/y.z"])
def test_good_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/a",
        "a/",
        "a//b",
        "../a",
        "a/..",
        "a/./b",
        ".a",
        "_a",
        "-a",
        "a\\b",
        "a\x00",
        "a b",
        "é",
        "a/" + "b" * 129,
        5,
    ],
)
def test_bad_keys(key: object) -> None:
    with pytest.raises(InvalidBlobKeyError):
        check_key(key)


def test_prefixes_and_join() -> None:
    assert check_prefix("") == "" and check_prefix("videos/") == "videos/" and check_prefix("vid") == "vid"
    with pytest.raises(InvalidBlobKeyError):
        check_prefix("../")
    assert join_key("uploads", "v1", "source") == "uploads/v1/source"
    with pytest.raises(InvalidBlobKeyError):
        join_key("uploads", "../../etc", "passwd")


@pytest.mark.parametrize(
    "header,size,expected",
    [
        (None, 10, None),
        ("bytes=0-3", 10, (0, 3)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=8-100", 10, (8, 9)),
        ("bytes=10-", 10, False),
        ("bytes=4-2", 10, False),
        ("bytes=-0", 10, False),
        ("items=0-1", 10, None),
        ("bytes=0-1,4-5", 10, None),
        ("bytes=x-y", 10, None),
        ("bytes=-5", 0, False),
    ],
)
def test_parse_range(header: str | None, size: int, expected: object) -> None:
    assert parse_range(header, size) == expected


def test_content_types() -> None:
    assert content_type("a/master.m3u8") == "application/vnd.apple.mpegurl"
    assert content_type("a/seg_00000.ts") == "video/mp2t"
    assert content_type("a/thumb_720.jpg") == "image/jpeg"
    assert content_type("uploads/v/source") == "application/octet-stream"


def test_playback_urls() -> None:
    p = playback("https://cdn.example.com/m/", "videos/v/hls/master.m3u8", ["videos/v/thumbs/thumb_720.jpg"])
    assert p.hls_url == "https://cdn.example.com/m/videos/v/hls/master.m3u8"
    assert p.thumbnail_url == "https://cdn.example.com/m/videos/v/thumbs/thumb_720.jpg"
    assert playback("/media", None).hls_url is None
    with pytest.raises(InvalidBlobKeyError):
        blob_url("/media", "../secret")


def test_wiring_from_settings() -> None:
    s = load_settings(
        {"REEL_DATA_DIR": "/tmp/reel-x", "REEL_BLOB_URL": "s3://b", "REEL_BLOB_S3_ENDPOINT": "http://h:1"}
    )
    assert blob_spec(s).options == {"endpoint": "http://h:1"}
    c = coordinator_config(s)
    assert c.log_options == {"readonly": True, "partitions": None} and c.state_store_url.startswith(
        "sqlite://"
    )
    assert load_settings({}).upload_max_bytes == 500 * 1024 * 1024

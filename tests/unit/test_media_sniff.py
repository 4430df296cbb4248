"""Container sniffing: only MP4/MOV and Matroska/WebM magic reaches libav; playlists and scripts never do."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.sniff import ALLOWED_DEMUXERS, bmff_top_level_problem, sniff, sniff_file


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "mov"),
        (b"\x00\x00\x00\x14ftypqt  ", "mov"),
        (b"\x00\x00\x00\x08free\x00\x00\x10\x00moov", "mov"),
        (b"\x00\x00\x00\x01mdat" + b"\x00" * 8, "mov"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "matroska"),
    ],
)
def test_accepted_containers(head: bytes, fmt: str) -> None:
    got = sniff(head)
    assert got.format == fmt
    assert got.format in ALLOWED_DEMUXERS


@pytest.mark.parametrize(
    ("head", "looks_like"),
    [
        (b"#EXTM3U\n#EXT-X-VERSION:3\n", "an HLS playlist"),
        (b"\xef\xbb\xbf#EXTM3U\n", "an HLS playlist"),
        (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "an ffconcat script"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "a RIFF file (AVI/WAV), not an accepted container"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"ID3\x04\x00", "an MP3 audio file"),
        (b"hello, I am a text file pretending to be an mp4\n", "a text file"),
        (b"", "an empty file"),
        (b"\x00\x00\x00\x04ftyp", "an unknown binary format"),  # box size below its own header
        (b"\x00\x00\x00\x20abcdisom", "an unknown binary format"),
    ],
)
def test_refused(head: bytes, looks_like: str) -> None:
    got = sniff(head)
    assert got.format is None
    assert got.looks_like == looks_like


def test_sniff_file_refuses_symlinks_and_directories(tmp_path: Path) -> None:
    real = tmp_path / "real.mp4"
    real.write_bytes(b"\x00\x00\x00\x20ftypisom" + b"\x00" * 32)
    link = tmp_path / "link.mp4"
    link.symlink_to(real)
    assert sniff_file(real).format == "mov"
    assert sniff_file(link).format is None
    assert sniff_file(tmp_path).format is None


def _box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def _problem(data: bytes) -> str | None:
    import io

    return bmff_top_level_problem(io.BytesIO(data), len(data))


def test_bmff_boxes_that_tile_the_file() -> None:
    good = _box(b"ftyp", b"isom" * 4) + _box(b"mdat", b"\x00" * 100) + _box(b"moov", b"\x01" * 50)
    assert _problem(good) is None
    large = (
        _box(b"ftyp", b"isom") + (1).to_bytes(4, "big") + b"mdat" + (16 + 10).to_bytes(8, "big") + b"x" * 10
    )
    assert _problem(large) is None
    to_end = _box(b"ftyp", b"isom") + (0).to_bytes(4, "big") + b"mdat" + b"y" * 30
    assert _problem(to_end) is None


def test_bmff_truncation_and_garbage() -> None:
    good = _box(b"ftyp", b"isom" * 4) + _box(b"mdat", b"\x00" * 100) + _box(b"moov", b"\x01" * 50)
    problem = _problem(good[:-1])
    assert problem is not None and "moov" in problem and "truncated" in problem
    assert "stray" in (_problem(good + b"\x00\x00\x00") or "")
    assert "impossible size" in (_problem(_box(b"ftyp", b"isom") + b"\x00\x00\x00\x03junk") or "")

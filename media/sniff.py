"""Container detection from magic bytes, done by us before libav sees a byte, against an explicit whitelist.

libav's own probing would happily pick HLS, concat, image2 or a text demuxer for a crafted upload, and
some of those open further files or URLs. We decide the demuxer ourselves and hand libav only that one.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Final

__all__ = [
    "ALLOWED_DEMUXERS",
    "SNIFF_BYTES",
    "Sniffed",
    "bmff_top_level_problem",
    "describe_refused",
    "sniff",
    "sniff_file",
]

#: What we pass to ``av.open(format=...)`` → the libav demuxer family it names.
ALLOWED_DEMUXERS: Final[dict[str, str]] = {
    "mov": "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska": "matroska,webm",
}
SNIFF_BYTES: Final = 64

# First top-level box types of ISO-BMFF / QuickTime files as phones and encoders write them.
_BMFF_FIRST_BOXES: Final = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp"}
_EBML_MAGIC: Final = b"\x1a\x45\xdf\xa3"

_REFUSED_SIGNS: Final[tuple[tuple[bytes, str], ...]] = (
    (b"#EXTM3U", "an HLS playlist"),
    (b"ffconcat", "an ffconcat script"),
    (b"RIFF", "a RIFF file (AVI/WAV), not an accepted container"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg file"),
    (b"fLaC", "a FLAC audio file"),
)


class Sniffed:
    """The demuxer we allow for a file (``format``) or ``None`` with what the bytes look like instead."""

    __slots__ = ("format", "looks_like")

    def __init__(self, format: str | None, looks_like: str) -> None:
        self.format = format
        self.looks_like = looks_like

    def __repr__(self) -> str:
        return f"Sniffed(format={self.format!r}, looks_like={self.looks_like!r})"


def _is_bmff(head: bytes) -> bool:
    if len(head) < 8 or head[4:8] not in _BMFF_FIRST_BOXES:
        return False
    size = int.from_bytes(head[0:4], "big")
    return size == 1 or size == 0 or size >= 8  # 1: 64-bit size follows; 0: box runs to end of file


def describe_refused(head: bytes) -> str:
    """A human description of bytes we refuse ("an HLS playlist", "empty", "text", ...)."""
    if not head:
        return "an empty file"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for magic, what in _REFUSED_SIGNS:
        if stripped.startswith(magic):
            return what
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file"
    return "an unknown binary format"


def sniff(head: bytes) -> Sniffed:
    """Pick the demuxer for a file from its first bytes (``SNIFF_BYTES`` is enough); pure."""
    if _is_bmff(head):
        return Sniffed("mov", "an MP4/QuickTime file")
    if head.startswith(_EBML_MAGIC):
        return Sniffed("matroska", "a Matroska/WebM file")
    return Sniffed(None, describe_refused(head))


def sniff_file(path: str | Path) -> Sniffed:
    """``sniff`` the first bytes of a regular file (symlinks and special files are refused)."""
    p = Path(path)
    if p.is_symlink() or not p.is_file():
        return Sniffed(None, "not a regular file")
    with p.open("rb") as fh:
        return sniff(fh.read(SNIFF_BYTES))


def bmff_top_level_problem(fh: BinaryIO, size: int, max_boxes: int = 10_000) -> str | None:
    """Walk the top-level boxes of an MP4/MOV file: ``None`` if they tile the file exactly, else why not."""
    pos = 0
    for _ in range(max_boxes):
        if pos == size:
            return None
        if size - pos < 8:
            return f"{size - pos} stray bytes after the last box"
        fh.seek(pos)
        head = fh.read(16)
        box_size = int.from_bytes(head[0:4], "big")
        kind = head[4:8]
        if box_size == 1:
            if len(head) < 16:
                return "a box header is cut off"
            box_size = int.from_bytes(head[8:16], "big")
        elif box_size == 0:
            box_size = size - pos
        if box_size < 8:
            return f"box {kind!r} at byte {pos} has an impossible size {box_size}"
        if pos + box_size > size:
            return f"box {kind.decode('latin-1')!r} at byte {pos} runs past the end of the file (truncated)"
        pos += box_size
    return "too many top-level boxes"

"""Sparse index files of segments, so opening a big log does not re-read every segment.

``<base>.index`` sits next to ``<base>.log``: the segment's end offset and size when the index was
written, and the (offset, position) entries of the in-memory sparse index, closed by a CRC32C. The
writer writes one when it seals a segment (rolls past it) and, for the active segment, when it
closes cleanly. It is a cache: a missing or damaged one is ignored and the segment scanned. A sealed
segment's index must match its size exactly; the active segment's covers a prefix, and only the
bytes after it (appended since the last clean close) are scanned, with CRCs, on open. Reads check
every record's CRC either way.
"""

from __future__ import annotations

import struct
from array import array

import crc32c

from .fsutil import atomic_write

__all__ = ["index_name", "read_index", "write_index"]

MAGIC = b"RLIDX001"
_HEAD = struct.Struct("<8sQQQQ")  # magic, base offset, end offset, segment size, entries
_CRC = struct.Struct("<I")


def index_name(base: int) -> str:
    return f"{base:020d}.index"


def write_index(
    path: str, *, base: int, end: int, size: int, idx_off: array[int], idx_pos: array[int]
) -> None:
    body = _HEAD.pack(MAGIC, base, end, size, len(idx_off)) + idx_off.tobytes() + idx_pos.tobytes()
    atomic_write(path, body + _CRC.pack(crc32c.crc32c(body)))


def read_index(
    path: str, *, base: int, size: int, exact: bool
) -> tuple[int, int, array[int], array[int]] | None:
    """``(end offset, indexed size, index offsets, index positions)``, or None when it cannot be trusted.

    ``exact``: the index must cover the whole segment of ``size`` bytes (else: a prefix of it).
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    if len(data) < _HEAD.size + _CRC.size:
        return None
    body = data[: -_CRC.size]
    if crc32c.crc32c(body) != _CRC.unpack_from(data, len(body))[0]:
        return None
    magic, b, end, sz, n = _HEAD.unpack_from(body)
    if magic != MAGIC or b != base or len(body) != _HEAD.size + 16 * n:
        return None
    if sz > size or (exact and sz != size):
        return None
    idx_off, idx_pos = array("q"), array("q")
    idx_off.frombytes(body[_HEAD.size : _HEAD.size + 8 * n])
    idx_pos.frombytes(body[_HEAD.size + 8 * n :])
    return end, sz, idx_off, idx_pos

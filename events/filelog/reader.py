"""Reads of one partition: locate an offset, decode chunks of frames, stop before damage; verify.

Readers run in executor threads: they snapshot the segment list and visible sizes under the
partition's lock, then read with ``os.pread`` (no shared file position) without holding it.
"""

from __future__ import annotations

import bisect
import os
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import CorruptRecordError, OffsetOutOfRangeError
from ..log import Record
from .fsutil import read_file
from .segment import HEADER, HEADER_SIZE, MAX_PAYLOAD, BadSpan, decode_frames, resync, scan

if TYPE_CHECKING:
    from .partition import Partition, Segment

__all__ = ["CHUNK_MAX", "CHUNK_MIN", "VerifyReport", "read_records", "verify_partition"]

CHUNK_MIN = 64 * 1024
CHUNK_MAX = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Result of checking every frame of a partition: ``first_bad`` is None when all are intact."""

    partition: int
    start: int
    end: int
    records: int
    first_bad: int | None = None
    detail: str | None = None
    path: str | None = None


def read_records(part: Partition, offset: int, max_records: int) -> list[Record]:
    """Records from ``offset`` on (at most ``max_records``), stopping before damage.

    Raises ``CorruptRecordError`` when the very first record asked for is damaged, and
    ``OffsetOutOfRangeError`` below the first retained offset or past the end.
    """
    with part.lock:
        snap = [(s, s.size, s.end) for s in part.segments]
    start, end = snap[0][0].base, snap[-1][2]
    if offset < start or offset > end:
        raise OffsetOutOfRangeError(partition=part.number, offset=offset, start=start, end=end)
    out: list[Record] = []
    bases = [s.base for s, _, _ in snap]
    while len(out) < max_records and offset < end:
        seg, size, seg_end = snap[bisect.bisect_right(bases, offset) - 1]
        span = seg.span_at(offset)
        if span is not None or offset >= seg_end:
            if out:
                break
            detail = (f"{span.detail} (damaged offsets {span.start}..{span.end - 1})" if span
                      else "offset missing between two segments")
            raise _corrupt(part, offset, seg, detail)
        offset = _read_segment(part, seg, size, seg_end, offset, max_records, out)
        if offset < seg_end and len(out) < max_records:
            break  # stopped before damage
    return out

def _corrupt(part: Partition, offset: int, seg: Segment, detail: str) -> CorruptRecordError:
    return CorruptRecordError(partition=part.number, offset=offset, detail=detail, path=seg.path)

def _read_segment(
    part: Partition, seg: Segment, size: int, seg_end: int, offset: int, max_records: int, out: list[Record]
) -> int:
    pos = _locate(part, seg, size, offset)
    avg = max(1, size // max(1, seg_end - seg.base))
    want_min = CHUNK_MIN
    while len(out) < max_records and offset < seg_end:
        guess = min(CHUNK_MAX, (max_records - len(out)) * avg + HEADER_SIZE)
        want = min(size - pos, max(want_min, guess))
        buf = os.pread(seg.fd, want, pos)
        p, offset, damage = decode_frames(buf, 0, offset, part.number, max_records - len(out), out)
        if damage is None and p == 0:  # one frame larger than the chunk: read it whole next
            need = HEADER_SIZE + HEADER.unpack_from(buf, 0)[0] if len(buf) >= HEADER_SIZE else 0
            if need > size - pos:
                damage = f"record of {need} bytes runs past the end of the segment's records"
            elif need <= len(buf):
                damage = "segment is shorter than its indexed records (truncated underneath the log?)"
            else:
                want_min = need
        if damage is not None:
            if out:
                return offset
            raise _corrupt(part, offset, seg, damage)
        pos += p
    return offset

def _locate(part: Partition, seg: Segment, size: int, offset: int) -> int:
    """File position of the frame of ``offset``: nearest sparse index entry, then walk headers.

    A damaged frame on the way (found only now when the segment was opened from its index
    file) is stepped over by resynchronising on the next intact frame; it is recorded as a
    bad span, and ``offset`` inside it raises ``CorruptRecordError``.
    """
    j = bisect.bisect_right(seg.idx_off, offset) - 1
    if j < 0:
        raise _corrupt(part, offset, seg, "no intact record before this offset in its segment")
    off, pos = seg.idx_off[j], seg.idx_pos[j]
    buf, bpos = b"", pos
    while off < offset:
        p = pos - bpos
        if p + HEADER_SIZE > len(buf):
            buf, bpos, p = os.pread(seg.fd, min(size - pos, CHUNK_MIN), pos), pos, 0
        damage = None
        if p + HEADER_SIZE > len(buf):
            damage = "short header (record cut off)"
        else:
            length, _, field = HEADER.unpack_from(buf, p)
            if length == 0 or length > MAX_PAYLOAD or pos + HEADER_SIZE + length > size:
                damage = f"invalid record length {length}"
            elif field != off:
                damage = f"offset field says {field}, expected {off}"
        if damage is None:
            pos += HEADER_SIZE + length
            off += 1
            continue
        data = read_file(seg.fd, pos, size - pos)
        found = resync(data, 0, off)
        end = found[1] if found is not None else seg.end
        if seg.span_at(off) is None:
            seg.bad.append(BadSpan(start=off, end=end, pos=pos, detail=damage))
        if found is None or found[1] > offset:
            raise _corrupt(part, offset, seg, f"{damage} (damaged offsets {off}..{end - 1})")
        pos, off = pos + found[0], found[1]
        buf, bpos = b"", pos
    return pos


def verify_partition(part: Partition, progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Check the CRC and framing of every retained record of ``part``, reading the files afresh."""
    with part.lock:
        snap = [(s, s.end) for s in part.segments]
    start, end = snap[0][0].base, snap[-1][1]
    records = 0
    for i, (seg, seg_end) in enumerate(snap):
        size = os.fstat(seg.fd).st_size
        data = read_file(seg.fd, 0, size)
        res = scan(data, buf_pos=0, offset=seg.base, base=seg.base, stride=1 << 62, verify=True,
                   idx_off=array("q"), idx_pos=array("q"))
        records += res.count
        if progress is not None:
            progress(size)
        next_base = snap[i + 1][0].base if i + 1 < len(snap) else None
        if res.bad:
            b = res.bad[0]
            return VerifyReport(part.number, start, end, records, b.start, b.detail, seg.path)
        if res.tail is not None and (next_base is not None or res.tail.offset < seg_end):
            t = res.tail
            return VerifyReport(part.number, start, end, records, t.offset, t.detail, seg.path)
        if next_base is not None and res.next_offset != next_base:
            detail = f"segment ends at offset {res.next_offset}, the next starts at {next_base}"
            return VerifyReport(part.number, start, end, records, res.next_offset, detail, seg.path)
    return VerifyReport(part.number, start, end, records)

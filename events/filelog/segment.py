"""Record framing of the file log: frame encoding, scanning with recovery, and the lean decode loop.

A frame is ``[u32 length][u32 crc][u64 offset][payload]`` (little endian). ``crc`` is CRC32C over the
offset field and the payload, so a frame that landed in the wrong place, or whose length field was
damaged, fails the check just like a flipped payload bit. ``length`` is never 0 (an event's
MessagePack encoding is never empty), which is what makes a zero-filled tail invalid.

Pure functions over bytes: no file IO here (partition.py owns the files).
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, field

import crc32c
import msgspec

from ..log import Record
from ..schema import Event

__all__ = [
    "HEADER",
    "HEADER_SIZE",
    "MAX_PAYLOAD",
    "OFFSET",
    "BadSpan",
    "ScanResult",
    "TailDamage",
    "check_frame",
    "decode_frames",
    "encode_frame",
    "resync",
    "scan",
    "segment_name",
]

HEADER = struct.Struct("<IIQ")
HEADER_SIZE = HEADER.size
#: The largest payload a frame may carry; larger events are rejected at append time.
MAX_PAYLOAD = 16 * 1024 * 1024
#: How many offsets past a damaged frame ``resync`` looks for the next intact frame.
RESYNC_WINDOW = 256

OFFSET = struct.Struct("<Q")
_crc = crc32c.crc32c


def segment_name(base: int) -> str:
    """File name of the segment whose first record has offset ``base`` (sorts by offset)."""
    return f"{base:020d}.log"


def encode_frame(out: bytearray, offset: int, payload: bytes) -> int:
    """Append the frame of ``payload`` at ``offset`` to ``out``; returns the frame's size."""
    off = OFFSET.pack(offset)
    out += HEADER.pack(len(payload), _crc(payload, _crc(off)), offset)
    out += payload
    return HEADER_SIZE + len(payload)


def check_frame(buf: bytes | memoryview, p: int, offset: int | None, verify: bool = True) -> str | None:
    """Why the frame at ``buf[p:]`` is not a valid record (``None`` when it is).

    ``offset`` is the offset the frame must carry (``None`` accepts any); ``verify`` checks the CRC.
    """
    n = len(buf)
    if p + HEADER_SIZE > n:
        return "short header (record cut off)"
    length, crc, off = HEADER.unpack_from(buf, p)
    if length == 0 or length > MAX_PAYLOAD:
        return f"invalid record length {length}"
    end = p + HEADER_SIZE + length
    if end > n:
        return "short payload (record cut off)"
    if offset is not None and off != offset:
        return f"offset field says {off}, expected {offset}"
    if verify and _crc(memoryview(buf)[p + 8 : end]) != crc:
        return "CRC32C mismatch"
    return None


def resync(buf: bytes | memoryview, p: int, offset: int) -> tuple[int, int] | None:
    """Position and offset of the first intact frame after a damaged one at ``p`` (offset ``offset``).

    Looks for the encoded offset fields ``offset+1 .. offset+RESYNC_WINDOW`` and accepts the first
    occurrence that is a whole frame with a matching CRC. ``None``: nothing intact follows.
    """
    data = buf if isinstance(buf, bytes) else bytes(buf)
    for k in range(1, RESYNC_WINDOW + 1):
        needle = OFFSET.pack(offset + k)
        j = data.find(needle, p + 9)
        while j != -1:
            q = j - 8
            if check_frame(data, q, offset + k) is None:
                return q, offset + k
            j = data.find(needle, j + 1)
    return None


@dataclass(slots=True)
class BadSpan:
    """Offsets ``[start, end)`` that cannot be read: the frame at file position ``pos`` is damaged."""

    start: int
    end: int
    pos: int
    detail: str


@dataclass(slots=True)
class TailDamage:
    """An invalid tail with nothing intact after it: a torn write (or, for a reader, one in progress)."""

    pos: int
    offset: int
    detail: str
    torn: bool  # consistent with a cut-off write: cut short, last frame, or zero-filled


@dataclass(slots=True)
class ScanResult:
    end_pos: int  # file position just after the last intact frame
    next_offset: int  # offset just after the last intact frame
    count: int = 0  # intact frames seen
    bad: list[BadSpan] = field(default_factory=list)
    tail: TailDamage | None = None


def _is_torn(buf: bytes | memoryview, p: int) -> bool:
    n = len(buf)
    if p + HEADER_SIZE > n:
        return True
    length = HEADER.unpack_from(buf, p)[0]
    if length != 0 and p + HEADER_SIZE + length >= n:
        return True  # cut off, or the very last frame (a CRC mismatch at the tail)
    tail = bytes(buf[p:])
    return tail.count(0) == len(tail)


def scan(
    buf: bytes | memoryview,
    *,
    buf_pos: int,
    offset: int,
    base: int,
    stride: int,
    verify: bool,
    idx_off: array[int],
    idx_pos: array[int],
) -> ScanResult:
    """Walk the frames of ``buf`` (file bytes starting at file position ``buf_pos``).

    The first frame must carry ``offset``. Index entries (offset, file position) are appended for
    every offset with ``(offset - base) % stride == 0`` and for the first frame after damage.
    ``verify`` checks every CRC (recovery of the active segment, verify); without it only framing and
    offset fields are checked (fast open of sealed segments; reads always check CRCs).
    Damage followed by intact frames becomes a ``BadSpan``; damage with nothing intact after it
    ends the scan as ``tail``.
    """
    n = len(buf)
    p = 0
    unpack = HEADER.unpack_from
    mv = memoryview(buf)
    res = ScanResult(end_pos=buf_pos, next_offset=offset)
    count = 0
    force_index = False
    while p < n:
        detail = None
        if p + HEADER_SIZE > n:
            detail = "short header (record cut off)"
        else:
            length, crc, off = unpack(buf, p)
            end = p + HEADER_SIZE + length
            if length == 0 or length > MAX_PAYLOAD:
                detail = f"invalid record length {length}"
            elif end > n:
                detail = "short payload (record cut off)"
            elif off != offset:
                detail = f"offset field says {off}, expected {offset}"
            elif verify and _crc(mv[p + 8 : end]) != crc:
                detail = "CRC32C mismatch"
        if detail is None:
            if force_index or (offset - base) % stride == 0:
                idx_off.append(offset)
                idx_pos.append(buf_pos + p)
                force_index = False
            p = end
            offset += 1
            count += 1
            continue
        found = resync(buf, p, offset)
        if found is None:
            res.tail = TailDamage(pos=buf_pos + p, offset=offset, detail=detail, torn=_is_torn(buf, p))
            break
        q, next_off = found
        res.bad.append(BadSpan(start=offset, end=next_off, pos=buf_pos + p, detail=detail))
        p, offset = q, next_off
        force_index = True
    res.end_pos = buf_pos + p
    res.next_offset = offset
    res.count = count
    return res


_decoder: msgspec.msgpack.Decoder[Event] = msgspec.msgpack.Decoder(Event)


def decode_frames(
    buf: bytes, p: int, offset: int, partition: int, limit: int, out: list[Record]
) -> tuple[int, int, str | None]:
    """Decode up to ``limit`` frames of ``buf`` from position ``p`` (offset ``offset``) into ``out``.

    Returns ``(p, offset, damage)``: where decoding stopped and, when it stopped at a damaged frame,
    why. A frame cut off by the end of ``buf`` stops without damage (the caller reads further).
    This is the replay hot path: one CRC call and one decode per record, no copies, no syscalls.
    """
    n = len(buf)
    mv = memoryview(buf)
    unpack = HEADER.unpack_from
    crc = _crc
    decode = _decoder.decode
    append = out.append
    record = Record
    while limit > 0 and p + HEADER_SIZE <= n:
        length, c, off = unpack(buf, p)
        end = p + HEADER_SIZE + length
        if length == 0 or length > MAX_PAYLOAD:
            return p, offset, f"invalid record length {length}"
        if end > n:
            break
        if off != offset:
            return p, offset, f"offset field says {off}, expected {offset}"
        if crc(mv[p + 8 : end]) != c:
            return p, offset, "CRC32C mismatch"
        try:
            event = decode(mv[p + HEADER_SIZE : end])
        except msgspec.DecodeError as exc:
            return p, offset, f"payload does not decode: {exc}"
        append(record(partition, offset, event))
        p = end
        offset += 1
        limit -= 1
    return p, offset, None

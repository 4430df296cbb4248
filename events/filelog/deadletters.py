"""Dead letters of the file log: DIR/_deadletter/letters.log, CRC-framed like the partitions.

Each ``dead_letter`` call appends one frame (offset field = its sequence number) under an ``flock``
of the file and fsyncs before returning, so processes that consume the log read-only can park
letters too. A torn tail left by a crash is truncated by the next append and ignored by reads.
"""

from __future__ import annotations

import fcntl
import os
from array import array

import msgspec

from ..errors import CorruptRecordError
from ..log import DeadLetter
from .fsutil import fsync_dir, write_all
from .segment import HEADER, HEADER_SIZE, encode_frame, scan

__all__ = ["DeadLetterStore"]

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[DeadLetter] = msgspec.msgpack.Decoder(DeadLetter)


class DeadLetterStore:
    def __init__(self, directory: str) -> None:
        self.dir = os.path.join(directory, "_deadletter")
        self.path = os.path.join(self.dir, "letters.log")
        self._end = 0  # known-good prefix of the file (bytes) and the letters in it
        self._count = 0

    def _scan(self, data: bytes, start: int, count: int, *, partial: bool) -> tuple[int, int]:
        res = scan(data, buf_pos=start, offset=count, base=count, stride=1 << 62, verify=True,
                   idx_off=array("q"), idx_pos=array("q"))
        damage = res.bad[0] if res.bad else None
        tail = res.tail if res.tail is not None and not res.tail.torn and not partial else None
        if damage is not None or tail is not None:
            seq = damage.start if damage is not None else tail.offset  # type: ignore[union-attr]
            detail = damage.detail if damage is not None else tail.detail  # type: ignore[union-attr]
            raise CorruptRecordError(partition=-1, offset=seq, path=self.path,
                                     detail=f"dead letter #{seq}: {detail}")
        return res.end_pos, res.next_offset

    def append(self, letter: DeadLetter) -> None:
        """Durably append one letter (blocking: run it in an executor thread)."""
        payload = _encoder.encode(letter)
        if not os.path.isdir(self.dir):
            os.makedirs(self.dir, exist_ok=True)
            fsync_dir(os.path.dirname(self.dir))
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size == 0:
                fsync_dir(self.dir)
            if size < self._end:
                self._end = self._count = 0
            if size != self._end:
                data = os.pread(fd, size - self._end, self._end)
                self._end, self._count = self._scan(data, self._end, self._count, partial=False)
                if self._end < size:
                    os.ftruncate(fd, self._end)  # a torn tail from a crashed writer
            frame = bytearray()
            encode_frame(frame, self._count, payload)
            write_all(fd, frame)
            os.fsync(fd)
            self._end += len(frame)
            self._count += 1
        finally:
            os.close(fd)  # releases the flock

    def read(self, group: str | None = None) -> list[DeadLetter]:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        end, _ = self._scan(data, 0, 0, partial=True)
        out = []
        p = 0
        while p < end:
            length = HEADER.unpack_from(data, p)[0]
            letter = _decoder.decode(memoryview(data)[p + HEADER_SIZE : p + HEADER_SIZE + length])
            if group is None or letter.group == group:
                out.append(letter)
            p += HEADER_SIZE + length
        return out

"""One partition of the file log: its segment files, recovery, staging and group-commit writes, retention.

Files: ``DIR/pNNN/<base offset, 20 digits>.log``, one per segment; the last one is active. Every
segment has an in-memory sparse index (offset → file position every ``STRIDE`` records), loaded
from its ``.index`` file (index.py) or built by scanning on open, so a read from any retained
offset seeks straight to it (reads and verify live in reader.py).

Threads: the event loop thread stages frames (``stage``/``take``); one executor thread at a time
writes them (``commit``); readers run in executor threads. ``lock`` guards the segment list and
their visible sizes; readers snapshot them and then read without it.
"""
from __future__ import annotations

import contextlib
import os
import threading
import weakref
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

import crc32c

from ..errors import CorruptRecordError
from ..log import Record
from .fsutil import fsync_dir, read_file, write_all
from .index import index_name, read_index, write_index
from .reader import VerifyReport, read_records, verify_partition
from .segment import (
    HEADER,
    HEADER_SIZE,
    OFFSET,
    BadSpan,
    scan,
    segment_name,
)

__all__ = ["STRIDE", "Partition", "Segment", "Staged", "list_bases"]

STRIDE = 32

Progress = Callable[[int], None]


class Segment:
    """One segment file: visible size and offsets, sparse index, known damage, a read descriptor."""

    __slots__ = ("__weakref__", "_closer", "bad", "base", "end", "fd", "final", "idx_off", "idx_pos", "path",
                 "size")

    def __init__(self, base: int, path: str) -> None:
        self.base = base
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)
        # closed when the last snapshot holding it is gone (a reader may still use a deleted segment)
        self._closer = weakref.finalize(self, os.close, self.fd)
        self.size = 0  # bytes of intact, visible frames
        self.end = base  # offset after the last intact, visible frame
        self.idx_off: array[int] = array("q")
        self.idx_pos: array[int] = array("q")
        self.bad: list[BadSpan] = []
        self.final = False  # no more bytes will be indexed (a follower's view of a sealed segment)

    def span_at(self, offset: int) -> BadSpan | None:
        for span in self.bad:
            if span.start <= offset < span.end:
                return span
        return None

    def close(self) -> None:
        self._closer()


@dataclass(slots=True)
class Staged:
    """Frames staged for one segment by the event loop, written by the next group commit."""

    base: int
    new_segment: bool
    data: bytearray = field(default_factory=bytearray)
    count: int = 0
    index: list[tuple[int, int]] = field(default_factory=list)  # (offset, position in segment)


def list_bases(directory: str) -> list[int]:
    bases = []
    for name in os.listdir(directory):
        stem, dot, ext = name.partition(".")
        if dot and ext == "log" and stem.isdigit():
            bases.append(int(stem))
    return sorted(bases)


class Partition:
    """Segments of one partition; writable (owns the tail) or a follower that re-scans new bytes."""

    def __init__(
        self, number: int, directory: str, *, writable: bool, segment_bytes: int, retention_bytes: int
    ) -> None:
        self.number = number
        self.dir = directory
        self.writable = writable
        self.segment_bytes = segment_bytes
        self.retention_bytes = retention_bytes
        self.lock = threading.Lock()
        self.segments: list[Segment] = []
        self._wfd: int | None = None
        # staging state (event loop thread only)
        self._next = 0
        self._active_base = 0
        self._staged_size = 0
        self._staged: list[Staged] = []

    # ------------------------------------------------------------------------------ open, recover

    def open(self) -> None:
        """Scan every segment and build the index; a writer truncates a torn tail of the last one."""
        if self.writable:
            os.makedirs(self.dir, exist_ok=True)
        bases = list_bases(self.dir)
        if self.writable:
            bases = self._first_segment(bases)
        for i, base in enumerate(bases):
            seg = Segment(base, os.path.join(self.dir, segment_name(base)))
            last = i == len(bases) - 1
            next_base = None if last else bases[i + 1]
            self._scan_segment(seg, next_base=next_base, verify=last)
            seg.final = not last
            self.segments.append(seg)
        if self.writable:
            last_seg = self.segments[-1]
            self._wfd = os.open(last_seg.path, os.O_WRONLY | os.O_APPEND)
            self._next = last_seg.end
            self._active_base = last_seg.base
            self._staged_size = last_seg.size

    def _first_segment(self, bases: list[int]) -> list[int]:
        # An empty last segment (a roll killed before its first write) is kept as the active one:
        # its base is the previous segment's end, and followers may already have seen it.
        if not bases:
            fd = os.open(os.path.join(self.dir, segment_name(0)), os.O_WRONLY | os.O_CREAT, 0o644)
            os.close(fd)
            fsync_dir(self.dir)
            return [0]
        return bases

    def _scan_segment(self, seg: Segment, *, next_base: int | None, verify: bool) -> None:
        size = os.fstat(seg.fd).st_size
        start, offset = 0, seg.base
        loaded = read_index(self._index_path(seg.base), base=seg.base, size=size, exact=next_base is not None)
        if loaded is not None:
            seg.end, seg.size, seg.idx_off, seg.idx_pos = loaded
            if next_base is not None:
                self._check_sealed(seg, next_base, res_end=seg.end)
                return
            start, offset = seg.size, seg.end  # the active segment: scan what came after the index
        data = read_file(seg.fd, start, size - start)
        res = scan(data, buf_pos=start, offset=offset, base=seg.base, stride=STRIDE, verify=verify,
                   idx_off=seg.idx_off, idx_pos=seg.idx_pos)
        seg.bad.extend(res.bad)
        seg.size, seg.end = res.end_pos, res.next_offset
        tail = res.tail
        if next_base is not None:
            if tail is not None:
                seg.bad.append(BadSpan(start=tail.offset, end=max(next_base, tail.offset + 1), pos=tail.pos,
                                       detail=tail.detail))
            self._check_sealed(seg, next_base, res_end=res.next_offset)
            if self.writable and not seg.bad:
                self._write_index(seg)
            return
        if tail is not None and self.writable:
            if not tail.torn:
                raise CorruptRecordError(
                    partition=self.number, offset=tail.offset, path=seg.path,
                    detail=f"{tail.detail}, followed by unreadable bytes up to the end of the active "
                    "segment (not a torn write; refusing to truncate)",
                )
            os.truncate(seg.path, tail.pos)
            fd = os.open(seg.path, os.O_WRONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _check_sealed(self, seg: Segment, next_base: int, *, res_end: int) -> None:
        if res_end > next_base:
            raise CorruptRecordError(
                partition=self.number, offset=next_base, path=seg.path,
                detail=f"segment holds offsets up to {res_end - 1}, the next starts at {next_base}",
            )
        if seg.end < next_base and seg.span_at(seg.end) is None:
            detail = f"segment ends at offset {seg.end}, the next starts at {next_base}"
            seg.bad.append(BadSpan(start=seg.end, end=next_base, pos=seg.size, detail=detail))

    def _index_path(self, base: int) -> str:
        return os.path.join(self.dir, index_name(base))

    def _write_index(self, seg: Segment) -> None:
        write_index(self._index_path(seg.base), base=seg.base, end=seg.end, size=seg.size,
                    idx_off=seg.idx_off, idx_pos=seg.idx_pos)

    def refresh(self) -> None:
        """Follower: drop segments retention deleted, add new ones, index bytes the writer appended."""
        if self.writable:
            return
        with self.lock:
            bases = list_bases(self.dir)
            on_disk = set(bases)
            known = self.segments[-1].base if self.segments else -1
            for base in bases:
                if base > known:
                    try:
                        self.segments.append(Segment(base, os.path.join(self.dir, segment_name(base))))
                    except FileNotFoundError:
                        continue
            while len(self.segments) > 1 and self.segments[0].base not in on_disk:
                self.segments.pop(0)  # deleted by the writer's retention
            for i, seg in enumerate(self.segments):
                nxt = self.segments[i + 1].base if i + 1 < len(self.segments) else None
                if seg.final:
                    continue
                size = os.fstat(seg.fd).st_size
                if size > seg.size:
                    self._scan_growth(seg, size)
                if nxt is not None:
                    # the writer creates a segment only after finishing the previous one: this is final
                    seg.final = True
                    if seg.end < nxt:
                        seg.bad.append(BadSpan(start=seg.end, end=nxt, pos=seg.size,
                                               detail="segment ends early (torn or damaged)"))

    def _scan_growth(self, seg: Segment, size: int) -> None:
        data = read_file(seg.fd, seg.size, size - seg.size)
        res = scan(data, buf_pos=seg.size, offset=seg.end, base=seg.base, stride=STRIDE, verify=True,
                   idx_off=seg.idx_off, idx_pos=seg.idx_pos)
        seg.bad.extend(res.bad)
        seg.size, seg.end = res.end_pos, res.next_offset

    # ------------------------------------------------------------------------------------ queries

    def bounds(self) -> tuple[int, int]:
        """(first retained offset, offset after the last visible record)."""
        with self.lock:
            return self.segments[0].base, self.segments[-1].end

    def size_bytes(self) -> int:
        with self.lock:
            return sum(s.size for s in self.segments)

    # ---------------------------------------------------------------------------- write (writer)

    def stage(self, payloads: list[bytes]) -> int:
        """Frame ``payloads`` at the next offsets into the staging buffer; returns the first offset.

        Event loop thread only. Rolls to a new segment (base = the frame's offset) when a frame
        would push the active one past ``segment_bytes``.
        """
        first = offset = self._next
        staged = self._staged
        if staged:
            chunk = staged[-1]
        else:
            chunk = Staged(base=self._active_base, new_segment=False)
            staged.append(chunk)
        data, base, size, limit = chunk.data, chunk.base, self._staged_size, self.segment_bytes
        pack, pack_offset, crc = HEADER.pack, OFFSET.pack, crc32c.crc32c
        for payload in payloads:
            length = len(payload)
            if size and size + HEADER_SIZE + length > limit:
                chunk.count += offset - max(first, base)
                chunk = Staged(base=offset, new_segment=True)
                staged.append(chunk)
                data, base, size = chunk.data, offset, 0
                self._active_base = offset
            if (offset - base) % STRIDE == 0:
                chunk.index.append((offset, size))
            data += pack(length, crc(payload, crc(pack_offset(offset))), offset)
            data += payload
            size += HEADER_SIZE + length
            offset += 1
        chunk.count += offset - max(first, base)
        self._staged_size = size
        self._next = offset
        return first

    def take(self) -> list[Staged]:
        staged, self._staged = self._staged, []
        return staged

    def commit(self, staged: list[Staged]) -> list[str]:
        """Write staged frames, fsync, then make them visible and apply retention (executor thread).

        Returns the paths of segments deleted by retention.
        """
        assert self._wfd is not None
        to_sync = [self._wfd]
        new: dict[int, Segment] = {}
        for chunk in staged:
            if chunk.new_segment:
                path = os.path.join(self.dir, segment_name(chunk.base))
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
                self._wfd = fd
                to_sync.append(fd)
                new[chunk.base] = Segment(chunk.base, path)
            write_all(self._wfd, chunk.data)
        for fd in to_sync:
            os.fdatasync(fd)
        if new:
            fsync_dir(self.dir)
            for fd in to_sync[:-1]:
                os.close(fd)
        with self.lock:
            for chunk in staged:
                if chunk.new_segment:
                    self.segments.append(new[chunk.base])
                seg = self.segments[-1]
                for off, pos in chunk.index:
                    seg.idx_off.append(off)
                    seg.idx_pos.append(pos)
                seg.size += len(chunk.data)
                seg.end += chunk.count
            sealed = self.segments[-len(new) - 1 : -1] if new else []
            doomed = self._retain()
        for seg in sealed:
            if not seg.bad:
                self._write_index(seg)
        for seg in doomed:
            for path in (seg.path, self._index_path(seg.base)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        if doomed:
            fsync_dir(self.dir)
        return [s.path for s in doomed]

    def _retain(self) -> list[Segment]:
        if self.retention_bytes < 0:
            return []
        total = sum(s.size for s in self.segments)
        doomed = []
        while len(self.segments) > 1 and total > self.retention_bytes:
            seg = self.segments.pop(0)
            total -= seg.size
            doomed.append(seg)
        return doomed

    # ---------------------------------------------------------------------------- reads, verify

    def read(self, offset: int, max_records: int) -> list[Record]:
        """Records from ``offset`` on (at most ``max_records``); see ``reader.read_records``."""
        return read_records(self, offset, max_records)

    def verify(self, progress: Progress | None = None) -> VerifyReport:
        """Check the CRC and framing of every retained record, reading the files afresh."""
        self.refresh()
        return verify_partition(self, progress)

    def close(self) -> None:
        """Close the files; a writer first indexes its active segment, so the next open is quick."""
        if self._wfd is not None:
            os.close(self._wfd)
            self._wfd = None
            with self.lock:
                active = self.segments[-1] if self.segments else None
            if active is not None and not active.bad and not self._staged:
                with contextlib.suppress(OSError):  # only a cache: the next open scans instead
                    self._write_index(active)
        with self.lock:
            for seg in self.segments:
                seg.close()
            self.segments = []

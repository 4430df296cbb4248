"""Hostile MP4s for the probe corpus: rewrite the H.264 SPS in ``avcC`` to declare huge dimensions."""

from __future__ import annotations

import struct

__all__ = ["declare_dimensions"]


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | ((self.data[self.pos // 8] >> (7 - self.pos % 8)) & 1)
            self.pos += 1
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.u(zeros)


class _Writer:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, v: int) -> None:
        self.bits.extend((v >> (n - 1 - i)) & 1 for i in range(n))

    def ue(self, v: int) -> None:
        n = (v + 1).bit_length()
        self.u(n - 1, 0)
        self.u(n, v + 1)

    def rbsp(self) -> bytes:
        self.bits.append(1)
        while len(self.bits) % 8:
            self.bits.append(0)
        return bytes(int("".join(map(str, self.bits[i : i + 8])), 2) for i in range(0, len(self.bits), 8))


def _unescape(nal: bytes) -> bytes:
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def _escape(rbsp: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _rewrite_sps(sps: bytes, width: int, height: int) -> bytes:
    r = _Bits(_unescape(sps[1:]))
    w = _Writer()
    profile = r.u(8)
    w.u(8, profile)
    w.u(8, r.u(8))
    w.u(8, r.u(8))
    w.ue(r.ue())
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        chroma = r.ue()
        w.ue(chroma)
        if chroma == 3:
            w.u(1, r.u(1))
        w.ue(r.ue())
        w.ue(r.ue())
        w.u(1, r.u(1))
        if r.u(1):
            raise ValueError("scaling matrices not supported by this test helper")
        w.u(1, 0)
    w.ue(r.ue())  # log2_max_frame_num_minus4
    poc = r.ue()
    w.ue(poc)
    if poc == 0:
        w.ue(r.ue())
    elif poc == 1:
        raise ValueError("poc type 1 not supported by this test helper")
    w.ue(r.ue())  # max_num_ref_frames
    w.u(1, r.u(1))
    r.ue()
    r.ue()
    w.ue(width // 16 - 1)
    w.ue(height // 16 - 1)
    w.u(1, 1)  # frame_mbs_only
    w.u(1, 1)  # direct_8x8_inference
    w.u(1, 0)  # no cropping
    w.u(1, 0)  # no VUI
    return sps[:1] + _escape(w.rbsp())


def declare_dimensions(mp4: bytes, width: int, height: int) -> bytes:
    """The same file (``moov`` after ``mdat``) with an SPS declaring ``width`` x ``height``."""
    data = bytearray(mp4)
    a = data.find(b"avcC")
    box_start = a - 4
    box_size = struct.unpack_from(">I", data, box_start)[0]
    body = bytes(data[a + 4 : box_start + box_size])
    sps_len = struct.unpack_from(">H", body, 6)[0]
    sps = body[8 : 8 + sps_len]
    new_sps = _rewrite_sps(sps, width, height)
    new_body = body[:6] + struct.pack(">H", len(new_sps)) + new_sps + body[8 + sps_len :]
    delta = len(new_body) - len(body)
    new_box = struct.pack(">I", box_size + delta) + b"avcC" + new_body
    # every ancestor box of avcC grows by delta: those whose span contains it
    moov = data.find(b"moov") - 4
    if moov < a - 4 and data.find(b"mdat") - 4 > moov:
        raise ValueError("needs moov after mdat, so chunk offsets stay valid")
    for kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"avc1"):
        start = _enclosing(data, kind, box_start)
        struct.pack_into(">I", data, start, struct.unpack_from(">I", data, start)[0] + delta)
    return bytes(data[:box_start]) + new_box + bytes(data[box_start + box_size :])


def _enclosing(data: bytearray, kind: bytes, inner: int) -> int:
    best = -1
    i = data.find(kind)
    while i >= 0:
        start = i - 4
        size = struct.unpack_from(">I", data, start)[0]
        if start < inner < start + size:
            best = start
        i = data.find(kind, i + 1)
    if best < 0:
        raise ValueError(f"no {kind!r} box around byte {inner}")
    return best

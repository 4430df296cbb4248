"""Audio fingerprints with Chromaprint (copyright matching, sound identity) and their comparison.

Audio is decoded with PyAV to 16-bit mono PCM and fed to libchromaprint through pyacoustid; nothing goes
to the network. ``align_audio`` searches offsets and scores the bit-error rate of the 32-bit
sub-fingerprints, so re-encoded copies and clips cut a few seconds apart still match.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import acoustid
import av
import chromaprint
import msgspec
import numpy as np
import numpy.typing as npt

from media.probe_worker import open_options

__all__ = [
    "ITEM_S",
    "AudioFingerprint",
    "AudioMatch",
    "align_audio",
    "audio_fingerprint",
    "compare_audio",
    "decode_fingerprint",
]

SAMPLE_RATE = 11025
#: Seconds of audio per 32-bit sub-fingerprint (Chromaprint's default algorithm).
ITEM_S = 4096 / 3 / SAMPLE_RATE

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class AudioFingerprint(msgspec.Struct, frozen=True, kw_only=True):
    """Chromaprint's compressed, base64 fingerprint and the seconds of audio it covers."""

    fingerprint: str
    duration_s: float


class AudioMatch(msgspec.Struct, frozen=True, kw_only=True):
    """Best alignment: ``similarity`` in [0, 1] (1 - 2 x bit-error rate), ``offset_s`` of b against a."""

    similarity: float
    offset_s: float
    overlap_s: float


def _pcm(src: str | Path, container_format: str, max_seconds: float) -> Iterator[bytes]:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    with av.open(str(src), format=container_format, options=open_options(container_format)) as c:
        if not c.streams.audio:
            return
        limit = int(max_seconds * SAMPLE_RATE)
        fed = 0
        for frame in c.decode(c.streams.audio[0]):
            for out in resampler.resample(frame):
                data = bytes(out.planes[0])[: out.samples * 2]
                fed += out.samples
                yield data
            if fed >= limit:
                return
        for out in resampler.resample(None):
            yield bytes(out.planes[0])[: out.samples * 2]


def audio_fingerprint(
    src: str | Path, container_format: str = "mov", max_seconds: float = 600.0
) -> AudioFingerprint | None:
    """The Chromaprint fingerprint of the first audio stream, or ``None`` when there is no audible audio."""
    samples = 0

    def counted() -> Iterator[bytes]:
        nonlocal samples
        for block in _pcm(src, container_format, max_seconds):
            samples += len(block) // 2
            yield block

    raw = acoustid.fingerprint(SAMPLE_RATE, 1, counted(), maxlength=int(max_seconds))
    if samples == 0 or not raw:
        return None
    text = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
    return AudioFingerprint(fingerprint=text, duration_s=samples / SAMPLE_RATE)


def decode_fingerprint(fp: AudioFingerprint | str) -> npt.NDArray[np.uint32]:
    """The raw 32-bit sub-fingerprints of a compressed fingerprint."""
    text = fp.fingerprint if isinstance(fp, AudioFingerprint) else fp
    items, _algorithm = chromaprint.decode_fingerprint(text.encode("ascii"))
    return np.asarray(items, dtype=np.uint32)


def _ber(a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32]) -> float:
    diff = np.bitwise_xor(a, b)
    return float(_POPCOUNT[diff.view(np.uint8)].sum()) / (32 * len(a))


def align_audio(
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    max_offset_s: float = 10.0,
    min_overlap_s: float = 3.0,
) -> AudioMatch:
    """Best-scoring alignment of two raw fingerprints within ``max_offset_s``; pure.

    Offsets whose overlap is shorter than ``min_overlap_s`` or half the shorter fingerprint are skipped:
    short overlaps of unrelated audio score well by chance.
    """
    max_off = round(max_offset_s / ITEM_S)
    shorter = min(len(a), len(b))
    min_overlap = max(1, min(max(int(min_overlap_s / ITEM_S), shorter // 2), shorter))
    best = AudioMatch(similarity=0.0, offset_s=0.0, overlap_s=0.0)
    for off in range(-max_off, max_off + 1):
        # off > 0: b starts `off` items later in a's timeline (a[off:] lines up with b[0:])
        a0, b0 = (off, 0) if off >= 0 else (0, -off)
        n = min(len(a) - a0, len(b) - b0)
        if n < min_overlap:
            continue
        sim = max(0.0, 1.0 - 2.0 * _ber(a[a0 : a0 + n], b[b0 : b0 + n]))
        if sim > best.similarity:
            best = AudioMatch(similarity=sim, offset_s=off * ITEM_S, overlap_s=n * ITEM_S)
    return best


def compare_audio(a: AudioFingerprint, b: AudioFingerprint, max_offset_s: float = 10.0) -> float:
    """Similarity in [0, 1] of two fingerprints: about 0 for unrelated audio, near 1 for the same sound."""
    return align_audio(decode_fingerprint(a), decode_fingerprint(b), max_offset_s).similarity

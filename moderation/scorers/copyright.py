"""Copyright audio: the upload's Chromaprint fingerprint against the registry of protected sounds.

Matching is ``media.fingerprint.align_audio`` (bit-error rate of aligned 32-bit sub-fingerprints over
offsets up to ``max_offset_s``), so re-encoded copies and clips cut a few seconds apart still match.
Score rule: similarity ``s`` of the best protected sound maps linearly from ``floor`` (0.35; unrelated
music of similar timbre measures 0.15-0.26) to 1.0 at ``full`` (0.75; a copy re-encoded at another
bitrate and cut 3 s later measures about 0.9): ``(s - 0.35) / 0.4`` clipped to [0, 1].
A video without audio scores 0.0; an empty registry scores 0.0. Past 200 registered sounds only
candidates from the registry's sub-fingerprint index are aligned (``References.sound_candidates``).
"""

from __future__ import annotations

import numpy as np

from media.fingerprint import align_audio, decode_fingerprint

from ..inputs import ModerationInputs
from ..references import References

__all__ = ["CopyrightScorer", "similarity_score"]


def similarity_score(similarity: float, floor: float = 0.35, full: float = 0.75) -> float:
    return float(np.clip((similarity - floor) / (full - floor), 0.0, 1.0))


class CopyrightScorer:
    name = "copyright"
    version = "chromaprint-align@1"

    def __init__(self, refs: References, max_offset_s: float = 10.0) -> None:
        self.refs = refs
        self.max_offset_s = max_offset_s
        self._decoded: dict[str, np.ndarray] = {}

    def _raw(self, sound_id: str, fingerprint: str) -> np.ndarray:
        raw = self._decoded.get(sound_id)
        if raw is None:
            raw = self._decoded[sound_id] = decode_fingerprint(fingerprint)
        return raw

    def score(self, inputs: ModerationInputs) -> float | None:
        return self.assess(inputs)[0]

    def assess(self, inputs: ModerationInputs) -> tuple[float | None, str]:
        if not inputs.audio_fingerprint:
            return 0.0, "no audio" if not inputs.has_audio else "no audio fingerprint"
        upload = decode_fingerprint(inputs.audio_fingerprint)
        best, best_id, offset = 0.0, "", 0.0
        for sid in self.refs.sound_candidates(upload):
            sound = self.refs.sounds[sid]
            m = align_audio(self._raw(sid, sound.fingerprint), upload, self.max_offset_s)
            if m.similarity > best:
                best, best_id, offset = m.similarity, sid, m.offset_s
        if not best_id:
            return 0.0, ""
        sound = self.refs.sounds[best_id]
        return similarity_score(best), (
            f"matches protected sound {best_id} ({sound.title!r}, {sound.owner}) "
            f"similarity {best:.2f} at {offset:+.1f} s"
        )

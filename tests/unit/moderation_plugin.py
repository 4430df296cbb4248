"""A violence scorer plug-in loaded by ``module:Class`` in tests (share of red pixels as a toy signal)."""

from __future__ import annotations

from moderation.inputs import ModerationInputs


class RedFrames:
    """The share of strongly red pixels in the keyframes (a toy operator model for the plug-in path)."""

    name = "violence"
    version = "red-frames@test"

    def score(self, inputs: ModerationInputs) -> float | None:
        if not inputs.frames:
            return None
        shares = []
        for f in inputs.frames:
            a = f.array().astype(int)
            shares.append(float(((a[..., 0] > 150) & (a[..., 1] < 60) & (a[..., 2] < 60)).mean()))
        return max(shares)


class NotAScorer:
    pass

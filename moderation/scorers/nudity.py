"""Nudity/sexual content: NudeNet's ONNX detector (bundled in the ``nudenet`` wheel) on sampled keyframes.

The model file ``320n.onnx`` ships inside the installed ``nudenet`` package; it is located without
importing the package (whose module pulls in OpenCV) and run with onnxruntime — nothing is downloaded.
Pre-processing matches NudeNet's: pad right/bottom to a square, resize to 320x320, RGB, [0, 1], NCHW.

Score rule (documented for reviewers): each detection counts ``weight[class] x confidence``; a frame
scores its strongest detection; the video scores its strongest frame. Weights: exposed genitalia or
anus 1.0; exposed female breast or buttocks 0.9; covered genitalia, breast or buttocks 0.55
(suggestive, lands in the mature band at most); faces, feet, armpits, belly, male chest 0. Clean
frames have no weighted detection and score 0. Detections under ``min_confidence`` (0.25) are ignored.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from ..inputs import ModerationInputs

__all__ = [
    "LABELS",
    "WEIGHTS",
    "Detection",
    "Detector",
    "NudeNetDetector",
    "NudityScorer",
    "bundled_model_path",
    "frame_score",
]

LABELS: tuple[str, ...] = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)

WEIGHTS: dict[str, float] = {
    "FEMALE_GENITALIA_EXPOSED": 1.0,
    "MALE_GENITALIA_EXPOSED": 1.0,
    "ANUS_EXPOSED": 1.0,
    "FEMALE_BREAST_EXPOSED": 0.9,
    "BUTTOCKS_EXPOSED": 0.9,
    "FEMALE_GENITALIA_COVERED": 0.55,
    "FEMALE_BREAST_COVERED": 0.55,
    "BUTTOCKS_COVERED": 0.55,
    "ANUS_COVERED": 0.55,
}
_WEIGHT_VEC = np.array([WEIGHTS.get(name, 0.0) for name in LABELS], dtype=np.float32)
INPUT_SIDE = 320

#: A frame's detections: class name -> highest confidence of that class in the frame.
Detection = dict[str, float]


class Detector(Protocol):
    """Image model port: per-frame detections for a batch of RGB frames."""

    version: str

    def detect(self, frames: Sequence[npt.NDArray[np.uint8]]) -> list[Detection]: ...


def bundled_model_path() -> Path:
    """``320n.onnx`` inside the installed ``nudenet`` package (found without importing it)."""
    spec = importlib.util.find_spec("nudenet")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the 'nudenet' package is not installed; pip install nudenet==3.4.2")
    for location in spec.submodule_search_locations:
        path = Path(location) / "320n.onnx"
        if path.is_file():
            return path
    raise FileNotFoundError("nudenet is installed but its bundled 320n.onnx is missing; reinstall it")


def _preprocess(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    h, w = rgb.shape[:2]
    side = max(h, w)
    padded = np.zeros((side, side, 3), dtype=np.uint8)
    padded[:h, :w] = rgb
    img = Image.fromarray(padded).resize((INPUT_SIDE, INPUT_SIDE), Image.Resampling.BILINEAR)
    return (np.asarray(img, dtype=np.float32) / 255.0).transpose(2, 0, 1)


class NudeNetDetector:
    """NudeNet 3.4 "320n" (a YOLOv8n detector of 18 body-part classes) on onnxruntime."""

    def __init__(self, model_path: str | Path | None = None, providers: Sequence[str] | None = None) -> None:
        import onnxruntime as ort

        path = Path(model_path) if model_path else bundled_model_path()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # replicas scale out; one thread each keeps 2-core boxes sane
        options.inter_op_num_threads = 1
        available = ort.get_available_providers()
        chosen = [
            p for p in (providers or ("CUDAExecutionProvider", "CPUExecutionProvider")) if p in available
        ]
        self.session = ort.InferenceSession(str(path), options, providers=chosen)
        self.input_name = self.session.get_inputs()[0].name
        self.version = f"nudenet-320n@{_pkg_version('nudenet')}"
        self.min_confidence = 0.25

    def raw(self, frames: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        """Class confidences per frame and anchor: shape (frames, anchors, classes)."""
        batch = np.stack([_preprocess(f) for f in frames])
        (out,) = self.session.run(None, {self.input_name: batch})
        return np.asarray(out, dtype=np.float32)[:, 4:, :].transpose(0, 2, 1)

    def detect(self, frames: Sequence[npt.NDArray[np.uint8]]) -> list[Detection]:
        if not frames:
            return []
        conf = self.raw(frames)
        best = conf.max(axis=1)  # (frames, classes): the strongest anchor per class
        return [
            {LABELS[c]: float(row[c]) for c in np.flatnonzero(row >= self.min_confidence)} for row in best
        ]


def frame_score(detection: Detection) -> float:
    """The documented rule for one frame: the strongest ``weight x confidence``; pure."""
    return max((WEIGHTS.get(k, 0.0) * v for k, v in detection.items()), default=0.0)


def _top(detection: Detection) -> str:
    weighted = [(WEIGHTS.get(k, 0.0) * v, k) for k, v in detection.items() if WEIGHTS.get(k, 0.0) > 0]
    if not weighted:
        return ""
    s, k = max(weighted)
    return f"{k.lower()} {s:.2f}"


class NudityScorer:
    """Scores a video by its strongest keyframe; ``None`` when no keyframe could be decoded."""

    name = "nudity"

    def __init__(self, detector: Detector | None = None) -> None:
        self.detector: Detector = detector or NudeNetDetector()
        self.version = self.detector.version

    def score(self, inputs: ModerationInputs) -> float | None:
        return self.assess_batch([inputs])[0][0]

    def score_batch(self, batch: Sequence[ModerationInputs]) -> list[float | None]:
        return [s for s, _ in self.assess_batch(batch)]

    def assess_batch(self, batch: Sequence[ModerationInputs]) -> list[tuple[float | None, str]]:
        """One detector call for every frame of the batch; (score, strongest class) per video."""
        frames = [f.array() for x in batch for f in x.frames]
        detections = self.detector.detect(frames) if frames else []
        out: list[tuple[float | None, str]] = []
        i = 0
        for x in batch:
            mine = detections[i : i + len(x.frames)]
            i += len(x.frames)
            if not mine:
                out.append((None, x.frames_note or "no keyframes could be decoded"))
                continue
            strongest = max(mine, key=frame_score)
            out.append((min(1.0, frame_score(strongest)), _top(strongest)))
        return out


def _pkg_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"

"""Real models on real inputs: NudeNet on keyframes decoded from an upload, Chromaprint copyright matching,
and the ensemble behind the Serve deployment (local testing mode) following a real log."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from events import open_log
from events.ids import new_event_id, now_us
from events.schema import ProtectedSoundRegistered
from media.fingerprint import audio_fingerprint
from media.synth import make_clip, melody
from moderation.config import ModerationConfig
from moderation.ensemble import Ensemble
from moderation.inputs import ModerationInputs
from moderation.keyframes import keyframes_from_file
from moderation.policy import route
from moderation.port import LocalScoring
from moderation.references import References
from moderation.scorers.nudity import LABELS, NudeNetDetector, NudityScorer, bundled_model_path

RATE = 44100


def write_audio(path: Path, mono: np.ndarray, bitrate: int) -> Path:
    """An AAC (.m4a) file of ``mono`` at ``bitrate``."""
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("aac", rate=RATE)
        s.layout, s.bit_rate = "mono", bitrate
        for k in range(0, len(mono), 1024):
            f = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(mono[None, k : k + 1024], np.float32), "fltp", "mono"
            )
            f.sample_rate, f.pts, f.time_base = RATE, k, Fraction(1, RATE)
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    return path


def write_upload(path: Path, seconds: float, mono: np.ndarray, bitrate: int) -> Path:
    """A 360x640 H.264 video (moving colour); its audio is ``mono`` as stereo AAC at ``bitrate``."""
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 360, 640, "yuv420p"
        vs.options = {"preset": "ultrafast"}
        a = out.add_stream("aac", rate=RATE)
        a.layout, a.bit_rate = "stereo", bitrate
        for i in range(int(seconds * 30)):
            img = np.full((640, 360, 3), (i * 3) % 255, np.uint8)
            vf = av.VideoFrame.from_ndarray(img, "rgb24")
            vf.pts, vf.time_base = i, Fraction(1, 30)
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        stereo = np.stack([mono, mono]).astype(np.float32)
        for k in range(math.ceil(stereo.shape[1] / 1024)):
            af = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(stereo[:, k * 1024 : (k + 1) * 1024]), "fltp", "stereo"
            )
            af.sample_rate, af.pts, af.time_base = RATE, k * 1024, Fraction(1, RATE)
            out.mux(a.encode(af))
        out.mux(a.encode(None))
    return path


@pytest.fixture(scope="module")
def detector() -> NudeNetDetector:
    return NudeNetDetector()


def test_the_detector_is_the_model_bundled_in_the_wheel(detector: NudeNetDetector) -> None:
    path = bundled_model_path()
    assert path.name == "320n.onnx" and "site-packages/nudenet" in str(path) and path.stat().st_size > 10e6
    assert detector.version.startswith("nudenet-320n@3.4")
    out = detector.raw([np.zeros((320, 180, 3), np.uint8)])
    assert out.shape == (1, 2100, len(LABELS))  # YOLOv8 anchors x NudeNet's 18 classes


@pytest.mark.parametrize("pattern", ["shapes", "gradient"])
def test_clean_keyframes_from_an_upload_score_low(
    tmp_path: Path, detector: NudeNetDetector, pattern: str
) -> None:
    clip = make_clip(tmp_path / "up.mp4", 8, 360, 640, pattern=pattern, seed=11, gop=60)  # type: ignore[arg-type]
    frames = keyframes_from_file(clip, max_frames=8)
    assert len(frames) == 4 and all(max(f.width, f.height) == 320 for f in frames)
    conf = detector.raw([f.array() for f in frames])
    assert conf.shape[0] == 4 and float(conf.max()) < 0.25  # the model really ran; nothing it knows is there
    [(score, note)] = NudityScorer(detector).assess_batch([ModerationInputs(video_id="v", frames=frames)])
    assert score is not None and score < 0.1 and note == ""


def test_a_protected_sound_is_found_in_a_reencoded_upload_3s_later(tmp_path: Path) -> None:
    song = melody(30, seed=42)
    original = audio_fingerprint(write_audio(tmp_path / "song.m4a", song, 192_000))
    assert original is not None
    refs = References().apply_all(
        [
            ProtectedSoundRegistered(
                event_id=new_event_id(),
                ts=now_us(),
                sound_id="snd-1",
                title="Summer Hit",
                owner="Label Records",
                fingerprint=original.fingerprint,
            ),
        ]
    )
    # the upload uses the song from 3 s in, re-encoded at 64 kbps stereo under a video
    copy = write_upload(tmp_path / "copy.mp4", 15, song[3 * RATE : 18 * RATE], 64_000)
    own = make_clip(tmp_path / "own.mp4", 15, 180, 320, seed=7)  # its own melody
    ens = Ensemble(ModerationConfig(), refs)
    results = {}
    for name, path in (("copy", copy), ("own", own)):
        fp = audio_fingerprint(path)
        assert fp is not None
        results[name] = ens.score(
            ModerationInputs(
                video_id=name,
                caption="summer vibes",
                audio_fingerprint=fp.fingerprint,
                frames=keyframes_from_file(path, 4),
            )
        )
    assert results["copy"].scores["copyright"] == 1.0
    assert "snd-1" in results["copy"].notes["copyright"] and "+3.0 s" in results["copy"].notes["copyright"]
    r = route(results["copy"].scores, ModerationConfig(), results["copy"].notes)
    assert (r.decision, r.category) == ("reject", "copyright") and "Summer Hit" in r.reason
    assert results["own"].scores["copyright"] == 0.0
    r = route(results["own"].scores, ModerationConfig(), results["own"].notes)
    assert r.decision == "approve", r.reason
    assert (
        results["own"].versions["nudity"].startswith("nudenet") and results["own"].scores["violence"] is None
    )


async def test_scoring_follows_the_log_for_reference_data(tmp_path: Path) -> None:
    """The replica's path without Serve (``@serve.batch`` needs a real replica; see test_moderation_serve):
    the ensemble folds the log before scoring, so a sound registered later is matched at once."""
    log_url = f"file://{tmp_path / 'log'}"
    log = await open_log(log_url, partitions=2)
    clip = make_clip(tmp_path / "a.mp4", 6, 180, 320, seed=3, gop=60)
    fp = audio_fingerprint(clip)
    assert fp is not None
    scoring = LocalScoring(ModerationConfig(), log_url=log_url)
    frames = keyframes_from_file(clip, 4)
    abusive = ModerationInputs(video_id="a", caption="you are a stupid fucking idiot", frames=frames)
    calm = ModerationInputs(
        video_id="b", caption="a calm walk", frames=frames, audio_fingerprint=fp.fingerprint
    )
    first = [await scoring.score(x) for x in (abusive, calm)]
    assert first[0].scores["text"] > 0.95 and first[1].scores["text"] < 0.3
    assert first[1].scores["copyright"] == 0.0
    await log.append(
        [
            ProtectedSoundRegistered(
                event_id=new_event_id(),
                ts=now_us(),
                sound_id="s",
                title="T",
                owner="O",
                fingerprint=fp.fingerprint,
            )
        ]
    )
    again = await scoring.score(calm)
    assert again.scores["copyright"] == 1.0
    await scoring.close()
    await log.close()


def test_the_sound_index_finds_the_protected_sound_among_many(tmp_path: Path) -> None:
    import chromaprint

    from media.fingerprint import decode_fingerprint
    from moderation.scorers.copyright import CopyrightScorer

    song = melody(30, seed=43)
    original = audio_fingerprint(write_audio(tmp_path / "song.m4a", song, 192_000))
    copy = audio_fingerprint(write_upload(tmp_path / "copy.mp4", 12, song[3 * RATE : 15 * RATE], 64_000))
    own = audio_fingerprint(make_clip(tmp_path / "own.mp4", 12, 64, 64, seed=8))
    assert original and copy and own
    rng = np.random.default_rng(0)
    refs = References(exhaustive_sounds_below=0)  # always through the index
    events = [
        ProtectedSoundRegistered(
            event_id=f"d{i}",
            ts=1,
            sound_id=f"decoy-{i}",
            title="decoy",
            owner="x",
            fingerprint=chromaprint.encode_fingerprint(
                [int(x) for x in rng.integers(0, 2**32, 240)], 1
            ).decode(),
        )
        for i in range(300)
    ]
    events.insert(
        150,
        ProtectedSoundRegistered(
            event_id="real",
            ts=1,
            sound_id="real",
            title="Real Song",
            owner="Label",
            fingerprint=original.fingerprint,
        ),
    )
    refs.apply_all(events)
    assert refs.sound_candidates(decode_fingerprint(copy)) == ["real"]
    assert refs.sound_candidates(decode_fingerprint(own)) == []
    scorer = CopyrightScorer(refs)
    assert scorer.score(ModerationInputs(video_id="c", audio_fingerprint=copy.fingerprint)) == 1.0
    assert scorer.score(ModerationInputs(video_id="o", audio_fingerprint=own.fingerprint)) == 0.0

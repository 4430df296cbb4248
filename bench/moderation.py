"""`reel bench moderation`: the automated moderation stage per 15 s clip (keyframes -> ensemble -> policy).

Setup (not timed): ``--videos`` synthetic clips at the lowest rendition's size (360x640, a keyframe
every 2 s like the pipeline's HLS segments), their Chromaprint and pHash fingerprints (the pipeline
computes those while transcoding), ``--sounds`` protected sounds and ``--seen`` earlier uploads'
pHashes, so copyright and near-duplicate matching do real work; the models are loaded and warmed
once. Timed per video: decoding up to 8 keyframes, every scorer (NudeNet on the frames,
the text model and word lists, copyright alignment, spam heuristics) and the routing policy, in one
process. Prints ``videos_per_s`` and latency percentiles.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

__all__ = ["moderation_command", "run_moderation_bench"]

CAPTIONS = (
    "sunset at the lake #summer",
    "my cat learns to skate",
    "new dance challenge with my sister, try it! @maria",
    "how to bake sourdough bread in 15 seconds",
    "you are a stupid idiot and everyone hates you",
    "FREE GIVEAWAY dm me https://win.example/now",
)


def run_moderation_bench(
    videos: int, seconds: float, sounds: int, seed: int = 1, seen: int = 200, debug: bool = False
) -> dict[str, Any]:
    from events.ids import now_us
    from events.schema import ProtectedSoundRegistered, VideoTranscoded
    from media.fingerprint import audio_fingerprint
    from media.probe import probe
    from media.results import ProbeResult
    from media.synth import make_clip
    from media.vfingerprint import video_fingerprint
    from moderation.config import ModerationConfig
    from moderation.ensemble import Ensemble
    from moderation.inputs import ModerationInputs
    from moderation.keyframes import keyframes_from_file
    from moderation.policy import route
    from moderation.references import References

    config = ModerationConfig()
    with tempfile.TemporaryDirectory(prefix="reel-bench-mod-") as tmp:
        root = Path(tmp)
        click.echo(f"generating {videos} clips of {seconds:g} s and {sounds} protected sounds ...", err=True)
        refs = References()
        for i in range(sounds):
            s = make_clip(root / f"s{i}.mp4", 20, 64, 64, seed=10_000 + seed + i)
            fp = audio_fingerprint(s)
            assert fp is not None
            refs.apply(
                ProtectedSoundRegistered(
                    event_id=f"s{i}",
                    ts=now_us(),
                    sound_id=f"snd-{i}",
                    title=f"Song {i}",
                    owner="Label",
                    fingerprint=fp.fingerprint,
                )
            )
        clips: list[tuple[Path, str | None, tuple[str, ...]]] = []
        for i in range(videos):
            path = make_clip(root / f"v{i}.mp4", seconds, 360, 640, seed=seed * 1000 + i, gop=60)
            audio = audio_fingerprint(path)
            probed = probe(path)
            assert isinstance(probed, ProbeResult)
            clips.append((path, audio.fingerprint if audio else None, video_fingerprint(path, probed)))
        rng = np.random.default_rng(seed)
        for i in range(seen):  # earlier uploads: a random 64-bit pHash per second of video
            fp_seen = tuple(f"{int(x):016x}" for x in rng.integers(0, 2**63, int(seconds)))
            refs.apply(
                VideoTranscoded(
                    event_id=f"t{i}",
                    ts=now_us(),
                    video_id=f"seen-{i}",
                    creator_id="other",
                    duration_ms=int(seconds * 1000),
                    width=360,
                    height=640,
                    master_playlist_key="k",
                    renditions=(),
                    video_fingerprint=fp_seen,
                )
            )
        ensemble = Ensemble(config, refs)
        t_load = time.perf_counter()
        warm = ModerationInputs(
            video_id="warm", frames=keyframes_from_file(clips[0][0], config.max_keyframes)
        )
        ensemble.score(warm)
        warm_s = time.perf_counter() - t_load
        click.echo("scoring ...", err=True)
        latencies: list[float] = []
        decisions: dict[str, int] = {}
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        for i, (path, afp_text, vfp) in enumerate(clips):
            start = time.perf_counter()
            frames = keyframes_from_file(path, config.max_keyframes, config.frame_side)
            inputs = ModerationInputs(
                video_id=f"v{i}",
                creator_id=f"c{i}",
                frames=frames,
                caption=CAPTIONS[i % len(CAPTIONS)],
                audio_fingerprint=afp_text,
                video_fingerprint=vfp,
            )
            scores = ensemble.score(inputs)
            decision = route(scores.scores, config, scores.notes).decision
            if debug:
                click.echo(f"{decision}: {scores.scores} {scores.notes}", err=True)
            latencies.append(time.perf_counter() - start)
            decisions[decision] = decisions.get(decision, 0) + 1
        total = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    lat = np.array(latencies)
    return {
        "videos": videos,
        "clip_seconds": seconds,
        "protected_sounds": sounds,
        "seen_videos": seen,
        "keyframes_per_video": config.max_keyframes,
        "videos_per_s": round(videos / total, 3),
        "p50_s": round(float(np.percentile(lat, 50)), 3),
        "p99_s": round(float(np.percentile(lat, 99)), 3),
        "max_s": round(float(lat.max()), 3),
        "cpu_s_per_video": round(cpu / videos, 3),
        "warmup_s": round(warm_s, 3),
        "decisions": decisions,
    }


@click.command(name="moderation")
@click.option("--videos", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--seconds", type=click.FloatRange(min=1), default=15.0, show_default=True, help="Clip length.")
@click.option(
    "--sounds",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Protected sounds in the copyright registry.",
)
@click.option(
    "--seen",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Previously seen videos the near-duplicate check compares against.",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def moderation_command(videos: int, seconds: float, sounds: int, seen: int, seed: int, as_json: bool) -> None:
    """Automated moderation stage per clip: keyframe decode, every scorer, routing (one process)."""
    result = run_moderation_bench(videos, seconds, sounds, seed, seen)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        click.echo(f"{key:>22}: {value}")

"""Transcode benchmark: our PyAV ladder vs the Debian ``ffmpeg`` CLI producing the same ladder, same run.

Both get the same rungs, encoder preset, bitrates, GOP, forced keyframes, segment length and AAC audio.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from media.encoders import encoder_options, pick_encoder
from media.ladder import LadderConfig, gop_frames, plan_ladder
from media.probe import probe
from media.results import ProbeResult, Rejection
from media.synth import make_clip
from media.transcode import transcode

__all__ = ["ffmpeg_ladder_command", "run_transcode_bench"]


def ffmpeg_ladder_command(src: Path, out_dir: Path, pr: ProbeResult, config: LadderConfig) -> list[str]:
    """The ffmpeg CLI equivalent of ``media.transcode.transcode`` for this source."""
    encoder = pick_encoder(config.encoder)
    fps = min(pr.fps, config.max_fps)
    rungs = plan_ladder(pr.display_width, pr.display_height, fps, config)
    gop = gop_frames(fps, config.segment_s)
    n = len(rungs)
    split = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n))
    scales = ";".join(f"[s{i}]scale={r.width}:{r.height}:flags=bicubic,format=yuv420p[v{i}]"
                      for i, r in enumerate(rungs))
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src),
           "-filter_complex", f"{split};{scales}"]
    for i in range(n):
        cmd += ["-map", f"[v{i}]"]
        if pr.has_audio:
            cmd += ["-map", "0:a:0"]
    cmd += ["-c:v", encoder, "-force_key_frames", f"expr:gte(t,n_forced*{config.segment_s:g})", "-r", f"{fps:g}"]
    for i, r in enumerate(rungs):
        for k, v in encoder_options(encoder, r, gop, config).items():
            cmd += [f"-{k}:v:{i}", v]
    if pr.has_audio:
        cmd += ["-c:a", "aac", "-b:a", f"{config.audio_bitrate_kbps}k", "-ac", "2"]
    vmap = " ".join(f"v:{i},a:{i}" if pr.has_audio else f"v:{i}" for i in range(n))
    names = " ".join(f"v:{i},a:{i},name:{r.name}" if pr.has_audio else f"v:{i},name:{r.name}"
                     for i, r in enumerate(rungs))
    del vmap
    cmd += ["-f", "hls", "-hls_time", f"{config.segment_s:g}", "-hls_playlist_type", "vod",
            "-hls_list_size", "0", "-hls_flags", "independent_segments",
            "-hls_segment_filename", str(out_dir / "%v" / "seg_%05d.ts"),
            "-master_pl_name", "master.m3u8", "-var_stream_map", names, str(out_dir / "%v" / "index.m3u8")]
    return cmd


def run_transcode_bench(seconds: float, height: int, preset: str = "veryfast", threads: int = 0,
                        vertical: bool = False, encoder: str = "libx264", keep: str | None = None) -> dict[str, object]:
    """Make a clip, transcode it with both, and return the figures."""
    width = (height * 16 // 9) // 2 * 2
    w, h = (height, width) if vertical else (width, height)
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="reel-bench-transcode-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        src = make_clip(work / "src.mp4", seconds, w, h, fps=30, audio=True, preset="ultrafast", seed=1)
        pr = probe(src)
        if isinstance(pr, Rejection):
            raise RuntimeError(f"benchmark clip rejected: {pr}")
        config = LadderConfig(preset=preset, threads=threads, encoder=encoder)
        t0 = time.perf_counter()
        result = transcode(src, work / "ours", pr, config)
        ours = time.perf_counter() - t0
        cli_dir = work / "ffmpeg"
        cli_dir.mkdir()
        cmd = ffmpeg_ladder_command(src, cli_dir, pr, config)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        cli = time.perf_counter() - t0
        ours_bytes = sum((work / "ours" / f).stat().st_size for f in result.files())
        cli_bytes = sum(p.stat().st_size for p in cli_dir.rglob("*.ts"))
        return {
            "seconds": seconds, "source": f"{w}x{h}", "rungs": [r.name for r in result.renditions],
            "encoder": result.encoder, "preset": preset, "threads": threads, "cpus": os.cpu_count(),
            "transcode_s": round(ours, 3), "realtime_factor": round(ours / seconds, 3),
            "ffmpeg_cli_s": round(cli, 3), "ratio_vs_ffmpeg": round(ours / cli, 3),
            "ours_mb": round(ours_bytes / 1e6, 2), "ffmpeg_mb": round(cli_bytes / 1e6, 2),
        }
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)

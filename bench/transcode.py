"""Transcode benchmark: our PyAV ladder vs the Debian ``ffmpeg`` CLI producing the same ladder, same run.

Both get the same rungs, encoder preset, bitrates, GOP, forced keyframes, segment length, strict decoding
and AAC audio (encoded once, muxed into every rung).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from media.ladder import LadderConfig
    from media.results import ProbeResult

__all__ = ["ffmpeg_ladder_command", "ffmpeg_ladder_dirs", "run_transcode_bench", "transcode_command"]


def _tee_escape(value: str) -> str:
    """Backslash-escape what libav's tokenisers treat specially (any escaped character is taken literally)."""
    return "".join("\\" + ch if ch in "\\'|:=[]" else ch for ch in value)


def ffmpeg_ladder_command(src: Path, out_dir: Path, pr: ProbeResult, config: LadderConfig) -> list[str]:
    """The ffmpeg CLI equivalent of ``media.transcode.transcode`` for this source.

    One decode, ``split`` + ``scale`` per rung, one libx264 encoder per rung with the same options, the audio
    encoded once (as ours) and written, through the ``tee`` muxer, into one ``hls`` muxer per rung (as ours);
    the ``hls`` muxer's own ``var_stream_map`` would make the CLI encode the same audio once per rung. The
    rung directories under ``out_dir`` must exist (``ffmpeg_ladder_dirs``).
    """
    from media.encoders import encoder_options, pick_encoder
    from media.ladder import gop_frames, plan_ladder
    from media.probe_worker import STRICT_DECODE

    encoder = pick_encoder(config.encoder)
    fps = min(pr.fps, config.max_fps)
    rungs = plan_ladder(pr.display_width, pr.display_height, fps, config)
    gop = gop_frames(fps, config.segment_s)
    n = len(rungs)
    split = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n))
    scales = ";".join(
        f"[s{i}]scale={r.width}:{r.height}:flags=bicubic,format=yuv420p[v{i}]" for i, r in enumerate(rungs)
    )
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    if config.strict_decode:  # our decoders turn concealed bitstream errors into errors; so does this one
        for k, v in STRICT_DECODE.items():
            cmd += [f"-{k}", v]
    cmd += ["-i", str(src), "-filter_complex", f"{split};{scales}"]
    for i in range(n):
        cmd += ["-map", f"[v{i}]"]
    if pr.has_audio:
        cmd += ["-map", "0:a:0"]
    cmd += [
        "-c:v",
        encoder,
        "-force_key_frames",
        f"expr:gte(t,n_forced*{config.segment_s:g})",
        "-r",
        f"{fps:g}",
    ]
    for i, r in enumerate(rungs):
        for k, v in encoder_options(encoder, r, gop, config).items():
            cmd += [f"-{k}:v:{i}", v]
    if pr.has_audio:
        cmd += ["-c:a", "aac", "-b:a", f"{config.audio_bitrate_kbps}k", "-ac", "2"]
    slaves = []
    for i, r in enumerate(rungs):
        rung_dir = out_dir / r.name
        opts = {
            "select": f"v:{i},a" if pr.has_audio else f"v:{i}",
            "f": "hls",
            "hls_time": f"{config.segment_s:g}",
            "hls_playlist_type": "vod",
            "hls_list_size": "0",
            "hls_flags": "independent_segments",
            "hls_segment_filename": str(rung_dir / "seg_%05d.ts"),
            "max_delay": "700000",  # the CLI's -muxdelay does not reach tee's slaves; ours sets the same
        }
        # Slaves are split on "|" (one unescaping), then their options on ":" and "=" (a second one).
        spec = ":".join(f"{k}={_tee_escape(_tee_escape(v))}" for k, v in opts.items())
        slaves.append(f"[{spec}]{_tee_escape(str(rung_dir / 'index.m3u8'))}")
    cmd += ["-f", "tee", "|".join(slaves)]
    return cmd


def ffmpeg_ladder_dirs(out_dir: Path, pr: ProbeResult, config: LadderConfig) -> list[Path]:
    """The rung directories ``ffmpeg_ladder_command`` writes into."""
    from media.ladder import plan_ladder

    rungs = plan_ladder(pr.display_width, pr.display_height, min(pr.fps, config.max_fps), config)
    return [out_dir / r.name for r in rungs]


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_transcode_bench(
    seconds: float,
    height: int,
    preset: str = "veryfast",
    threads: int = 0,
    vertical: bool = False,
    encoder: str = "libx264",
    keep: str | None = None,
    repeat: int = 1,
) -> dict[str, object]:
    """Make a clip, transcode it with both (``repeat`` times, interleaved), return the best of each."""
    from media.ladder import LadderConfig
    from media.probe import probe
    from media.results import Rejection
    from media.synth import make_clip
    from media.transcode import transcode

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
        load_before = round(os.getloadavg()[0], 2)
        ours_runs: list[float] = []
        cli_runs: list[float] = []
        ours_cpu: list[float] = []
        cli_cpu: list[float] = []
        for k in range(repeat):  # interleaved, so both see the same background load
            out = work / f"ours{k}"
            shutil.rmtree(out, ignore_errors=True)
            c0, t0 = _cpu(resource.RUSAGE_SELF), time.perf_counter()
            result = transcode(src, out, pr, config)
            ours_runs.append(time.perf_counter() - t0)
            ours_cpu.append(_cpu(resource.RUSAGE_SELF) - c0)
            cli_dir = work / f"ffmpeg{k}"
            shutil.rmtree(cli_dir, ignore_errors=True)
            for d in ffmpeg_ladder_dirs(cli_dir, pr, config):
                d.mkdir(parents=True)
            cmd = ffmpeg_ladder_command(src, cli_dir, pr, config)
            c0, t0 = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(cmd, check=True)
            cli_runs.append(time.perf_counter() - t0)
            cli_cpu.append(_cpu(resource.RUSAGE_CHILDREN) - c0)
        ours, cli = min(ours_runs), min(cli_runs)
        ours_bytes = sum(p.stat().st_size for p in Path(result.out_dir).rglob("*.ts"))
        cli_bytes = sum(p.stat().st_size for p in cli_dir.rglob("*.ts"))
        return {
            "seconds": seconds,
            "source": f"{w}x{h}",
            "rungs": [r.name for r in result.renditions],
            "encoder": result.encoder,
            "preset": preset,
            "threads": threads,
            "cpus": os.cpu_count(),
            "transcode_s": round(ours, 3),
            "realtime_factor": round(ours / seconds, 3),
            "ffmpeg_cli_s": round(cli, 3),
            "ratio_vs_ffmpeg": round(ours / cli, 3),
            "ours_mb": round(ours_bytes / 1e6, 2),  # MPEG-TS segments only, both
            "ffmpeg_mb": round(cli_bytes / 1e6, 2),
            "transcode_cpu_s": round(min(ours_cpu), 3),
            "ffmpeg_cli_cpu_s": round(min(cli_cpu), 3),
            "repeat": repeat,
            "transcode_runs_s": [round(x, 3) for x in ours_runs],
            "ffmpeg_cli_runs_s": [round(x, 3) for x in cli_runs],
            # Each round runs both back to back, so its ratio is the least disturbed by other load.
            "ratio_median": round(statistics.median(a / b for a, b in zip(ours_runs, cli_runs, strict=True)), 3),
            "cpu_ratio_median": round(statistics.median(a / b for a, b in zip(ours_cpu, cli_cpu, strict=True)), 3),
            "transcode_cpu_runs_s": [round(x, 3) for x in ours_cpu],
            "ffmpeg_cli_cpu_runs_s": [round(x, 3) for x in cli_cpu],
            "load_avg_1m_before": load_before,
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


@click.command(name="transcode")
@click.option("--seconds", type=click.FloatRange(min=1), default=15.0, show_default=True)
@click.option(
    "--height",
    type=click.IntRange(min=64),
    default=720,
    show_default=True,
    help="Short side of the generated source clip.",
)
@click.option("--vertical", is_flag=True, help="Generate a vertical (9:16) source instead of 16:9.")
@click.option("--preset", default="veryfast", show_default=True, help="x264 preset for both encoders.")
@click.option(
    "--threads",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Threads per libx264 encoder, for both (0: libx264 decides).",
)
@click.option("--encoder", default="libx264", show_default=True, help="libx264, h264_nvenc or auto.")
@click.option("--keep", default=None, metavar="DIR", help="Keep the clip and both ladders under DIR.")
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Interleaved runs of each; the best is reported (the machine may be shared).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def transcode_command(
    seconds: float,
    height: int,
    vertical: bool,
    preset: str,
    threads: int,
    encoder: str,
    keep: str | None,
    repeat: int,
    as_json: bool,
) -> None:
    """HLS ladder transcode time (PyAV) vs the ffmpeg CLI making the same ladder, same run."""
    if shutil.which("ffmpeg") is None:
        raise click.ClickException("the ffmpeg CLI is missing; install it: apt-get install -y ffmpeg")
    result = run_transcode_bench(
        seconds,
        height,
        preset=preset,
        threads=threads,
        vertical=vertical,
        encoder=encoder,
        keep=keep,
        repeat=repeat,
    )
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            click.echo(f"{k:>18}  {v}")

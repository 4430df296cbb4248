"""`reel bench pipeline`: upload-to-published time of a generated clip through the real pipeline on Ray.

A fresh file log (owned by a ``LogWriter`` actor), file blob store and coordinator actor (approving
moderation port: this measures the pipeline, not a moderation model) on a local Ray with ``--cpus``
CPUs. Each run uploads the clip through the upload service and waits for ``VideoPublished`` in the
log; the clock starts before the upload request. Event timestamps split the time into upload,
processing (probe, transcode, thumbnails, fingerprints, output upload) and moderation + publication.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import click

__all__ = ["pipeline_command", "run_pipeline_bench"]


async def _one(env: dict[str, Any], clip: Path, run: int) -> dict[str, Any]:
    from events.schema import (
        ModerationDecided,
        TranscodeFailed,
        VideoPublished,
        VideoTranscoded,
        VideoUploaded,
    )

    uploads, log = env["uploads"], env["log"]
    t0 = time.time()
    ticket = await uploads.request_upload(f"bench-creator-{run}")
    data = clip.read_bytes()
    await uploads.receive_upload(
        ticket.token, [data[i : i + (1 << 20)] for i in range(0, len(data), 1 << 20)]
    )
    await uploads.submit_details(ticket.video_id, f"bench-creator-{run}", caption="bench clip")
    seen: dict[type, Any] = {}
    deadline = time.monotonic() + 600
    while VideoPublished not in seen:
        if TranscodeFailed in seen:
            raise click.ClickException(f"the clip failed: {seen[TranscodeFailed].reason}")
        if time.monotonic() > deadline:
            raise click.ClickException("the clip was not published within 600 s")
        await asyncio.sleep(0.05)
        for info in await log.partition_info():
            for r in await log.read(info.partition, info.start, 100_000):
                if getattr(r.event, "video_id", None) == ticket.video_id:
                    seen[type(r.event)] = r.event
    published = seen[VideoPublished].ts / 1e6
    t = seen[VideoTranscoded]
    return {
        "upload_to_published_s": round(published - t0, 2),
        "upload_s": round(seen[VideoUploaded].ts / 1e6 - t0, 2),
        "processing_s": round(t.ts / 1e6 - seen[VideoUploaded].ts / 1e6, 2),
        "moderation_s": round(seen[ModerationDecided].ts / 1e6 - t.ts / 1e6, 2),
        "publish_s": round(published - seen[ModerationDecided].ts / 1e6, 2),
        "renditions": [f"{r.width}x{r.height}" for r in t.renditions],
    }


async def _bench(work: Path, clip: Path, runs: int) -> list[dict[str, Any]]:
    from blobs import open_blobs
    from events.log import open_log
    from pipeline.actor import start_pipeline
    from pipeline.coordinator import CoordinatorConfig
    from pipeline.logwriter import RemoteAppender, start_log_writer
    from pipeline.moderation import ApproveAllModeration
    from pipeline.uploads import UploadService
    from pipeline.worker import BlobSpec

    log_url, blob_url = f"file://{work / 'log'}", f"file://{work / 'blobs'}"
    writer = start_log_writer(log_url, partitions=4)
    await writer.ready.remote()
    appender = RemoteAppender(writer)
    config = CoordinatorConfig(
        log_url=log_url,
        log_options={"readonly": True, "partitions": None},
        blobs=BlobSpec(url=blob_url),
        poll_s=0.05,
    )
    coordinator = start_pipeline(config, moderation=ApproveAllModeration(), appender=appender)
    log = await open_log(log_url, partitions=None, readonly=True)
    env = {"uploads": UploadService(appender, open_blobs(blob_url), secret=b"bench"), "log": log}
    try:
        return [await _one(env, clip, i) for i in range(runs)]
    finally:
        await coordinator.stop.remote()
        await log.close()
        await writer.close.remote()


def run_pipeline_bench(
    seconds: float, width: int, height: int, runs: int, cpus: int, keep: bool = False
) -> dict[str, Any]:
    import ray

    from media.synth import make_clip

    work = Path(tempfile.mkdtemp(prefix="reel-bench-pipeline-"))
    try:
        t0 = time.perf_counter()
        clip = make_clip(work / "clip.mp4", seconds, width, height, seed=11)
        synth_s = time.perf_counter() - t0
        started = not ray.is_initialized()
        if started:
            ray.init(
                num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
            )
        try:
            results = asyncio.run(_bench(work, clip, runs))
        finally:
            if started:
                ray.shutdown()
        times = [r["upload_to_published_s"] for r in results]
        return {
            "clip": f"{seconds:g} s {width}x{height} H.264/AAC",
            "clip_bytes": clip.stat().st_size,
            "cpus": cpus,
            "runs": results,
            "upload_to_published_s": round(statistics.median(times), 2),  # median of the runs
            "best_s": min(times),
            "target_s": 30.0,
            "synth_s": round(synth_s, 2),
        }
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


@click.command(name="pipeline")
@click.option("--seconds", type=click.FloatRange(min=1.0), default=15.0, show_default=True)
@click.option("--width", type=click.IntRange(min=16), default=720, show_default=True)
@click.option("--height", type=click.IntRange(min=16), default=1280, show_default=True)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Uploads one after another (the first includes Ray worker start-up).",
)
@click.option("--cpus", type=click.IntRange(min=1), default=2, show_default=True, help="CPUs given to Ray.")
@click.option("--keep", is_flag=True, help="Keep the log, blobs and clip.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def pipeline_command(
    seconds: float, width: int, height: int, runs: int, cpus: int, keep: bool, as_json: bool
) -> None:
    """Upload -> published time of a generated clip through the pipeline (approving moderation port)."""
    import json

    from reelstack.logs import configure_logging

    configure_logging("warning")  # stdout carries the figures only
    result = run_pipeline_bench(seconds, width, height, runs, cpus, keep)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        click.echo(f"{key}: {value}")

"""The heavy step of one video, as a Ray task: probe, transcode ladder, thumbnails, fingerprints, upload.

``process_video`` is a plain function (tests and benchmarks call it directly; ``coordinator`` runs it
with ``ray.remote(num_cpus=1)``). It copies the upload out of the blob store into a private temp
directory and checks its SHA-256 against ``VideoUploaded``, probes it in the media sandbox, then runs
``media.process.process_video_sandboxed`` (one decode: HLS ladder, thumbnails, pHashes, plus the
Chromaprint print, in a resource-limited child so a libav crash fails only this attempt) and uploads
every output under server-generated keys, the master playlist last. It returns ``WorkDone`` or
``WorkRejected`` (a clean rejection: not an acceptable video, never retried); anything it raises is a
failure the coordinator retries.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from blobs import BlobStore, join_key, open_blobs
from events.schema import Rendition

__all__ = [
    "WORK_PREFIX",
    "BlobSpec",
    "WorkDone",
    "WorkItem",
    "WorkOutcome",
    "WorkRejected",
    "WorkSpec",
    "hls_prefix",
    "process_video",
    "sweep_stale_work",
]


class BlobSpec(msgspec.Struct, frozen=True, kw_only=True):
    """How a worker opens the blob store: URL, backend options, and an optional wrapper (e.g. faults)."""

    url: str
    options: dict[str, Any] = {}
    wrapper: Callable[[BlobStore], BlobStore] | None = None

    def open(self) -> BlobStore:
        store = open_blobs(self.url, **self.options)
        return store if self.wrapper is None else self.wrapper(store)


class WorkSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Knobs of the media steps (passed to ``media``): ladder, probe limits, thumbnails, fingerprints."""

    ladder: Any = None  # media.ladder.LadderConfig; Any so this module imports no libav
    probe_limits: Any = None  # media.results.ProbeLimits
    thumbnail_sizes: tuple[int, ...] = (720, 240)
    fingerprint_interval_s: float = 1.0
    timeout_s: float = 1800.0  # one attempt; a Ray task past it is cancelled and the attempt fails
    sandboxed: bool = True  # process in a resource-limited child (a libav crash fails the attempt only)


class WorkItem(msgspec.Struct, frozen=True, kw_only=True):
    """One upload to process: its blob key and the SHA-256 recorded in ``VideoUploaded``."""

    video_id: str
    source_key: str
    sha256: str | None = None


class WorkDone(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    duration_ms: int
    width: int
    height: int
    master_playlist_key: str
    renditions: tuple[Rendition, ...]
    thumbnail_keys: tuple[str, ...]
    audio_fingerprint: str | None
    video_fingerprint: tuple[str, ...]
    encoder: str
    seconds: dict[str, float]


class WorkRejected(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A clean rejection (never retried): ``stage`` is where it was found (``probe`` or ``fetch``)."""

    reason_code: str
    message: str
    stage: str = "probe"


WorkOutcome = WorkDone | WorkRejected


def hls_prefix(video_id: str) -> str:
    return join_key("videos", video_id, "hls")


WORK_PREFIX = "reel-work-"
_swept = False


def sweep_stale_work(max_age_s: float, root: Path | None = None) -> int:
    """Remove work folders older than ``max_age_s`` (longer than any attempt may run) from the temporary
    folder: what attempts left when their worker process was killed (a cancelled task past its timeout,
    ``ray stop``), each holding a copy of an upload. Returns how many went."""
    import shutil

    base = root or Path(tempfile.gettempdir())
    cutoff = time.time() - max_age_s
    gone = 0
    for path in base.glob(f"{WORK_PREFIX}*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                gone += 1
        except OSError:  # another worker removed it first
            continue
    return gone


def process_video(item: WorkItem, blobs: BlobSpec, spec: WorkSpec | None = None) -> WorkOutcome:
    """Do the media work for one upload; see the module docstring."""
    import hashlib

    global _swept

    from media.ladder import LadderConfig
    from media.probe import probe
    from media.process import process_video as media_process_video
    from media.process import process_video_sandboxed
    from media.results import ProbeLimits, Rejection

    spec = spec or WorkSpec()
    if not _swept:  # once per worker process
        _swept = True
        sweep_stale_work(2 * spec.timeout_s)
    video_id = item.video_id
    store = blobs.open()
    seconds: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix=f"{WORK_PREFIX}{video_id[:24]}-") as tmp:
            work = Path(tmp)
            src = work / "source"
            t0 = time.perf_counter()
            store.get_to_file(item.source_key, src)
            if item.sha256 is not None:
                digest = hashlib.sha256()
                with open(src, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
                if digest.hexdigest() != item.sha256:
                    return WorkRejected(
                        reason_code="corrupt_upload",
                        stage="fetch",
                        message="The stored upload does not match what was received; upload it again.",
                    )
            seconds["fetch"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            outcome = probe(src, spec.probe_limits or ProbeLimits())
            seconds["probe"] = time.perf_counter() - t0
            if isinstance(outcome, Rejection):
                return WorkRejected(reason_code=outcome.reason_code, message=outcome.message)

            t0 = time.perf_counter()
            run = process_video_sandboxed if spec.sandboxed else media_process_video
            processed = run(
                src,
                work / "out",
                outcome,
                spec.ladder or LadderConfig(),
                thumbnail_sizes=spec.thumbnail_sizes,
                hash_interval_s=spec.fingerprint_interval_s,
            )
            ladder, thumb_set = processed.transcode, processed.thumbnails
            afp = processed.audio_fingerprint
            seconds["process"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            prefix = hls_prefix(video_id)
            files = ladder.files()
            hls_dir = Path(ladder.out_dir)
            master = files[0]
            for rel in files[1:]:  # renditions and segments first, the master playlist last
                store.put_file(f"{prefix}/{rel}", hls_dir / rel, content_type=_ctype(rel))
            thumb_keys = []
            for th in thumb_set.files:
                key = join_key("videos", video_id, "thumbs", Path(th.path).name)
                store.put_file(key, th.path, content_type="image/jpeg")
                thumb_keys.append(key)
            master_key = f"{prefix}/{master}"
            store.put_file(master_key, hls_dir / master, content_type=_ctype(master))
            seconds["upload"] = time.perf_counter() - t0
    finally:
        store.close()
    renditions = tuple(
        Rendition(
            height=r.height,
            width=r.width,
            bitrate_kbps=r.bitrate_kbps,
            playlist_key=f"{prefix}/{r.playlist}",
            codec=r.codecs,
        )
        for r in ladder.renditions
    )
    return WorkDone(
        duration_ms=round(outcome.duration_s * 1000),
        width=outcome.display_width,
        height=outcome.display_height,
        master_playlist_key=master_key,
        renditions=renditions,
        thumbnail_keys=tuple(thumb_keys),
        audio_fingerprint=None if afp is None else afp.fingerprint,
        video_fingerprint=processed.video_fingerprint,
        encoder=ladder.encoder,
        seconds={k: round(v, 3) for k, v in seconds.items()},
    )


def _ctype(rel: str) -> str:
    return "application/vnd.apple.mpegurl" if rel.endswith(".m3u8") else "video/mp2t"

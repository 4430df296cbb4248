"""The sandboxed processing child: ``python -m media.process_worker`` runs ``process_video`` for one upload.

A libav crash on a crafted file that slipped past the probe kills this child, not the pipeline worker.
"""

from __future__ import annotations

import sys
from typing import Literal

import msgspec

from media.ladder import LadderConfig
from media.results import ProbeResult
from media.sandbox import apply_limits, limits_from_env

__all__ = ["ProcessFailed", "ProcessOk", "ProcessRequest", "main"]


class ProcessRequest(msgspec.Struct, frozen=True, kw_only=True):
    src: str
    out_dir: str
    probe: ProbeResult
    config: LadderConfig
    thumbnail_sizes: tuple[int, ...] = (720, 240)
    thumbnail_candidates: int = 8
    hash_interval_s: float = 1.0


class ProcessOk(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    result: msgspec.Raw


class ProcessFailed(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    stage: str
    detail: str
    kind: Literal["transcode", "encoder", "other"] = "transcode"


def main() -> None:
    apply_limits(limits_from_env())
    from media.errors import EncoderUnavailableError, TranscodeError
    from media.process import process_video

    req = msgspec.json.decode(sys.stdin.buffer.read(), type=ProcessRequest)
    out: ProcessOk | ProcessFailed
    try:
        done = process_video(
            req.src,
            req.out_dir,
            req.probe,
            req.config,
            req.thumbnail_sizes,
            req.thumbnail_candidates,
            req.hash_interval_s,
        )
        out = ProcessOk(result=msgspec.Raw(msgspec.json.encode(done)))
    except TranscodeError as exc:
        out = ProcessFailed(stage=exc.stage, detail=exc.detail)
    except EncoderUnavailableError as exc:
        out = ProcessFailed(stage="choosing the encoder", detail=exc.reason, kind="encoder")
    except MemoryError:
        raise
    except Exception as exc:  # a damaged file we did not foresee: still a clean answer
        out = ProcessFailed(
            stage="processing", detail=f"{type(exc).__name__}: {str(exc)[:300]}", kind="other"
        )
    sys.stdout.buffer.write(msgspec.json.encode(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

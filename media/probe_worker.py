"""The sandboxed probe child: ``python -m media.probe_worker`` reads a request on stdin, prints facts as JSON.

It applies its resource limits before importing libav, opens only the demuxer the parent sniffed (plus a
``format_whitelist`` of that one family and ``protocol_whitelist=file``), and decodes the first frames.
If libav crashes this process, the parent sees a signal and rejects the upload.
"""

from __future__ import annotations

import sys

import msgspec

from media.results import ProbeFacts, WorkerFailure
from media.sandbox import apply_limits, limits_from_env
from media.sniff import ALLOWED_DEMUXERS

__all__ = ["ProbeRequest", "main", "open_options"]


class ProbeRequest(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    format: str
    decode_frames: int = 8


def open_options(fmt: str) -> dict[str, str]:
    """libav options that keep a demuxer on the one local file we name."""
    return {
        "protocol_whitelist": "file",
        "format_whitelist": ALLOWED_DEMUXERS[fmt],
        "enable_drefs": "0",
        "use_absolute_path": "0",
    }


def _facts(req: ProbeRequest) -> ProbeFacts | WorkerFailure:
    import av  # after the limits are in place

    try:
        container = av.open(req.path, format=req.format, options=open_options(req.format))
    except (av.FFmpegError, ValueError, OSError, UnicodeDecodeError) as exc:
        return WorkerFailure(code="not_video", message=f"not a readable {req.format} file: {exc}")
    with container:
        vstreams = list(container.streams.video)
        astreams = list(container.streams.audio)
        duration = container.duration / 1_000_000 if container.duration else None
        facts: dict[str, object] = {
            "container": req.format, "duration_s": duration,
            "video_streams": len(vstreams), "audio_streams": len(astreams),
        }
        if astreams:
            a = astreams[0]
            facts.update(audio_codec=a.codec_context.name, audio_sample_rate=a.codec_context.sample_rate or None,
                         audio_channels=a.codec_context.channels or None)
        if not vstreams:
            return msgspec.convert(facts, ProbeFacts)
        v = vstreams[0]
        rate = v.average_rate or v.guessed_rate or v.base_rate
        vdur = float(v.duration * v.time_base) if v.duration and v.time_base else None
        facts.update(video_codec=v.codec_context.name, width=v.codec_context.width, height=v.codec_context.height,
                     fps=float(rate) if rate else None, video_duration_s=vdur)
        v.codec_context.thread_count = 1
        decoded = 0
        try:
            for frame in container.decode(v):
                if decoded == 0:
                    facts.update(decoded_width=frame.width, decoded_height=frame.height,
                                 rotation=int(frame.rotation or 0))
                decoded += 1
                if decoded >= req.decode_frames:
                    break
        except (av.FFmpegError, ValueError, MemoryError) as exc:
            facts["decode_error"] = str(exc)[:300]
        facts["decoded_frames"] = decoded
        return msgspec.convert(facts, ProbeFacts)


def main() -> None:
    apply_limits(limits_from_env())
    req = msgspec.json.decode(sys.stdin.buffer.read(), type=ProbeRequest)
    if req.format not in ALLOWED_DEMUXERS:
        out: ProbeFacts | WorkerFailure = WorkerFailure(code="not_video", message=f"format {req.format!r} refused")
    else:
        out = _facts(req)
    sys.stdout.buffer.write(msgspec.json.encode(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

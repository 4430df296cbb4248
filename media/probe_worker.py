"""The sandboxed probe child: ``python -m media.probe_worker`` reads a request on stdin, prints facts as JSON.

It applies its resource limits before importing libav, opens only the demuxer the parent sniffed (plus a
``format_whitelist`` of that one family and ``protocol_whitelist=file``), walks every packet (truncation,
sample tables pointing past the end) and decodes strictly (``err_detect=explode``): in full for small
sources, the first frames plus every keyframe for large ones. If libav crashes this process, the parent
sees a signal and rejects the upload.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import msgspec

from media.results import ProbeFacts, WorkerFailure
from media.sandbox import apply_limits, limits_from_env
from media.sniff import ALLOWED_DEMUXERS

__all__ = ["STRICT_DECODE", "ProbeRequest", "main", "open_options"]

#: Decoder options that turn concealed bitstream errors into errors.
STRICT_DECODE = {"err_detect": "crccheck+bitstream+buffer+explode"}
_HEAD_AUDIO_PACKETS = 64


class ProbeRequest(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    format: str
    decode_frames: int = 8
    full_decode_pixels: int = 500_000_000


def open_options(fmt: str) -> dict[str, str]:
    """libav options that keep a demuxer on the one local file we name."""
    return {
        "protocol_whitelist": "file",
        "format_whitelist": ALLOWED_DEMUXERS[fmt],
        "enable_drefs": "0",
        "use_absolute_path": "0",
    }


def _index_past_end(stream: Any, size: int) -> tuple[int, bool]:
    entries = stream.index_entries
    n = len(entries)
    return n, any(e.pos + e.size > size for e in entries) if n else False


def _scan(av: Any, container: Any, v: Any, a: Any, req: ProbeRequest, facts: dict[str, object]) -> None:
    """One pass over every packet: structure always, decoding strictly where asked."""
    rate = float(facts["fps"] or 30.0)  # type: ignore[arg-type]
    duration = float(facts.get("video_duration_s") or facts.get("duration_s") or 0.0)  # type: ignore[arg-type]
    full = v.codec_context.width * v.codec_context.height * duration * rate <= req.full_decode_pixels
    facts["full_decode"] = full
    v.codec_context.thread_count = 1
    v.codec_context.options = dict(STRICT_DECODE)
    if a is not None:
        a.codec_context.options = dict(STRICT_DECODE)
    decoded = packets = audio_packets = 0
    last_end: float | None = None
    streams = [s for s in (v, a) if s is not None]
    try:
        for packet in container.demux(*streams):
            if packet.size == 0:
                continue
            if packet.is_corrupt:
                facts["truncated"] = True
            if packet.stream is a:
                audio_packets += 1
                if audio_packets <= _HEAD_AUDIO_PACKETS and facts.get("audio_decode_error") is None:
                    try:
                        packet.decode()
                    except (av.FFmpegError, ValueError) as exc:
                        facts["audio_decode_error"] = str(exc)[:300]
                continue
            packets += 1
            if packet.pts is not None and packet.time_base:
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                last_end = end if last_end is None else max(last_end, end)
            if not (full or decoded < req.decode_frames or packet.is_keyframe):
                continue
            for frame in packet.decode():
                if decoded == 0:
                    facts.update(
                        decoded_width=frame.width,
                        decoded_height=frame.height,
                        rotation=int(frame.rotation or 0),
                    )
                decoded += 1
        if full or decoded < req.decode_frames:
            for frame in v.decode(None):
                decoded += 1
                del frame
    except (av.FFmpegError, ValueError, MemoryError, OverflowError) as exc:
        facts["decode_error"] = str(exc)[:300]
    facts.update(decoded_frames=decoded, video_packets=packets, last_video_time_s=last_end)


def _facts(req: ProbeRequest) -> ProbeFacts | WorkerFailure:
    import av

    try:
        container = av.open(req.path, format=req.format, options=open_options(req.format))
    except (av.FFmpegError, ValueError, OSError, UnicodeDecodeError, MemoryError) as exc:
        return WorkerFailure(code="undecodable", message=f"not a readable {req.format} file: {exc}")
    with container:
        vstreams = list(container.streams.video)
        astreams = list(container.streams.audio)
        duration = container.duration / 1_000_000 if container.duration else None
        facts: dict[str, object] = {
            "container": req.format,
            "duration_s": duration,
            "video_streams": len(vstreams),
            "audio_streams": len(astreams),
        }
        a = astreams[0] if astreams else None
        if a is not None and a.codec_context is None:
            facts.update(audio_codec="unknown", audio_decode_error="the audio codec is not supported")
            a = None
        elif a is not None:
            ac = a.codec_context
            facts.update(
                audio_codec=ac.name,
                audio_sample_rate=ac.sample_rate or None,
                audio_channels=ac.channels or None,
            )
        if not vstreams:
            return msgspec.convert(facts, ProbeFacts)
        v = vstreams[0]
        if v.codec_context is None:
            facts.update(video_codec="unknown", decode_error="the video codec is not supported")
            return msgspec.convert(facts, ProbeFacts)
        rate = v.average_rate or v.guessed_rate or v.base_rate
        vdur = float(v.duration * v.time_base) if v.duration and v.time_base else None
        cc = v.codec_context
        facts.update(
            video_codec=cc.name,
            width=cc.width,
            height=cc.height,
            fps=float(rate) if rate else None,
            video_duration_s=vdur,
        )
        indexed, past_end = _index_past_end(v, os.path.getsize(req.path))
        facts.update(indexed_packets=indexed, truncated=past_end)
        if cc.width * cc.height > 0 and cc.width <= 8192 and cc.height <= 8192:
            _scan(av, container, v, a, req, facts)
        return msgspec.convert(facts, ProbeFacts)


def main() -> None:
    apply_limits(limits_from_env())
    import av  # noqa: F401 - loaded only once the limits are in place; failing here is a worker crash

    req = msgspec.json.decode(sys.stdin.buffer.read(), type=ProbeRequest)
    if req.format not in ALLOWED_DEMUXERS:
        out: ProbeFacts | WorkerFailure = WorkerFailure(
            code="not_video", message=f"format {req.format!r} refused"
        )
    else:
        try:
            out = _facts(req)
        except MemoryError:
            raise  # out of the sandbox's memory: the parent reports a worker crash
        except Exception as exc:  # a damaged file we did not foresee: still a clean answer
            out = WorkerFailure(code="undecodable", message=f"{type(exc).__name__}: {str(exc)[:200]}")
    sys.stdout.buffer.write(msgspec.json.encode(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""`reel bench log`: durable append and replay throughput of an event log backend.

Append: N realistic events (generated before the clock starts) are appended in batches by
``producers`` concurrent asyncio tasks; each ``append`` returns only once its batch is durable, and
concurrent appends are group-committed by the backend. Replay: read + decode of every record from
offset 0 of every partition, optionally by several processes over disjoint partitions.
Each run writes a fresh log (a new directory under a file:// URL, a new topic under kafka://).
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from events.codec import encode
from events.log import open_log
from events.schema import Event

from .replay import replay
from .workload import generate

__all__ = ["BenchError", "LogBenchConfig", "fresh_url", "run_log_bench"]


class BenchError(RuntimeError):
    """A benchmark could not run as asked; the message says what to change."""


@dataclass(frozen=True, slots=True)
class LogBenchConfig:
    url: str
    events: int = 100_000
    partitions: int = 8
    batch: int = 512
    producers: int = 8
    workers: int = 1
    start_broker: bool = False
    keep: bool = False
    seed: int = 7


Phase = Callable[[str, int | None], Callable[[int], None]]
"""``phase(name, total)`` starts a progress display and returns its ``advance(n)``."""


def _quiet(_: str, __: int | None) -> Callable[[int], None]:
    return lambda _n: None


def fresh_url(url: str, run_id: str) -> str:
    """A URL for a new, empty log under ``url``: a subdirectory (file://) or a topic (kafka://)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        base = (parts.netloc + parts.path) if parts.netloc not in ("", "localhost") else parts.path
        return f"file://{Path(base).absolute() / f'bench-{run_id}'}"
    if parts.scheme == "kafka":
        query = f"?{parts.query}" if parts.query else ""
        return f"kafka://{parts.netloc}/bench-{run_id}{query}"
    raise BenchError(f"unsupported log URL {url!r}: use file:///dir or kafka://host:port")


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@contextmanager
def _broker(url: str, start: bool) -> Iterator[str]:
    """Make sure a Kafka broker answers at the URL's host:port (starting tansu there if asked)."""
    from reelstack.services import kafka_ready, start_tansu, stop_process

    first = urlsplit(url).netloc.split(",")[0]
    host, sep, port_text = first.rpartition(":")
    if not sep or not port_text.isdigit():
        host, port_text = first, "9092"
    host, port = (host or "127.0.0.1").strip("[]"), int(port_text)
    if kafka_ready(host, port):
        yield "external broker"
        return
    if not start:
        raise BenchError(f"no Kafka broker answers at {host}:{port}; start one, or pass --start-broker "
                         "to run a local in-memory tansu broker there for this benchmark")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise BenchError(f"--start-broker only starts a broker on loopback, not on {host}")
    proc = start_tansu(port, host=host)
    try:
        yield "tansu (in-memory storage), started for this run"
    finally:
        stop_process(proc)


async def _append(url: str, options: dict[str, object], events: list[Event], cfg: LogBenchConfig,
                  advance: Callable[[int], None]) -> tuple[float, float, int]:
    log = await open_log(url, **options)
    try:
        batches = [events[i : i + cfg.batch] for i in range(0, len(events), cfg.batch)]
        feed = iter(batches)

        async def producer() -> None:
            for chunk in feed:  # one shared iterator: each batch goes to exactly one producer
                await log.append(chunk)
                advance(len(chunk))

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(producer() for _ in range(cfg.producers)))
        return time.perf_counter() - t0, time.process_time() - c0, len(batches)
    finally:
        await log.close()


def run_log_bench(cfg: LogBenchConfig, phase: Phase = _quiet) -> dict[str, object]:
    """Run one append + replay benchmark and return its figures and context as plain data."""
    if cfg.events < 1 or cfg.batch < 1 or cfg.producers < 1 or cfg.partitions < 1:
        raise BenchError("--events, --batch, --producers and --partitions must all be at least 1")
    run_id = uuid.uuid4().hex[:12]
    url = fresh_url(cfg.url, run_id)
    backend = url.partition("://")[0]
    gen_t0 = time.perf_counter()
    events = generate(cfg.events, seed=cfg.seed, progress=phase("generating events", cfg.events))
    generated_s = time.perf_counter() - gen_t0
    payload = sum(len(encode(e)) for e in events) / len(events)
    options: dict[str, object] = {"partitions": cfg.partitions}
    service = _broker(url, cfg.start_broker) if backend == "kafka" else _nothing()
    with service as broker:
        append_s, append_cpu_s, appends = asyncio.run(
            _append(url, options, events, cfg, phase("append", cfg.events))
        )
        del events
        read_options = dict(options, readonly=True) if backend == "file" else options
        result = replay(url, read_options, cfg.partitions, cfg.workers,
                        progress=phase("replay", cfg.events))
    out: dict[str, object] = {
        "backend": backend,
        "url": url,
        "events": cfg.events,
        "partitions": cfg.partitions,
        "batch": cfg.batch,
        "producers": cfg.producers,
        "appends": appends,
        "append_s": round(append_s, 4),
        "append_eps": round(cfg.events / append_s),
        "append_cpu_s": round(append_cpu_s, 4),
        "replay_s": round(result.seconds, 4),
        "replay_eps": round(result.records / result.seconds) if result.seconds > 0 else None,
        "replayed": result.records,
        "replay_cpu_s": round(result.cpu_s, 4),
        "replay_eps_per_cpu_s": round(result.records / result.cpu_s) if result.cpu_s > 0 else None,
        "replay_workers": result.workers,
        "replay_note": (
            "read + decode of every record from offset 0 of every partition; partitions are independent, "
            f"so {result.workers} process(es) each read a disjoint set of partitions; wall clock from "
            "the start to the last record of the last partition"
        ),
        "durability": _durability(backend),
        "payload_bytes_per_event": round(payload, 1),
        "generate_s": round(generated_s, 3),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpu_note": ("*_cpu_s is CPU time of this process (append: with its writer threads; replay: of all "
                     "reading processes); on a shared machine it is steadier than wall-clock figures"),
        "python": platform.python_version(),
    }
    if broker:
        out["broker"] = broker
    if backend == "file":
        path = Path(urlsplit(url).path)
        out["disk_bytes_per_event"] = round(_dir_bytes(path) / cfg.events, 1)
        out["replay_cache"] = "page cache warm (the log was just written)"
        if not cfg.keep:
            shutil.rmtree(path, ignore_errors=True)
    if result.records != cfg.events:
        out["warning"] = f"replayed {result.records} records, expected {cfg.events}"
    return out


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def _durability(backend: str) -> str:
    if backend == "file":
        return ("each append returns after its records are fsynced; concurrent appends are group-committed "
                "(one write + fsync covers every batch waiting at that moment)")
    if backend == "kafka":
        return "each append returns after the broker acknowledged it with acks=all (idempotent producer)"
    return "as documented by the backend"

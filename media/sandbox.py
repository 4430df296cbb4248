"""Run a worker module in a fresh, resource-limited Python subprocess with a wall-clock timeout.

The child gets a private empty working directory, a minimal environment and its own process group;
on expiry the whole group is killed. A crash (signal) or timeout is reported, never raised.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec

__all__ = ["SandboxLimits", "SandboxRun", "apply_limits", "run_sandboxed"]

_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
LIMITS_ENV = "REEL_SANDBOX_LIMITS"


class SandboxLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Kernel limits (``setrlimit``) applied inside the child, plus the parent's wall-clock timeout."""

    timeout_s: float = 20.0
    cpu_s: int = 15
    address_space_bytes: int = 1536 * 1024 * 1024
    max_open_files: int = 64
    max_file_bytes: int = 0  # the child may not write any regular file
    # scheduling priority, added to the parent's: media work is batch work, and on a host that also serves
    # feeds it should give the CPU to them first (an upload is processed a little later under load)
    nice: int = 10


class SandboxRun(msgspec.Struct, frozen=True, kw_only=True):
    """How the child ended: its stdout, exit code, the signal that killed it, whether we timed it out."""

    stdout: bytes
    stderr: bytes
    returncode: int
    signal: int | None
    timed_out: bool

    @property
    def crashed(self) -> bool:
        return self.signal is not None and not self.timed_out


def apply_limits(limits: SandboxLimits) -> None:
    """Called first thing in the child, before it imports libav or touches its input."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.address_space_bytes, limits.address_space_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
    if limits.nice > 0:
        os.nice(limits.nice)


def limits_from_env() -> SandboxLimits:
    """The limits the parent passed to this child (defaults if run by hand)."""
    raw = os.environ.get(LIMITS_ENV)  # the sandbox's own channel, not a setting
    return msgspec.json.decode(raw, type=SandboxLimits) if raw else SandboxLimits()


def run_sandboxed(module: str, request: bytes, limits: SandboxLimits) -> SandboxRun:
    """Run ``python -m module`` with ``request`` on stdin under ``limits``; never raises for the child."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": _REPO_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "OMP_NUM_THREADS": "1",
        "LC_ALL": "C.UTF-8",
        LIMITS_ENV: msgspec.json.encode(limits).decode(),
    }
    with tempfile.TemporaryDirectory(prefix="reel-sandbox-") as cwd:
        proc = subprocess.Popen(
            [sys.executable, "-s", "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        timed_out = False
        try:
            out, err = proc.communicate(request, timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            out, err = proc.communicate()
    rc = proc.returncode
    sig = -rc if rc < 0 else None
    if sig is None and rc == 128 + signal.SIGKILL:
        sig = signal.SIGKILL
    return SandboxRun(stdout=out, stderr=err[-4000:], returncode=rc, signal=sig, timed_out=timed_out)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)

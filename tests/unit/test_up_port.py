"""``reel up`` refuses an HTTP or dashboard port that another process holds, before it starts Ray."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from reelstack.cli import main
from reelstack.services import port_taken


def _listening() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


def test_port_taken_says_why_while_another_socket_listens_and_nothing_once_it_closed() -> None:
    s = _listening()
    port = s.getsockname()[1]
    with s:
        assert port_taken("127.0.0.1", port) is not None
    assert port_taken("127.0.0.1", port) is None


def test_reel_up_on_a_busy_port_is_a_usage_error_before_ray_starts(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray started before the ports were checked"))
    with _listening() as s:
        port = s.getsockname()[1]
        r = CliRunner().invoke(main, ["up", "--data-dir", str(tmp_path), "--port", str(port)])
    assert r.exit_code == 2, r.output
    assert f"cannot serve HTTP on 127.0.0.1:{port}" in r.output and "--port N" in r.output


def test_reel_up_on_a_busy_dashboard_port_is_a_usage_error_naming_the_option(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray started before the ports were checked"))
    with _listening() as busy, socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        http = spare.getsockname()[1]
        spare.close()
        dash = busy.getsockname()[1]
        r = CliRunner().invoke(main, ["up", "--data-dir", str(tmp_path), "--port", str(http),
                                      "--dashboard-port", str(dash)])
    assert r.exit_code == 2, r.output
    assert f"Ray's dashboard on 127.0.0.1:{dash}" in r.output and "--dashboard-port N" in r.output

"""``reel``'s log lines go to stderr, so a command's stdout (``--json`` figures, exports) stays parseable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from reelstack.logs import configure_logging


def test_log_lines_go_to_stderr_at_the_level_asked(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        configure_logging("warning")
        structlog.get_logger("t").info("not shown")
        structlog.get_logger("t").warning("shown", n=1)
        out, err = capsys.readouterr()
        assert out == ""
        assert "shown" in err and "not shown" not in err
    finally:
        structlog.reset_defaults()


def test_a_command_s_stdout_carries_only_its_output(tmp_path: Path) -> None:
    # the root command configures logging before any subcommand: a subcommand that logs at info
    # (here the heap freezer's line, emitted in-process) leaves stdout to its JSON
    code = (
        "import sys, click, json\n"
        "from reelstack.cli import main\n"
        "from reelstack.heap import freeze_long_lived\n"
        "@main.command(name='probe')\n"
        "def probe():\n"
        "    freeze_long_lived('probe')\n"
        "    click.echo(json.dumps({'ok': True}))\n"
        "main(['probe'])\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"ok": True}
    assert "heap frozen" in r.stderr

"""Work folders that killed attempts left behind are swept; live ones and other folders stay."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pipeline.worker import WORK_PREFIX, sweep_stale_work


def _folder(root: Path, name: str, age_s: float) -> Path:
    path = root / name
    path.mkdir()
    (path / "source").write_bytes(b"upload copy")
    t = time.time() - age_s
    os.utime(path, (t, t))
    return path


def test_only_stale_work_folders_go(tmp_path: Path) -> None:
    stale = _folder(tmp_path, f"{WORK_PREFIX}01a2-old-x", age_s=7200)
    live = _folder(tmp_path, f"{WORK_PREFIX}01a2-new-y", age_s=10)
    other = _folder(tmp_path, "someone-elses", age_s=7200)
    (tmp_path / f"{WORK_PREFIX}a-file").write_text("not a folder")

    assert sweep_stale_work(3600, root=tmp_path) == 1
    assert not stale.exists()
    assert live.exists() and other.exists() and (tmp_path / f"{WORK_PREFIX}a-file").exists()

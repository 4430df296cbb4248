"""A misbehaving sandbox child for tests: segfaults, spins, sleeps or writes a file, as stdin says."""

from __future__ import annotations

import ctypes
import os
import sys
import time

from media.sandbox import apply_limits, limits_from_env


def main() -> None:
    apply_limits(limits_from_env())
    what = sys.stdin.read().strip()
    if what == "segv":
        ctypes.string_at(0)  # a real SIGSEGV, as a libav bug would raise
    elif what == "spin":
        while True:
            pass
    elif what == "sleep":
        time.sleep(3600)
    elif what == "write":
        with open("written.bin", "wb") as fh:  # RLIMIT_FSIZE=0: SIGXFSZ
            fh.write(b"x" * 4096)
            fh.flush()
    elif what == "alloc":
        _ = bytearray(4 * 1024 * 1024 * 1024)
    elif what == "nice":
        sys.stdout.write(f"nice={os.nice(0)} ")
    sys.stdout.write("ok")


if __name__ == "__main__":
    main()

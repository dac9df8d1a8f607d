"""Allocate memory as fast as Python can, recording RSS as it grows (used by ``memory_jobs``).

``python allocator.py OUT ROLE CAP_MB`` writes its pid to ``OUT/ROLE.pid``, then allocates
``CAP_MB`` in steps of :data:`CHUNK_MB`, appending ``<monotonic seconds> <rss bytes>`` to
``OUT/alloc.log`` after each step (``os.write`` on an ``O_APPEND`` file: a line is complete or
absent even if the process is killed mid-way), then holds the memory.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

CHUNK_MB = 8
"""The step: the true peak is at most the last recorded RSS plus one step."""


def rss() -> int:
    """This process's resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def allocate(out: Path, role: str, cap_mb: int) -> list[bytes]:
    """Allocate ``cap_mb`` (recording as the module docstring says); return what it holds."""
    (out / f"{role}.pid").write_text(str(os.getpid()))
    log = os.open(out / "alloc.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    held: list[bytes] = []
    try:
        while len(held) * CHUNK_MB < cap_mb:
            held.append(b"\x01" * (CHUNK_MB << 20))  # written, so resident at once
            os.write(log, f"{time.monotonic()} {rss()}\n".encode())
    finally:
        os.close(log)
    return held


def read_log(out: Path) -> list[tuple[float, int]]:
    """The records of ``OUT/alloc.log``: (monotonic seconds, rss bytes)."""
    path = out / "alloc.log"
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(float(t), int(r)) for t, r in rows if t and r]


if __name__ == "__main__":
    held = allocate(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
    time.sleep(120)

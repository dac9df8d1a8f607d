"""Jobs for the memory-limit and subprocess tests (run in spawned job processes).

A job's metadata is JSON: ``out`` a folder for what the job records, ``session`` whether its
subprocess starts its own session (so it is outside the job's process group), ``cap_mb`` how much
an allocator takes. Each job writes its RSS at start (bytes) to ``<out>/job.rss``, then its pid
to ``<out>/job.pid``; see ``allocator`` for the rest.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import allocator

from voicegraph.runner.worker import JobContext


def _params(ctx: JobContext) -> tuple[dict[str, Any], Path]:
    params = json.loads(ctx.metadata)
    out = Path(params["out"])
    (out / "job.rss").write_text(str(allocator.rss()))
    (out / "job.pid").write_text(str(os.getpid()))
    return params, out


def _spawn(params: dict[str, Any], cap_mb: int) -> subprocess.Popen[bytes]:
    args = [sys.executable, allocator.__file__, params["out"], "child", str(cap_mb)]
    return subprocess.Popen(args, start_new_session=bool(params.get("session")))


async def subprocess_hog(ctx: JobContext) -> None:
    """Start a subprocess that takes ``cap_mb`` and holds it; wait."""
    params, _ = _params(ctx)
    _spawn(params, int(params["cap_mb"]))
    await asyncio.sleep(120)


async def leaves_a_subprocess(ctx: JobContext) -> None:
    """Start a small subprocess, wait until it runs, and return without ending it."""
    params, out = _params(ctx)
    _spawn(params, 0)
    while not (out / "child.pid").exists():
        await asyncio.sleep(0.01)


async def fast_hog(ctx: JobContext) -> None:
    """Allocate ``cap_mb`` as fast as Python can, in the job process itself; hold it."""
    params, out = _params(ctx)
    held = allocator.allocate(out, "job-alloc", int(params["cap_mb"]))
    await asyncio.sleep(120)
    del held

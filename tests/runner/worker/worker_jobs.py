"""Job entrypoints and prewarm functions for the worker tests (run in spawned job processes).

A job's metadata is JSON: ``out`` a folder where the job writes ``<job id>.json`` (pid,
userdata, what happened), ``seconds`` how long to run, ``barrier`` how many job files must exist
before the job ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from voicegraph.runner.worker import JobContext, JobProcess


def _params(ctx: JobContext) -> dict[str, Any]:
    return json.loads(ctx.metadata) if ctx.metadata else {}


def _write(ctx: JobContext, **extra: Any) -> None:
    out = _params(ctx).get("out")
    if not out:
        return
    record = {
        "job": ctx.job_id,
        "room": ctx.info.room,
        "pid": os.getpid(),
        "userdata": ctx.proc.userdata,
        "identity": ctx.info.identity,
        "token": bool(ctx.info.token),
        "url": ctx.info.url,
        "time": time.time(),
        **extra,
    }
    path = Path(out) / f"{ctx.job_id}.{extra.get('phase', 'start')}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


def prewarm(proc: JobProcess) -> None:
    proc.userdata["prewarmed_in"] = os.getpid()
    proc.userdata["prewarm_runs"] = proc.userdata.get("prewarm_runs", 0) + 1


def failing_prewarm(proc: JobProcess) -> None:
    raise RuntimeError("the model file is missing")


def slow_prewarm(proc: JobProcess) -> None:
    time.sleep(30)


async def sleeper(ctx: JobContext) -> None:
    _write(ctx)
    await asyncio.sleep(float(_params(ctx).get("seconds", 0.2)))
    _write(ctx, phase="end")


async def waits_for_release(ctx: JobContext) -> None:
    """Run until the file ``release`` exists (at most 60 s): alive for as long as a test needs."""
    release = Path(_params(ctx)["release"])
    deadline = time.monotonic() + 60
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never released this job")
        await asyncio.sleep(0.05)


async def barrier(ctx: JobContext) -> None:
    """Start, then wait until ``barrier`` jobs have started (proves they ran concurrently)."""
    params = _params(ctx)
    _write(ctx)
    folder, n = Path(params["out"]), int(params["barrier"])
    deadline = time.monotonic() + 30
    while len(list(folder.glob("*.start.json"))) < n:
        if time.monotonic() > deadline:
            raise TimeoutError("the other jobs never started")
        await asyncio.sleep(0.05)
    _write(ctx, phase="end")


async def raises(ctx: JobContext) -> None:
    raise RuntimeError("the job exploded")


async def exits(ctx: JobContext) -> None:
    os._exit(7)


async def segfault(ctx: JobContext) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


async def blocks(ctx: JobContext) -> None:
    time.sleep(60)  # blocks the event loop: no more pong


async def hog(ctx: JobContext) -> None:
    data = bytearray(400 * 2**20)
    for i in range(0, len(data), 4096):
        data[i] = 1
    await asyncio.sleep(30)


async def stubborn(ctx: JobContext) -> None:
    """Ignores cancellation: only a kill ends it."""
    while True:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            continue


async def until_shutdown(ctx: JobContext) -> None:
    """Runs until the job is shut down; the shutdown callback records the reason."""

    async def on_shutdown(reason: str) -> None:
        _write(ctx, phase="shutdown", reason=reason)

    ctx.add_shutdown_callback(on_shutdown)
    _write(ctx)
    await asyncio.sleep(60)


async def by_room(ctx: JobContext) -> None:
    """Behave as the room's name says: ``raise-*``, ``crash-*``, anything else sleeps."""
    room = ctx.info.room
    if room.startswith("raise"):
        await raises(ctx)
    elif room.startswith("crash"):
        await exits(ctx)
    await sleeper(ctx)


def timed_prewarm(proc: JobProcess) -> None:
    """Sleeps 0.3 s and records when it ran (in ``$PREWARM_LOG``)."""
    start = time.time()
    time.sleep(0.3)
    folder = Path(os.environ["PREWARM_LOG"])
    (folder / f"{os.getpid()}.json").write_text(json.dumps([start, time.time()]))

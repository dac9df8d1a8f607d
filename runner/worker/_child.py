"""The job process side: prewarm once, wait for a job, run its entrypoint, report, exit.

Messages on the pipe (pickled tuples)::

    worker -> job process   ("start", JobInfo) | ("shutdown", reason) | ("ping", t)
    job process -> worker   ("ready", prewarm_seconds) | ("init_failed", error, traceback)
                            ("running", job_id) | ("pong", t) | ("done", status, error)

Pings are answered by the job process's event loop, so a job that blocks its loop stops
answering and the worker kills it (see ``hang_timeout``). The job process ignores SIGINT and
SIGTERM: the worker decides when it ends (a drain lets running jobs finish), and a job process
whose worker died exits as soon as it sees the pipe close. It runs in its own session and process
group, so a terminal's Ctrl-C reaches only the worker, and the worker can end a job together
with every subprocess it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import anyio

from ._job import JobContext, JobInfo, JobProcess
from ._logging import setup_logging

__all__ = ["ChildSetup", "child_main", "resolve", "run_job"]

logger = logging.getLogger("voicegraph.worker")

Entrypoint = Callable[[JobContext], Awaitable[None]]
Prewarm = Callable[[JobProcess], Any]
SessionEnd = Callable[[JobContext], Any]

SESSION_END_TIMEOUT = 300.0
"""Seconds ``on_session_end`` may take (LiveKit's default: 5 minutes)."""


@dataclass(frozen=True, slots=True)
class ChildSetup:
    """What a job process is started with (picklable: functions are pickled by reference).

    Attributes:
        entrypoint: the async job function, or ``"module:function"``.
        prewarm: the function run once per process before any job, or ``"module:function"``.
        log_level: the logging level in the job process.
        sys_path: extra import paths (the folder of an agent file given on the command line).
        session_end: ``async def on_session_end(ctx)``, or ``"module:function"``; run when
            the job's session has ended, before the shutdown callbacks.
    """

    entrypoint: Entrypoint | str
    prewarm: Prewarm | str | None = None
    log_level: int = logging.INFO
    sys_path: tuple[str, ...] = ()
    session_end: SessionEnd | str | None = None


def resolve(target: Any) -> Any:
    """Import ``"module:attribute"`` (a dotted attribute path is allowed); pass others through."""
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def child_main(conn: Connection, setup: ChildSetup) -> None:
    """Entry point of a job process (the target of ``multiprocessing``'s spawn).

    The process first starts its own session (so its own process group): every subprocess a
    job starts is in that group, and the worker ends them all with the job (``os.killpg``).
    If the worker goes away without ending it (it was killed), the process ends its group
    itself on the way out.
    """
    if hasattr(os, "setsid"):
        with contextlib.suppress(OSError):  # already a group leader: cannot happen after spawn
            os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    setup_logging(  # network libraries quiet, credentials masked (see _logging)
        setup.log_level,
        fmt=f"%(asctime)s %(levelname)s [job process {os.getpid()}] %(name)s: %(message)s",
    )
    for path in setup.sys_path:
        if path not in sys.path:
            sys.path.insert(0, path)
    proc = JobProcess()
    t0 = time.perf_counter()
    try:
        entrypoint = resolve(setup.entrypoint)
        session_end = resolve(setup.session_end)
        prewarm = resolve(setup.prewarm)
        if prewarm is not None:
            prewarm(proc)
    except BaseException as exc:
        summary = f"{type(exc).__name__}: {exc}"
        _send(conn, ("init_failed", summary, traceback.format_exc(limit=8)))
        conn.close()
        return
    if not _send(conn, ("ready", time.perf_counter() - t0)):
        _end_own_group()  # the worker is gone: whatever prewarm started goes too
        return
    try:
        orphaned = asyncio.run(_serve(conn, proc, entrypoint, session_end))
    finally:
        conn.close()
    if orphaned:
        _end_own_group()


def _end_own_group() -> None:
    """SIGKILL this process's group (this process too), if it leads one; the worker is gone."""
    if hasattr(os, "killpg") and os.getpgid(0) == os.getpid():  # never the worker's group
        logging.shutdown()
        os.killpg(os.getpid(), signal.SIGKILL)


def _send(conn: Connection, msg: tuple[Any, ...]) -> bool:
    try:
        conn.send(msg)
        return True
    except (OSError, EOFError, ValueError):  # the worker is gone
        return False


async def _serve(
    conn: Connection, proc: JobProcess, entrypoint: Entrypoint, session_end: SessionEnd | None
) -> bool:
    """Wait for a job and run it; return whether the worker went away (closed the pipe)."""
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue(maxsize=64)
    fd = conn.fileno()
    worker_gone = False

    def on_readable() -> None:
        nonlocal worker_gone
        try:
            while conn.poll():
                msg = conn.recv()
                if msg[0] == "ping":
                    conn.send(("pong", msg[1]))
                elif not inbox.full():
                    inbox.put_nowait(msg)
        except (EOFError, OSError):
            worker_gone = True
            loop.remove_reader(fd)
            if not inbox.full():
                inbox.put_nowait(("eof",))

    loop.add_reader(fd, on_readable)
    try:
        msg = await inbox.get()
        if msg[0] != "start":
            return worker_gone  # closed while idle
        info: JobInfo = msg[1]
        ctx = JobContext(info, proc)
        status, error = await _run_job(ctx, entrypoint, inbox, conn, session_end)
        _send(conn, ("done", status, error))
    finally:
        loop.remove_reader(fd)
    return worker_gone


async def _run_job(
    ctx: JobContext,
    entrypoint: Entrypoint,
    inbox: asyncio.Queue[tuple[Any, ...]],
    conn: Connection,
    session_end: SessionEnd | None = None,
) -> tuple[str, str]:
    """Run the job until it ends or the worker asks it to (or goes away)."""

    async def watch_worker() -> None:
        while True:
            msg = await inbox.get()
            if msg[0] == "shutdown":
                ctx.shutdown(str(msg[1]) or "shut down by the worker")
                return
            if msg[0] == "eof":
                ctx.shutdown("the worker is gone")
                return

    _send(conn, ("running", ctx.job_id))
    return await run_job(ctx, entrypoint, watch_worker, session_end=session_end)


async def run_job(
    ctx: JobContext,
    entrypoint: Entrypoint,
    watch: Callable[[], Coroutine[Any, Any, None]] | None = None,
    *,
    session_end: SessionEnd | None = None,
    session_end_timeout: float = SESSION_END_TIMEOUT,
) -> tuple[str, str]:
    """Run the job of ``entrypoint(ctx)`` until it ends (see :class:`JobContext`).

    The entrypoint runs with ``ctx`` as the current job (:func:`get_job_context`). When it
    returns, the job goes on while its sessions run (or, with none, while it is connected
    to its room); it ends at once if the entrypoint raises. ``watch`` runs alongside and may
    call ``ctx.shutdown``. Then the sessions are closed, ``session_end(ctx)`` runs (LiveKit's
    ``on_session_end``, within ``session_end_timeout`` s), then the shutdown callbacks.
    Returns ``("success", "")`` or ``("failed", error)``.
    """
    outcome = ["success", ""]

    async def run_entrypoint() -> None:
        try:
            await entrypoint(ctx)
        except Exception as exc:
            logger.error("job %s failed: %s", ctx.job_id, exc, exc_info=True)
            outcome[:] = ["failed", f"{type(exc).__name__}: {exc}"]
            ctx.shutdown(f"entrypoint raised {type(exc).__name__}")
            return
        reason = await ctx.wait_for_sessions()
        ctx.shutdown(ctx.shutdown_reason or reason)

    with ctx.use():
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_entrypoint)
            if watch is not None:
                tg.start_soon(watch)
            reason = await ctx.wait_for_shutdown()
            tg.cancel_scope.cancel()
        await ctx.close_sessions()
        if session_end is not None:
            with anyio.move_on_after(session_end_timeout) as scope:
                try:
                    result = session_end(ctx)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception("job %s: on_session_end failed", ctx.job_id)
            if scope.cancelled_caught:
                logger.error(
                    "job %s: on_session_end took longer than %.0f s and was cancelled",
                    ctx.job_id,
                    session_end_timeout,
                )
        await ctx.run_shutdown_callbacks(reason)
    return outcome[0], outcome[1]

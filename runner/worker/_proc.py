"""One job process seen from the worker: start, prewarm, run a job, watch it, end it.

A :class:`JobExecutor` owns one spawned process for its whole life (one job per process, as
LiveKit Agents does). While it runs, the worker pings it (a job that stops answering for
``hang_timeout`` is killed) and samples its memory (a job over ``memory_limit_mb`` is killed).

The job process runs in its own session and process group. Its memory is the RSS of the job
process plus that of every process below it (its subprocesses and theirs, even those that start
their own session), sampled every ``memory_interval`` (50 ms by default). A job that is killed
(memory limit, hang, shutdown timeout, worker stop) takes its process group and every
descendant with it; a job process that ends by itself takes its process group with it. So
whatever happens, the job process and its subprocesses are gone when :meth:`JobExecutor.run`
returns; the one exception is a subprocess that left the job's process group (``setsid``,
``start_new_session=True``) and outlives a job process that ended by itself.

**The memory limit is sampled, not hard**: a job may exceed its memory limit by at most what it
(with its subprocesses) can allocate in one sampling interval, plus the few milliseconds the
worker may take to wake the sampler. Measured on this project's 2-core AMD EPYC VM
(``test_memory.py``): a Python process writing fresh memory as fast as it can took ~1.4 GB/s,
and with a 120 MB limit its peak was 144-192 MB (at most 72 MB over: 1.4 GB/s x 50 ms = 70 MB).
For a hard limit, run the worker in a container or cgroup with a memory limit (``memory.max``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.context import SpawnContext
from typing import Any, Literal

import anyio
import psutil

from voicegraph.graph import ConfigError, UsageError

from ._child import ChildSetup, child_main
from ._job import JobInfo

__all__ = ["JobExecutor", "JobResult", "ProcOptions"]

logger = logging.getLogger("voicegraph.worker")

ExecutorStatus = Literal["starting", "idle", "running", "closed"]

WARN_INTERVAL = 1.0
"""Seconds between memory samples when only ``memory_warn_mb`` is set (no limit to enforce)."""


@dataclass(frozen=True, slots=True)
class ProcOptions:
    """Limits and timeouts of job processes.

    Attributes:
        initialize_timeout: seconds a new process may take to start and prewarm (default 10).
        shutdown_timeout: seconds a job may take to end after a shutdown request (default 10).
        hang_timeout: seconds without an answer to the worker's pings before a job process is
            killed as hung (default 90, as LiveKit Agents).
        ping_interval: seconds between pings (default 2.5; at most ``hang_timeout / 3``).
        memory_warn_mb: log a warning when a job's RSS passes this (default 1000; 0: never).
        memory_limit_mb: kill a job (its process group and every subprocess) whose RSS, summed
            over the job process and all its descendants, passes this (default 0: no limit).
            A sampled limit: the job may exceed it by what it can allocate in one
            ``memory_interval`` (~70 MB at 1.4 GB/s with the default; see the module docstring).
        memory_interval: seconds between memory samples while a limit is set (default 0.05).
            Sampling costs the worker about 0.3 % of a CPU core per running job at the default
            (measured: 8 jobs, 2.2 %; a sample ~50 us, plus ~10 us per thread of the job's
            processes when a process or thread was created on the host since the last one and
            the tree is walked again). Without a limit (only ``memory_warn_mb``) the check
            runs once a second.
    """

    initialize_timeout: float = 10.0
    shutdown_timeout: float = 10.0
    hang_timeout: float = 90.0
    ping_interval: float = 2.5
    memory_warn_mb: float = 1000.0
    memory_limit_mb: float = 0.0
    memory_interval: float = 0.05

    def __post_init__(self) -> None:
        if self.memory_interval <= 0:
            raise ConfigError(f"memory_interval must be > 0 seconds, got {self.memory_interval}")


@dataclass(frozen=True, slots=True)
class JobResult:
    """How a job ended.

    Attributes:
        job_id: the job.
        status: ``"success"`` (the entrypoint returned or the job was shut down cleanly) or
            ``"failed"`` (it raised, crashed, hung, ran out of memory or did not shut down).
        error: what went wrong ("" on success).
        pid: the job process.
        warm: whether the job got an already prewarmed process.
        start_latency: seconds from the worker launching the job (spawning a process for it
            if none was idle) to the entrypoint starting.
        duration: seconds from launch to the end of the process.
        peak_rss_mb: the highest RSS seen while the job ran, in MiB.
    """

    job_id: str
    status: Literal["success", "failed"]
    error: str
    pid: int
    warm: bool
    start_latency: float
    duration: float
    peak_rss_mb: float


class JobExecutor:
    """A job process: spawned by :meth:`run`, given a job by :meth:`launch`.

    Args:
        setup: the entrypoint and prewarm function (sent to the process).
        options: limits and timeouts.
        mp_context: the ``multiprocessing`` spawn context.
        on_update: called (synchronously) when the status changes: idle, running, closed.
    """

    def __init__(
        self,
        setup: ChildSetup,
        options: ProcOptions,
        mp_context: SpawnContext,
        on_update: Callable[[JobExecutor], None],
    ) -> None:
        self._setup = setup
        self._options = options
        self._ctx = mp_context
        self._on_update = on_update
        self.status: ExecutorStatus = "starting"
        self.pid = 0
        self.job: JobInfo | None = None
        self.warm = False
        self.result: JobResult | None = None
        self.init_error: str | None = None
        self.prewarm_seconds = 0.0
        self.exitcode: int | None = None
        self.peak_rss = 0
        self.started_at = time.monotonic()
        self.launched_at = 0.0
        self.running_at = 0.0
        self.initialized = anyio.Event()
        """Set once the process is ready for a job, or failed to start."""
        self.closed = anyio.Event()
        """Set once the process has ended and :attr:`result` is final."""
        self._exited = anyio.Event()
        self._done: tuple[str, str] | None = None
        self._kill_reason: str | None = None
        self._last_pong = 0.0
        self._conn: Any = None
        self._process: Any = None

    def __repr__(self) -> str:
        job = self.job.id if self.job is not None else None
        return f"<JobExecutor pid={self.pid} status={self.status} job={job}>"

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return not self._exited.is_set()

    # ------------------------------------------------------------------ lifecycle

    async def run(self, limiter: anyio.Semaphore | None = None) -> None:
        """Spawn the process and supervise it until it ends (then :attr:`closed` is set).

        ``limiter`` bounds how many processes start (spawn and prewarm) at once; the
        ``initialize_timeout`` counts from the moment this one may start.
        """
        loop = asyncio.get_running_loop()
        try:
            if limiter is None:
                await self._start(loop)
            else:
                async with limiter:
                    await self._start(loop)
            if self.init_error is None and self.alive:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._watch_pings)
                    tg.start_soon(self._watch_memory)
                    await self._exited.wait()
                    tg.cancel_scope.cancel()
            await self._exited.wait()
        finally:
            with anyio.CancelScope(shield=True):
                await self._cleanup(loop)

    async def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._kill_reason is not None:  # killed while waiting for its turn to start
            self.init_error = self._kill_reason
            self._exited.set()
            self.initialized.set()
            return
        parent, child = self._ctx.Pipe(duplex=True)
        self._conn = parent
        process = self._ctx.Process(
            target=child_main, args=(child, self._setup), name="voicegraph-job", daemon=False
        )
        self._process = process
        self.started_at = time.monotonic()
        process.start()
        child.close()
        self.pid = process.pid or 0
        loop.add_reader(parent.fileno(), self._on_readable)
        loop.add_reader(process.sentinel, self._on_exit)
        with anyio.move_on_after(self._options.initialize_timeout):
            await self.initialized.wait()
        if not self.initialized.is_set():
            self.init_error = (
                f"the job process did not start within {self._options.initialize_timeout} s "
                "(initialize_timeout; is prewarm slow?)"
            )
            self.initialized.set()
            self.kill(self.init_error)

    async def _cleanup(self, loop: asyncio.AbstractEventLoop) -> None:
        process = self._process
        if self._conn is not None:
            with contextlib.suppress(Exception):
                loop.remove_reader(self._conn.fileno())
        if process is not None and process.pid is not None:
            with contextlib.suppress(Exception):
                loop.remove_reader(process.sentinel)
            if not self._exited.is_set() and process.exitcode is None:  # we are cancelled
                self._kill_reason = self._kill_reason or "the worker is shutting down"
                kill_tree(process.pid)
            kill_group(process.pid)  # whatever the job left behind in its group
            for i in range(400):  # reap without blocking the loop (a core dump takes a while)
                if process.exitcode is not None:
                    break
                if i == 200:
                    process.kill()
                await anyio.sleep(0.01)
            self.exitcode = process.exitcode
            with contextlib.suppress(Exception):
                process.close()
        with contextlib.suppress(Exception):
            self._conn.close()
        self._exited.set()
        self.initialized.set()
        self._finish()

    def launch(self, info: JobInfo, *, warm: bool, requested_at: float | None = None) -> None:
        """Give the (idle) process its job; ``requested_at`` (monotonic) starts the latency."""
        if self.status != "idle":
            raise UsageError(
                f"cannot launch a job on a {self.status} job process: launch() takes an idle "
                "process; ask the pool for a new one"
            )
        self.job = info
        self.warm = warm
        self.launched_at = time.monotonic() if requested_at is None else requested_at
        self.status = "running"
        if not self._send(("start", info)):
            self.kill("the job process is gone")

    async def aclose(self, reason: str = "", timeout: float | None = None) -> None:
        """Ask the process to end (its job runs its shutdown callbacks); kill it after ``timeout``.

        ``timeout`` defaults to the options' ``shutdown_timeout``.
        """
        if self.closed.is_set():
            return
        timeout = self._options.shutdown_timeout if timeout is None else timeout
        self._send(("shutdown", reason or "shut down by the worker"))
        with anyio.move_on_after(timeout):
            await self.closed.wait()
        if not self.closed.is_set():
            self.kill(f"the job did not shut down within {timeout} s (shutdown_timeout)")
            await self.closed.wait()

    def kill(self, reason: str) -> None:
        """Kill the process, its process group and its descendants now (SIGKILL).

        ``reason`` becomes the job's error.
        """
        if self._kill_reason is None:
            self._kill_reason = reason
        process = self._process
        if process is not None and process.pid is not None and process.exitcode is None:
            log = logger.warning if self.job is not None else logger.debug  # idle: no loss
            log("killing job process %s: %s", self.pid, reason)
            kill_tree(process.pid)
            with contextlib.suppress(Exception):
                process.kill()  # in case it has not started its own process group yet

    # ------------------------------------------------------------------ messages

    def _send(self, msg: tuple[Any, ...]) -> bool:
        try:
            self._conn.send(msg)
            return True
        except (OSError, EOFError, ValueError, AttributeError):
            return False

    def _on_readable(self) -> None:
        try:
            while self._conn.poll():
                self._handle(self._conn.recv())
        except (EOFError, OSError):
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._conn.fileno())

    def _handle(self, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "pong":
            self._last_pong = time.monotonic()
        elif kind == "ready":
            self.prewarm_seconds = float(msg[1])
            self._last_pong = time.monotonic()
            self.status = "idle"
            self.initialized.set()
            self._on_update(self)
        elif kind == "init_failed":
            self.init_error = f"prewarm failed in the job process: {msg[1]}"
            logger.error("job process %s: %s\n%s", self.pid, self.init_error, msg[2])
            self.initialized.set()
        elif kind == "running":
            self.running_at = time.monotonic()
            self._on_update(self)
        elif kind == "done":
            self._done = (str(msg[1]), str(msg[2]))

    def _on_exit(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self._process.sentinel)
        kill_group(self.pid)  # its subprocesses go with it (still in its group: pgid still ours)
        self._on_readable()  # a "done" may still be in the pipe
        self._exited.set()
        if not self.initialized.is_set():
            self.init_error = self._kill_reason or "the job process exited during startup"
            self.initialized.set()

    def _finish(self) -> None:
        if self.status == "closed":
            return
        job = self.job
        if job is not None:
            if self._done is not None:  # the job reported its end before the process went
                status, error = self._done
            elif self._kill_reason is not None:
                status, error = "failed", self._kill_reason
            else:
                status, error = "failed", f"the job process died: {_describe_exit(self.exitcode)}"
            now = time.monotonic()
            self.result = JobResult(
                job_id=job.id,
                status="success" if status == "success" else "failed",
                error=error,
                pid=self.pid,
                warm=self.warm,
                start_latency=(self.running_at - self.launched_at) if self.running_at else 0.0,
                duration=now - self.launched_at,
                peak_rss_mb=self.peak_rss / 2**20,
            )
        self.status = "closed"
        self.closed.set()
        self._on_update(self)

    # ------------------------------------------------------------------ watchdogs

    async def _watch_pings(self) -> None:
        hang = self._options.hang_timeout
        interval = min(self._options.ping_interval, hang / 3)
        self._last_pong = time.monotonic()
        while True:
            await anyio.sleep(interval)
            silent = time.monotonic() - self._last_pong
            if silent > hang:
                self.kill(
                    f"the job process stopped answering for {silent:.1f} s (hang_timeout "
                    f"{hang} s): is the job blocking its event loop?"
                )
                return
            if not self._send(("ping", time.monotonic())):
                return

    async def _watch_memory(self) -> None:
        warn_mb, limit_mb = self._options.memory_warn_mb, self._options.memory_limit_mb
        if warn_mb <= 0 and limit_mb <= 0:
            return
        interval = self._options.memory_interval if limit_mb > 0 else WARN_INTERVAL
        warned = False
        tree = ProcessTree(self.pid)
        while True:
            if self.status == "running":
                rss = tree.rss()
                if rss is None:  # the process is gone
                    return
                self.peak_rss = max(self.peak_rss, rss)
                mb = rss / 2**20
                if limit_mb > 0 and mb > limit_mb:
                    self.kill(
                        f"the job used {mb:.0f} MB of memory, over job_memory_limit_mb={limit_mb:g}"
                    )
                    return
                if warn_mb > 0 and mb > warn_mb and not warned:
                    warned = True
                    logger.warning(
                        "job %s uses %.0f MB of memory (job_memory_warn_mb=%g)",
                        self.job.id if self.job else "?",
                        mb,
                        warn_mb,
                    )
            await anyio.sleep(interval)


# ---------------------------------------------------------------------- process trees

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_PROC_CHILDREN = sys.platform == "linux" and os.path.exists(
    f"/proc/{os.getpid()}/task/{os.getpid()}/children"
)
"""Whether the kernel lists each thread's children (Linux ``CONFIG_PROC_CHILDREN``): walking the
tree then reads only the job's own ``/proc`` entries, not every process on the host."""


def _read(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 65536)
    except OSError:
        return None
    finally:
        os.close(fd)


def _children(pid: int, attempts: int = 5) -> list[int]:
    """``pid``'s children, from each thread's ``children`` file (a child is listed under the
    thread that started it). A thread that ends during the walk hands its children to a
    thread that may already have been read: then the walk is done again."""
    found: list[int] = []
    for _ in range(attempts):
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return []
        found, complete = [], True
        for tid in threads:
            data = _read(f"/proc/{pid}/task/{tid}/children")
            if data is None:  # the thread ended: its children moved to another thread
                complete = False
            elif data:
                found.extend(int(child) for child in data.split())
        if complete:
            break
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...), as found now."""
    if not _PROC_CHILDREN:
        try:
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    found: list[int] = []
    todo = [pid]
    while todo:
        children = _children(todo.pop())
        found.extend(children)
        todo.extend(children)
    return found


def _rss(pid: int) -> int | None:
    if sys.platform == "linux":
        data = _read(f"/proc/{pid}/statm")
        return int(data.split()[1]) * _PAGE_SIZE if data else None
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return None


def _last_pid() -> int | None:
    """The pid most recently given out in this pid namespace (Linux), or ``None``."""
    data = _read("/proc/loadavg") if _PROC_CHILDREN else None
    return int(data.split()[-1]) if data else None


class ProcessTree:
    """Samples the memory of a process and its descendants.

    Walking the tree reads one ``/proc`` file per thread of every process in it (about 10 us
    each), so it is done again only when a new process (or thread) may exist: when the last pid
    the kernel gave out has changed since the previous walk. Otherwise a sample reads one small
    file per process (~10 us each).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._known: list[int] = []
        self._walked_at: int | None = None

    @property
    def descendants(self) -> list[int]:
        """The descendants counted by the last sample."""
        return list(self._known)

    def rss(self) -> int | None:
        """The RSS of the process plus that of its descendants, in bytes (``None``: gone).

        Pages shared between the processes count once per process (an upper bound).
        """
        cursor = _last_pid()  # read before the walk: a process started during it moves it
        if cursor is None or cursor != self._walked_at:
            self._known = descendants(self.pid)
            self._walked_at = cursor
        own = _rss(self.pid)
        if own is None:
            return None
        total, alive = own, []
        for child in self._known:
            rss = _rss(child)
            if rss is not None:
                total += rss
                alive.append(child)
        self._known = alive
        return total


def kill_group(pgid: int) -> None:
    """SIGKILL the process group ``pgid`` (a job process leads its own); no error if it is gone.

    Safe while the group leader is not reaped, or while the group still has members: until then
    the kernel does not give the number ``pgid`` to another process (and Linux hands out pids in
    a cycle, so the number of a group that just emptied does not come back for a long while).
    """
    if pgid > 0 and hasattr(os, "killpg"):  # never 0: that is the worker's own group
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``, its process group and every descendant, even those in another group.

    The tree is stopped first (SIGSTOP), so nothing in it can start a process the kill misses.
    Call it only while ``pid`` is alive (not reaped).
    """
    if pid <= 0:
        return
    stop = getattr(signal, "SIGSTOP", None)
    if stop is not None and hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(pid, stop)
        for child in descendants(pid):  # a subprocess in its own session: not in the group
            with contextlib.suppress(OSError):
                os.kill(child, stop)
    tree = descendants(pid)  # now frozen
    kill_group(pid)
    for target in (pid, *tree):
        with contextlib.suppress(OSError):
            os.kill(target, signal.SIGKILL)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"

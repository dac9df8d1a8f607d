"""The job process pool: ``num_idle`` processes kept spawned and prewarmed, one process per job.

A job launched while an idle process is ready starts in a few milliseconds (warm); otherwise a
process is spawned for it and prewarmed first (cold). A process that crashes, hangs or runs
out of memory takes only its own job down; the pool spawns a replacement.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

import anyio
import anyio.abc

from voicegraph.graph import ConfigError, RunnerError

from ._child import ChildSetup
from ._job import JobInfo
from ._proc import JobExecutor, JobResult, ProcOptions

__all__ = ["ProcPool"]

logger = logging.getLogger("voicegraph.worker")

MAX_HISTORY = 1000
"""How many finished jobs :attr:`ProcPool.results` keeps."""


class ProcPool:
    """Spawned job processes, ``num_idle`` of them kept ready (use ``async with``).

    Args:
        setup: the entrypoint and prewarm function every process gets.
        num_idle: how many prewarmed idle processes to keep ready (default 0: cold starts).
        options: limits and timeouts of the processes.
        on_job_update: called with the executor when a job starts running and when it ends
            (``executor.result`` is then set).
        max_concurrent_starts: processes spawned and prewarmed at the same time (default: one
            per CPU, at most 4, as LiveKit Agents); the others wait their turn, so a burst
            does not make every prewarm miss ``initialize_timeout``.

    >>> async with ProcPool(ChildSetup("agent:entrypoint"), num_idle=2) as pool:  # doctest: +SKIP
    ...     executor = await pool.launch_job(JobInfo("job-1", room="demo"))
    ...     await executor.closed.wait()
    """

    def __init__(
        self,
        setup: ChildSetup,
        *,
        num_idle: int = 0,
        options: ProcOptions | None = None,
        on_job_update: Callable[[JobExecutor], None] | None = None,
        max_concurrent_starts: int | None = None,
    ) -> None:
        if num_idle < 0:
            raise ConfigError(f"num_idle must be >= 0 (0 = no prewarmed processes), got {num_idle}")
        self.setup = setup
        self.options = options if options is not None else ProcOptions()
        self._num_idle = num_idle
        self._on_job_update = on_job_update
        self._ctx = multiprocessing.get_context("spawn")
        self._tg: anyio.abc.TaskGroup | None = None
        self._max_starts = max_concurrent_starts or max(1, min(os.cpu_count() or 1, 4))
        self._limiter: anyio.Semaphore | None = None
        self._executors: set[JobExecutor] = set()
        self._idle: deque[JobExecutor] = deque()
        self._reserved: set[JobExecutor] = set()
        self._jobs: dict[str, JobExecutor] = {}
        self._no_jobs = anyio.Event()
        self._no_jobs.set()
        self._closing = False
        self._init_failures = 0
        self._backoff_until = 0.0
        self._refill_scheduled = False
        self.results: deque[JobResult] = deque(maxlen=MAX_HISTORY)
        """The last finished jobs, oldest first."""
        self.processes_started = 0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> ProcPool:
        self._limiter = anyio.Semaphore(self._max_starts)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._refill()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._tg is not None
        self._closing = True
        self._tg.cancel_scope.cancel()  # every executor kills its process on the way out
        return await self._tg.__aexit__(et, exc, tb)

    async def aclose(self, reason: str = "the worker is shutting down") -> None:
        """End every process: running jobs get a shutdown request (and ``shutdown_timeout``)."""
        self._closing = True
        async with anyio.create_task_group() as tg:
            for ex in list(self._executors):
                if ex.job is None:
                    ex.kill(reason)  # idle: nothing to lose, no need to wait for it
                else:
                    tg.start_soon(ex.aclose, reason)

    # ------------------------------------------------------------------ jobs

    @property
    def num_idle(self) -> int:
        """The number of idle processes the pool keeps ready."""
        return self._num_idle

    @num_idle.setter
    def num_idle(self, value: int) -> None:
        self._num_idle = max(0, value)
        self._refill()

    @property
    def idle_count(self) -> int:
        """Processes ready for a job now."""
        return len(self._idle)

    @property
    def running(self) -> list[JobExecutor]:
        """The executors running a job."""
        return list(self._jobs.values())

    @property
    def executors(self) -> list[JobExecutor]:
        """Every live process: starting, idle and running."""
        return list(self._executors)

    def get(self, job_id: str) -> JobExecutor | None:
        """The executor running ``job_id``, if any."""
        return self._jobs.get(job_id)

    async def launch_job(self, info: JobInfo) -> JobExecutor:
        """Run ``info`` in an idle process (warm) or in a new one (cold, prewarmed first).

        Raises:
            RunnerError: the pool is closing, the job id is already running, or no process
                could be started for it.
        """
        if self._closing or self._tg is None:
            raise RunnerError("the job process pool is closed: cannot launch a job")
        if info.id in self._jobs:
            raise RunnerError(f"job {info.id!r} is already running in this worker")
        requested_at = time.monotonic()
        executor, warm = None, False
        while self._idle:
            candidate = self._idle.popleft()
            if candidate.status == "idle" and candidate.alive:
                executor, warm = candidate, True
                break
        if executor is None:
            starting = [
                ex for ex in self._executors if ex.status == "starting" and ex not in self._reserved
            ]
            if starting:  # a process is already on its way: take it rather than spawn another
                executor = min(starting, key=lambda ex: ex.started_at)
                self._reserved.add(executor)
            else:
                executor = self._start(reserved=True)
            await executor.initialized.wait()
            self._reserved.discard(executor)
            if executor.status != "idle":
                raise RunnerError(
                    f"could not start a job process for job {info.id!r}: "
                    f"{executor.init_error or 'it exited during startup'}"
                )
        self._jobs[info.id] = executor
        self._no_jobs = anyio.Event() if self._no_jobs.is_set() else self._no_jobs
        executor.launch(info, warm=warm, requested_at=requested_at)
        self._refill()
        return executor

    async def wait_for_jobs(self) -> None:
        """Wait until no job is running."""
        while self._jobs:
            await self._no_jobs.wait()

    # ------------------------------------------------------------------ processes

    def _start(self, *, reserved: bool = False) -> JobExecutor:
        assert self._tg is not None
        ex = JobExecutor(self.setup, self.options, self._ctx, self._on_update)
        self._executors.add(ex)
        if reserved:
            self._reserved.add(ex)
        self.processes_started += 1
        self._tg.start_soon(self._supervise, ex, name=f"voicegraph:job-process-{id(ex):x}")
        return ex

    async def _supervise(self, ex: JobExecutor) -> None:
        try:
            await ex.run(self._limiter)
        finally:
            self._executors.discard(ex)
            self._reserved.discard(ex)
            if ex in self._idle:
                self._idle.remove(ex)
            if ex.job is None and ex.init_error is not None:
                self._init_failures += 1
                self._backoff_until = anyio.current_time() + min(2.0**self._init_failures, 30.0)
            elif ex.status == "closed" and ex.init_error is None:
                self._init_failures = 0
            if not self._closing:
                self._refill()

    def _on_update(self, ex: JobExecutor) -> None:
        if ex.job is None:
            if ex.status == "idle" and ex not in self._reserved and not self._closing:
                self._idle.append(ex)
            return
        if ex.status == "closed":
            if self._jobs.get(ex.job.id) is ex:
                del self._jobs[ex.job.id]
            if ex.result is not None:
                self.results.append(ex.result)
            if not self._jobs:
                self._no_jobs.set()
        if self._on_job_update is not None:
            try:
                self._on_job_update(ex)
            except Exception:
                logger.exception("the job update callback failed")

    def _refill(self) -> None:
        if self._closing or self._tg is None:
            return
        starting = sum(
            1 for ex in self._executors if ex.status == "starting" and ex not in self._reserved
        )
        missing = self._num_idle - len(self._idle) - starting
        if missing <= 0:
            return
        delay = self._backoff_until - anyio.current_time()
        if delay > 0:
            if not self._refill_scheduled:
                self._refill_scheduled = True
                self._tg.start_soon(self._refill_later, delay)
            return
        for _ in range(missing):
            self._start()

    async def _refill_later(self, delay: float) -> None:
        await anyio.sleep(delay)
        self._refill_scheduled = False
        self._refill()

"""The :class:`AgentServer`: a worker that takes jobs from a LiveKit server and runs them.

It registers over the agent worker protocol (see ``_connection``), reports its load, accepts
job offers while under ``load_threshold`` (and the user's ``request_fnc`` agrees), and runs
each accepted job in its own process from a prewarmed pool (see ``_pool``). A job that
crashes, hangs or passes the memory limit is killed and reported as failed; the worker and
the other jobs go on. On SIGTERM (or :meth:`AgentServer.drain`) it stops taking jobs, lets
the running ones finish (up to ``drain_timeout``), reports them, and exits.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from voicegraph.graph import (
    ConfigError,
    MissingDependencyError,
    RunnerError,
    first_error,
    leaf_exceptions,
)

from ._child import ChildSetup, Entrypoint, Prewarm, SessionEnd
from ._connection import WorkerConnection
from ._health import bind_health_socket, serve_health
from ._job import JobInfo, JobRequest, check_entrypoint
from ._load import CpuLoad
from ._messages import RequestFnc, decide, job_update, register_request, worker_status
from ._options import ServerOptions, credentials
from ._pool import ProcPool
from ._proc import JobExecutor, JobResult

if TYPE_CHECKING:
    from livekit.protocol import agent

__all__ = ["AgentServer"]

_PROCESS_SETTINGS = {
    "job_memory_warn_mb": "memory_warn_mb",
    "job_memory_limit_mb": "memory_limit_mb",
    "initialize_process_timeout": "initialize_timeout",
    "shutdown_process_timeout": "shutdown_timeout",
    "hang_timeout": "hang_timeout",
}
"""LiveKit Agents' names for the job process settings (``ProcOptions`` fields)."""

logger = logging.getLogger("voicegraph.worker")

LoadFnc = Callable[["AgentServer"], float] | Callable[[], float]


class AgentServer:
    """A LiveKit agent worker running each job in its own process.

    Args:
        entrypoint: ``async def entrypoint(ctx: JobContext)``, or ``"module:function"``; it
            must be importable by the job processes (a module-level function). May also be
            set with the :meth:`rtc_session` decorator.
        prewarm: ``def prewarm(proc: JobProcess)``, run once in every job process before it
            takes a job (load models into ``proc.userdata``).
        request_fnc: decides on each offer: call ``request.accept(...)`` or
            ``request.reject()`` (sync or async). Default: accept.
        load_fnc: the worker's load, 0..1 (``load_fnc(server)`` or ``load_fnc()``). Default:
            the machine's CPU use averaged over 2.5 s.
        options: a :class:`ServerOptions`; keyword ``settings`` override its fields, and
            LiveKit Agents' process settings are accepted too: ``job_memory_limit_mb``,
            ``job_memory_warn_mb``, ``initialize_process_timeout``,
            ``shutdown_process_timeout``, ``hang_timeout`` (see :class:`ProcOptions`).
        log_level: logging level in the job processes (default INFO).
        sys_path: import paths added in the job processes (the folder of an agent file).

    Example (in an ``async`` function; the server comes from ``LIVEKIT_URL``,
    ``LIVEKIT_API_KEY`` and ``LIVEKIT_API_SECRET``)::

        server = AgentServer(entrypoint, prewarm=prewarm, load_threshold=0.8)
        await server.run()

    ``async with server:`` calls :meth:`aclose` when the block ends (it does not start
    :meth:`run`): jobs still running are shut down and ``run()`` returns.
    """

    def __init__(
        self,
        entrypoint: Entrypoint | str | None = None,
        *,
        prewarm: Prewarm | str | None = None,
        request_fnc: RequestFnc | None = None,
        load_fnc: LoadFnc | None = None,
        options: ServerOptions | None = None,
        log_level: int = logging.INFO,
        sys_path: tuple[str, ...] = (),
        **settings: Any,
    ) -> None:
        process = {
            field: settings.pop(name)
            for name, field in _PROCESS_SETTINGS.items()
            if name in settings
        }
        try:
            base = options if options is not None else ServerOptions()
            if process:
                settings["process"] = replace(settings.get("process", base.process), **process)
            self.options = replace(base, **settings) if settings else base
        except TypeError as exc:
            raise ConfigError(f"AgentServer: {exc}") from None
        if entrypoint is not None and not isinstance(entrypoint, str):
            check_entrypoint(entrypoint)
        self.entrypoint = entrypoint
        self.prewarm = prewarm
        self.session_end: SessionEnd | str | None = None
        """``async def on_session_end(ctx)`` (see :meth:`rtc_session`)."""
        self.request_fnc = request_fnc
        self.load_fnc = load_fnc
        self.log_level = log_level
        self.sys_path = sys_path
        self.id = ""
        """The worker id the server gave at registration ("" before)."""
        self.load = 0.0
        """The last measured load."""
        self.http_port: int | None = None
        """The health server's port once it listens."""
        self.rejected: deque[tuple[str, str]] = deque(maxlen=1000)
        """Offers declined: (job id, reason)."""
        self._draining = False
        self._closing = False
        self._pending: dict[str, asyncio.Future[agent.JobAssignment]] = {}
        self._pool: ProcPool | None = None
        self._conn: WorkerConnection | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._stop: anyio.Event | None = None
        self._registered: anyio.Event | None = None
        self._cpu: CpuLoad | None = None

    def rtc_session(
        self,
        func: Entrypoint | None = None,
        *,
        agent_name: str | None = None,
        type: Any = None,
        on_request: RequestFnc | None = None,
        on_session_end: SessionEnd | None = None,
    ) -> Any:
        """Set the entrypoint, as a decorator or directly (LiveKit's ``rtc_session``)::

            @server.rtc_session(agent_name="support", on_session_end=save_report)
            async def entrypoint(ctx: JobContext) -> None: ...

            server.rtc_session(entrypoint)           # the same, without a decorator

        Args:
            func: the entrypoint (direct form); omitted, a decorator is returned.
            agent_name: the agent name for explicit dispatch.
            type: LiveKit's server type; only room jobs (``None`` or ``"room"``) exist here.
            on_request: decides on each offer (as ``request_fnc``).
            on_session_end: ``async def on_session_end(ctx)``, run in the job process once
                the job's session has ended, before the shutdown callbacks (e.g. to save
                ``ctx.make_session_report()``).

        Raises:
            ConfigError: not an async function, or an unsupported ``type``.
        """
        kind = str(getattr(type, "value", type) or "room").lower()
        if kind not in ("room", "jt_room", "0"):
            raise ConfigError(
                f"rtc_session(type={type!r}): voicegraph's worker runs room jobs only; drop "
                "`type` or use the room type"
            )

        def decorate(fn: Entrypoint) -> Entrypoint:
            check_entrypoint(fn)
            self.entrypoint = fn
            if agent_name is not None:
                self.options = replace(self.options, agent_name=agent_name)
            if on_request is not None:
                self.request_fnc = on_request
            if on_session_end is not None:
                self.session_end = on_session_end
            return fn

        if func is not None:
            return decorate(func)
        return decorate

    # ------------------------------------------------------------------ state

    @property
    def draining(self) -> bool:
        """Whether the worker stopped taking jobs."""
        return self._draining

    @property
    def pool(self) -> ProcPool:
        """The job process pool (while running)."""
        if self._pool is None:
            raise RunnerError("the agent server is not running")
        return self._pool

    @property
    def active_jobs(self) -> list[JobInfo]:
        """The jobs running now."""
        if self._pool is None:
            return []
        return [ex.job for ex in self._pool.running if ex.job is not None]

    @property
    def job_count(self) -> int:
        """Jobs running plus jobs accepted and awaiting their assignment."""
        return len(self.active_jobs) + len(self._pending)

    @property
    def results(self) -> list[JobResult]:
        """How the last jobs ended (up to 1000)."""
        return list(self._pool.results) if self._pool is not None else []

    async def wait_registered(self) -> str:
        """Wait until the worker is registered; return its id."""
        while self._registered is None:
            await anyio.sleep(0.01)
        await self._registered.wait()
        return self.id

    # ------------------------------------------------------------------ running

    async def run(
        self,
        url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        handle_signals: bool | None = None,
    ) -> None:
        """Serve jobs until :meth:`aclose`, a finished drain, or a fatal connection error.

        Args:
            url: the LiveKit server (default ``LIVEKIT_URL``).
            api_key: default ``LIVEKIT_API_KEY``.
            api_secret: default ``LIVEKIT_API_SECRET``.
            handle_signals: drain on the first SIGTERM/SIGINT, stop at once on the second
                (default: when running in the main thread).

        Raises:
            ConfigError: missing credentials or entrypoint, or the health-check port is in use
                (checked before registering or starting any job process).
            ProviderError: the server refused the credentials or could not be reached.
        """
        creds = credentials(url, api_key, api_secret)
        if self.entrypoint is None:
            raise ConfigError(
                "the agent server has no entrypoint: pass AgentServer(entrypoint) or decorate "
                "a function with @server.rtc_session()"
            )
        try:
            import aiohttp
        except ImportError as exc:
            raise MissingDependencyError("aiohttp", "livekit", what="the worker") from exc
        if handle_signals is None:
            handle_signals = threading.current_thread() is threading.main_thread()
        setup = ChildSetup(
            _reference(self.entrypoint),
            _reference(self.prewarm),
            self.log_level,
            self.sys_path,
            _reference(self.session_end),
        )
        self._stop, self._registered = anyio.Event(), anyio.Event()
        self._draining = self._closing = False
        if self.load_fnc is None:
            self._cpu = CpuLoad()
            self._cpu.start()
        health = None
        try:
            if self.options.http_port is not None:  # a busy port fails here: before any job
                health = bind_health_socket(self.options.http_host, self.options.http_port)
                self.http_port = health.getsockname()[1]
            pool = ProcPool(
                setup,
                num_idle=self.options.num_idle_processes,
                options=self.options.process,
                on_job_update=self._on_job_update,
            )
            async with pool, aiohttp.ClientSession() as http:
                self._pool = pool
                conn = self._conn = WorkerConnection(creds, self.options, self)
                try:
                    async with anyio.create_task_group() as tg:
                        self._tg = tg
                        if health is not None:
                            await tg.start(serve_health, self, health)
                        tg.start_soon(self._serve_connection, conn, http)
                        tg.start_soon(self._report_status)
                        if handle_signals:
                            tg.start_soon(self._watch_signals)
                        await self._stop.wait()
                        tg.cancel_scope.cancel()
                finally:
                    with anyio.CancelScope(shield=True):
                        await pool.aclose()
                        await conn.flush(2.0)
                        await conn.aclose()
        except BaseExceptionGroup as group:
            raise _error_of(group) from None
        finally:
            if health is not None:
                health.close()
            if self._cpu is not None:
                self._cpu.stop()
            self._tg = None
            self._conn = None

    async def _serve_connection(self, conn: WorkerConnection, http: Any) -> None:
        await conn.run(http)
        assert self._stop is not None
        self._stop.set()

    async def drain(self, timeout: float | None = None) -> None:
        """Stop taking jobs, wait for the running ones (``drain_timeout`` by default), stop.

        Jobs still running after the timeout are shut down (their shutdown callbacks run)
        and reported. Every job's final status is sent before the connection closes.
        """
        if self._draining:
            return
        self._draining = True
        logger.info("draining: no new jobs; waiting for %d running job(s)", len(self.active_jobs))
        await self._send_status()
        pool = self.pool
        pool.num_idle = 0
        for ex in pool.executors:
            if ex.job is None:
                ex.kill("the worker is draining")
        timeout = self.options.drain_timeout if timeout is None else timeout
        with anyio.move_on_after(timeout):
            while self._pending:
                await anyio.sleep(0.05)
            await pool.wait_for_jobs()
        if pool.running:
            logger.warning(
                "drain timeout (%g s): shutting down %d job(s)", timeout, len(pool.running)
            )
        await self.aclose()

    async def aclose(self) -> None:
        """Shut down running jobs now (each gets ``shutdown_timeout``), report them, stop."""
        if self._closing:
            return
        self._closing = self._draining = True
        if self._pool is not None:
            await self._pool.aclose()
        if self._conn is not None:
            await self._conn.flush(2.0)
        if self._stop is not None:
            self._stop.set()

    async def __aenter__(self) -> AgentServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _watch_signals(self) -> None:
        assert self._tg is not None
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                name = signal.Signals(signum).name
                if not self._draining:
                    logger.info("%s: draining the worker (send it again to stop now)", name)
                    self._tg.start_soon(self.drain)
                else:
                    logger.warning("%s again: shutting down the running jobs now", name)
                    self._tg.start_soon(self.aclose)

    # ------------------------------------------------------------------ load

    def current_load(self) -> float:
        """Measure the load now (``load_fnc`` or the CPU average)."""
        fn = self.load_fnc
        if fn is None:
            load = self._cpu.value if self._cpu is not None else 0.0
        elif _takes_argument(fn):
            load = float(fn(self))  # type: ignore[call-arg]
        else:
            load = float(fn())  # type: ignore[call-arg]
        self.load = load
        return load

    async def _send_status(self) -> None:
        if self._conn is not None:
            load = self.current_load()
            full = self._draining or load >= self.options.load_threshold
            status = worker_status(
                load=load, full=full, jobs=len(self.active_jobs), draining=self._draining
            )
            await self._conn.send(status)

    async def _report_status(self) -> None:
        while True:
            await anyio.sleep(self.options.update_interval)
            await self._send_status()

    # ------------------------------------------------------------------ protocol handlers

    def register_request(self) -> agent.WorkerMessage:
        """The register message this worker sends first on every connection."""
        return register_request(self.options)

    def on_registered(self, msg: agent.RegisterWorkerResponse) -> None:
        """The server accepted the registration."""
        self.id = msg.worker_id
        info = msg.server_info
        logger.info(
            "registered worker %s (server %s %s, region %r)",
            msg.worker_id,
            info.edition,
            info.version,
            info.region,
        )
        if self._registered is not None:
            self._registered.set()
        if self._tg is not None:
            self._tg.start_soon(self._send_status)

    def on_availability(self, msg: agent.AvailabilityRequest) -> None:
        """A job offer: answer it (and launch the job once assigned) in a task."""
        if self._tg is not None:
            self._tg.start_soon(self._answer, msg)

    def on_assignment(self, msg: agent.JobAssignment) -> None:
        """The server assigned a job this worker accepted."""
        fut = self._pending.get(msg.job.id)
        if fut is None or fut.done():
            logger.warning("assignment for job %s, which this worker did not accept", msg.job.id)
            return
        fut.set_result(msg)

    def on_termination(self, msg: agent.JobTermination) -> None:
        """The server ends a job."""
        ex = self._pool.get(msg.job_id) if self._pool is not None else None
        if ex is None:
            logger.debug("termination of unknown job %s", msg.job_id)
        elif self._tg is not None:
            logger.info("job %s: terminated by the server", msg.job_id)
            self._tg.start_soon(ex.aclose, "terminated by the server")

    async def _answer(self, msg: agent.AvailabilityRequest) -> None:
        from livekit.protocol import agent

        job = msg.job
        request = JobRequest(job)
        reason = await decide(
            request,
            draining=self._draining,
            load=self.current_load() if not self._draining else 0.0,
            threshold=self.options.load_threshold,
            request_fnc=self.request_fnc,
        )
        response = agent.AvailabilityResponse(job_id=job.id, available=bool(request.decision))
        if not request.decision:
            self.rejected.append((job.id, reason))
            logger.info("rejected job %s (room %r): %s", job.id, job.room.name, reason)
            await self._send(agent.WorkerMessage(availability=response))
            return
        response.participant_identity = request.identity
        response.participant_name = request.name
        response.participant_metadata = request.metadata
        response.participant_attributes.update(request.attributes)
        fut: asyncio.Future[agent.JobAssignment] = asyncio.get_running_loop().create_future()
        self._pending[job.id] = fut
        try:
            await self._send(agent.WorkerMessage(availability=response))
            with anyio.move_on_after(self.options.assignment_timeout):
                assignment = await fut
            if not fut.done():
                logger.warning("job %s was accepted but never assigned", job.id)
                return
        finally:
            self._pending.pop(job.id, None)
        info = JobInfo(
            id=job.id,
            room=job.room.name,
            url=assignment.url or (self._conn.creds.url if self._conn else ""),
            token=assignment.token,
            identity=request.identity,
            name=request.name,
            metadata=job.metadata,
            agent_name=job.agent_name,
            participant_identity=job.participant.identity,
            worker_id=self.id,
            attributes=request.attributes,
            job_proto=job.SerializeToString(),
            api_key=self._conn.creds.api_key if self._conn else "",
            api_secret=self._conn.creds.api_secret if self._conn else "",
        )
        try:
            await self.pool.launch_job(info)
        except RunnerError as exc:
            logger.error("job %s could not start: %s", job.id, exc)
            update = agent.UpdateJobStatus(
                job_id=job.id, status=agent.JobStatus.JS_FAILED, error=str(exc)
            )
            await self._send(agent.WorkerMessage(update_job=update))

    async def _send(self, msg: agent.WorkerMessage) -> None:
        if self._conn is not None:
            await self._conn.send(msg)

    def _on_job_update(self, ex: JobExecutor) -> None:
        msg = job_update(ex)
        if msg is None or self._conn is None:
            return
        if not self._conn.send_nowait(msg) and self._tg is not None:
            self._tg.start_soon(self._conn.send, msg)

    def __repr__(self) -> str:
        return f"<AgentServer id={self.id!r} jobs={len(self.active_jobs)}>"


def _reference(fn: Any) -> Any:
    """``"module:qualname"`` for a module-level function (imported by name in the job process,
    after ``sys_path`` is set); other callables are pickled as they are."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if callable(fn) and module and module != "__main__" and "<locals>" not in qualname:
        return f"{module}:{qualname}"
    return fn


def _takes_argument(fn: Callable[..., Any]) -> bool:
    try:
        return len(inspect.signature(fn).parameters) > 0
    except (TypeError, ValueError):
        return True


def _error_of(group: BaseExceptionGroup) -> BaseException:
    """The error to raise for the worker's tasks: the first Exception, else e.g. a Ctrl-C."""
    error = first_error(group)
    if error is group:  # no Exception: a KeyboardInterrupt stays one (the CLI catches it)
        cancelled = anyio.get_cancelled_exc_class()
        error = next((e for e in leaf_exceptions(group) if not isinstance(e, cancelled)), group)
    return error

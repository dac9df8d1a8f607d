"""What a job is: :class:`JobInfo`, :class:`JobProcess`, :class:`JobRequest`, :class:`JobContext`.

A LiveKit server dispatches a *job* (an agent for one room) to a worker; the worker runs it in a
job process, where the user's entrypoint receives a :class:`JobContext`::

    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()
        participant = await ctx.wait_for_participant()
        ...

    def prewarm(proc: JobProcess) -> None:
        proc.userdata["vad"] = load_vad()      # once per process, before any job is assigned
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, overload

import anyio

from voicegraph.graph import ConfigError, MissingDependencyError, ProviderError, UsageError

from ._report import SessionReport

if TYPE_CHECKING:
    from livekit import api, rtc
    from livekit.protocol import agent

__all__ = [
    "JobContext",
    "JobInfo",
    "JobProcess",
    "JobRequest",
    "JobSession",
    "ShutdownCallback",
    "get_job_context",
]

logger = logging.getLogger("voicegraph.worker")

ShutdownCallback = (
    Callable[[str], Awaitable[None]]
    | Callable[[str], None]
    | Callable[[], Awaitable[None]]
    | Callable[[], None]
)
"""Called when a job ends, with the shutdown reason or with no argument (sync or async)."""

SESSION_CLOSE_TIMEOUT = 10.0
"""Seconds each session of a job may take to close when the job shuts down."""

_current_job: ContextVar[JobContext | None] = ContextVar("voicegraph_job", default=None)


@overload
def get_job_context(*, required: Literal[True] = True) -> JobContext: ...
@overload
def get_job_context(*, required: Literal[False]) -> JobContext | None: ...
def get_job_context(*, required: bool = True) -> JobContext | None:
    """The :class:`JobContext` of the job this code runs in (LiveKit's ``get_job_context``).

    It is set while a job's entrypoint runs (and in every task it starts), in a worker's job
    process, ``connect`` and ``console``.

    Args:
        required: raise outside a job (default); ``False`` returns ``None`` instead.

    Raises:
        UsageError: no job is running in this context and ``required`` is true.
    """
    ctx = _current_job.get()
    if ctx is None and required:
        raise UsageError(
            "no job context here: get_job_context() works only inside a job's entrypoint and "
            "the code it calls (run the agent with `python agent.py dev|start|console`, or "
            "pass required=False to get None outside a job)"
        )
    return ctx


class JobSession(Protocol):
    """What a job needs from a session it keeps alive (``AgentSession`` is one)."""

    async def wait(self) -> None:
        """Return (or raise) when the session has ended."""

    async def aclose(self) -> None:
        """End the session."""


SHUTDOWN_CALLBACK_TIMEOUT = 5.0
"""Seconds the shutdown callbacks of a job may take together before they are cancelled."""


@dataclass(frozen=True, slots=True)
class JobInfo:
    """Everything a job process needs to run one job (picklable, sent to the job process).

    Attributes:
        id: the job id given by the LiveKit server.
        room: the room's name.
        url: the LiveKit server URL the job connects to.
        token: the access token for the room (issued by the server with the assignment).
        identity: the agent's participant identity in the room.
        name: the agent's participant name.
        metadata: the job's metadata (set by whoever dispatched the agent).
        agent_name: the agent name the job was dispatched to ("" for automatic dispatch).
        participant_identity: for per-participant jobs, the participant it is for.
        worker_id: the id of the worker that accepted the job.
        attributes: the agent's participant attributes.
        job_proto: the serialized ``livekit.protocol.agent.Job``, if the job came from a server.
        api_key: the worker's API key, for :attr:`JobContext.api` (not shown in ``repr``).
        api_secret: the worker's API secret, for :attr:`JobContext.api` (not shown).
    """

    id: str
    room: str = ""
    url: str = ""
    token: str = ""
    identity: str = ""
    name: str = ""
    metadata: str = ""
    agent_name: str = ""
    participant_identity: str = ""
    worker_id: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    job_proto: bytes = b""
    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)


class JobProcess:
    """The process a job runs in, as the ``prewarm`` function and the job see it.

    Attributes:
        pid: the process id.
        userdata: anything ``prewarm`` loads for the jobs of this process (models, ...).
    """

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid if pid is not None else os.getpid()
        self.userdata: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<JobProcess pid={self.pid} userdata={sorted(self.userdata)}>"


class JobRequest:
    """A job the server offers; the worker's ``request_fnc`` accepts or rejects it.

    Without a ``request_fnc`` every job under the load threshold is accepted with the
    identity ``agent-<job id>``.
    """

    def __init__(self, job: agent.Job) -> None:
        self.job = job
        self.decision: bool | None = None
        self.identity = ""
        self.name = ""
        self.metadata = ""
        self.attributes: dict[str, str] = {}

    @property
    def id(self) -> str:
        """The job id."""
        return self.job.id

    @property
    def room(self) -> str:
        """The room's name."""
        return self.job.room.name

    def accept(
        self,
        *,
        identity: str = "",
        name: str = "",
        metadata: str = "",
        attributes: dict[str, str] | None = None,
    ) -> None:
        """Take the job; the agent joins as ``identity`` (default ``agent-<job id>``)."""
        self.decision = True
        self.identity = identity or f"agent-{self.job.id}"
        self.name = name
        self.metadata = metadata
        self.attributes = dict(attributes or {})

    def reject(self) -> None:
        """Decline the job; the server offers it to another worker."""
        self.decision = False


class JobContext:
    """What the entrypoint of a job receives: the room, the job, the process, shutdown hooks.

    As in LiveKit, the job outlives its entrypoint (which usually returns right after
    ``await session.start(...)``): it ends when :meth:`shutdown` is called, the server
    terminates it, the room disconnects after :meth:`connect`, the entrypoint raises, or,
    once the entrypoint has returned, when every session started in the job has ended
    (``session.shutdown()``, ``aclose()``, the user left). An entrypoint that returns having
    neither connected nor started a session ends the job at once. Then the job's sessions are
    closed, the server's ``on_session_end(ctx)`` runs, then the shutdown callbacks (5 s in all
    at most), then the agent leaves the room.

    Args:
        info: the job.
        proc: the process it runs in.
        room: the room to use instead of a new ``livekit.rtc.Room`` (e.g. a ``LocalRoom`` in
            console mode or tests).
    """

    def __init__(self, info: JobInfo, proc: JobProcess | None = None, *, room: Any = None) -> None:
        self.info = info
        self.proc = proc if proc is not None else JobProcess()
        self._room: Any = room
        self._local_room = room is not None
        self._callbacks: list[ShutdownCallback] = []
        self._shutdown = anyio.Event()
        self.shutdown_reason = ""
        self._connected = False
        self._sessions: list[JobSession] = []
        self._session_started_at: dict[int, float] = {}
        self._recorded: dict[int, list[Any]] = {}
        self._api: api.LiveKitAPI | None = None
        self.tags: set[str] = set()
        """Tags of the session report (:meth:`make_session_report`)."""

    # ------------------------------------------------------------------ the job

    @property
    def job(self) -> agent.Job:
        """The job as the LiveKit server sent it (``livekit.protocol.agent.Job``)."""
        from livekit.protocol import agent

        job = agent.Job()
        if self.info.job_proto:
            job.ParseFromString(self.info.job_proto)
        else:
            job.id = self.info.id
            job.room.name = self.info.room
            job.metadata = self.info.metadata
            job.agent_name = self.info.agent_name
        return job

    @property
    def job_id(self) -> str:
        """The job id."""
        return self.info.id

    @property
    def metadata(self) -> str:
        """The job's metadata (from the dispatch)."""
        return self.info.metadata

    # ------------------------------------------------------------------ the room

    @property
    def room(self) -> rtc.Room:
        """The room of the job: a ``livekit.rtc.Room``, created on first use (not connected).

        In console mode and tests this is a ``LocalRoom`` with the same interface subset.
        """
        if self._room is None:
            try:
                from livekit import rtc
            except ImportError as exc:
                raise MissingDependencyError("livekit", what="a LiveKit room") from exc
            self._room = rtc.Room()
        return cast("rtc.Room", self._room)

    @property
    def connected(self) -> bool:
        """Whether :meth:`connect` succeeded (and the room has not disconnected)."""
        return self._connected

    async def connect(self, *, auto_subscribe: bool = True) -> None:
        """Join the room with the job's URL and token; a disconnect then ends the job.

        Raises:
            ProviderError: the server could not be reached or refused the token.
        """
        room = self.room
        if self._connected:
            return
        if not self._local_room:
            from livekit import rtc

            try:
                await room.connect(
                    self.info.url, self.info.token, rtc.RoomOptions(auto_subscribe=auto_subscribe)
                )
            except Exception as exc:
                raise ProviderError(
                    "livekit",
                    f"cannot join room {self.info.room!r} at {self.info.url}: {exc}; check that "
                    "the server is reachable and the token is valid",
                ) from exc
        self._connected = True
        room.on("disconnected", self._on_disconnected)

    def _on_disconnected(self, *args: object) -> None:
        self._connected = False
        self.shutdown("room disconnected")

    async def wait_for_participant(
        self, *, identity: str | None = None, kinds: Iterable[int] | None = None
    ) -> rtc.RemoteParticipant:
        """Wait until a remote participant (``identity``, or the first of ``kinds``) is in the room.

        Args:
            identity: the participant to wait for (default: any).
            kinds: accepted ``rtc.ParticipantKind`` values (default: standard, SIP, connector).
        """
        accepted = set(kinds) if kinds is not None else {0, 3, 5}
        room = self.room
        arrived = anyio.Event()

        def match() -> Any:
            for p in room.remote_participants.values():
                if (identity is None or p.identity == identity) and int(p.kind) in accepted:
                    return p
            return None

        def on_join(*args: object) -> None:
            arrived.set()

        room.on("participant_connected", on_join)
        try:
            while (found := match()) is None:
                await arrived.wait()
                arrived = anyio.Event()
            return cast("rtc.RemoteParticipant", found)
        finally:
            room.off("participant_connected", on_join)

    # ------------------------------------------------------------------ shutdown

    def add_shutdown_callback(self, callback: ShutdownCallback) -> None:
        """Run ``callback(reason)`` or ``callback()`` when the job ends (sync or async; in
        the order added). A callback taking one positional argument gets the reason."""
        self._callbacks.append(callback)

    def shutdown(self, reason: str = "") -> None:
        """End the job: the entrypoint is cancelled, then the shutdown callbacks run."""
        if not self._shutdown.is_set():
            self.shutdown_reason = reason
            self._shutdown.set()

    @property
    def shutting_down(self) -> bool:
        """Whether :meth:`shutdown` was called (or the job is ending)."""
        return self._shutdown.is_set()

    async def wait_for_shutdown(self) -> str:
        """Wait until :meth:`shutdown` is called; return the reason."""
        await self._shutdown.wait()
        return self.shutdown_reason

    async def run_shutdown_callbacks(self, reason: str) -> None:
        """Run the shutdown callbacks in order (errors logged), then leave the room.

        The job process calls this once the entrypoint has returned or failed.
        """
        with anyio.move_on_after(SHUTDOWN_CALLBACK_TIMEOUT) as scope:
            for callback in self._callbacks:
                try:
                    result = callback(reason) if _takes_reason(callback) else callback()  # type: ignore[call-arg]
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception("job %s: a shutdown callback failed", self.info.id)
        if scope.cancelled_caught:
            logger.warning(
                "job %s: shutdown callbacks took longer than %.0f s and were cancelled",
                self.info.id,
                SHUTDOWN_CALLBACK_TIMEOUT,
            )
        if self._room is not None and self._connected and not self._local_room:
            self._connected = False
            with anyio.move_on_after(2.0), contextlib.suppress(Exception):
                await self._room.disconnect()
        if self._api is not None:
            api_client, self._api = self._api, None
            with anyio.move_on_after(2.0), contextlib.suppress(Exception):
                await api_client.aclose()

    # ------------------------------------------------------------------ sessions

    def add_session(self, session: JobSession) -> None:
        """Keep the job alive while ``session`` runs, and close it when the job ends.

        ``AgentSession.start()`` calls this inside a job (found with
        :func:`get_job_context`); the first session is :attr:`primary_session`.
        """
        if any(s is session for s in self._sessions):
            return
        self._sessions.append(session)
        key = id(session)
        self._session_started_at[key] = time.time()
        events: list[Any] = []
        self._recorded[key] = events
        on = getattr(session, "on", None)
        if callable(on):
            for name in _REPORTED_EVENTS:
                on(name, events.append)

    @property
    def primary_session(self) -> Any:
        """The first session started in this job (LiveKit's ``primary_session``).

        Raises:
            UsageError: no session was started in this job.
        """
        if not self._sessions:
            raise UsageError(
                "no AgentSession was started in this job: call `await session.start(...)` first"
            )
        return self._sessions[0]

    @property
    def sessions(self) -> list[JobSession]:
        """The sessions started in this job, in order."""
        return list(self._sessions)

    async def wait_for_sessions(self) -> str:
        """Wait until every session of the job has ended; return a shutdown reason.

        Returns at once with ``"entrypoint returned"`` when the job has no session; waits
        for :meth:`shutdown` when it has none but is connected to its room (as LiveKit, the
        job stays in the room until the room closes).
        """
        if not self._sessions:
            if self._connected:
                return await self.wait_for_shutdown()
            return "entrypoint returned"
        seen = 0
        while seen < len(self._sessions):  # a session may start another one as it ends
            session = self._sessions[seen]
            with contextlib.suppress(Exception):  # its error was reported by the session
                await session.wait()
            seen += 1
        return "session closed"

    async def close_sessions(self, timeout: float = SESSION_CLOSE_TIMEOUT) -> None:
        """Close every session of the job (each within ``timeout`` seconds; errors logged)."""
        for session in list(self._sessions):
            with anyio.move_on_after(timeout) as scope:
                try:
                    await session.aclose()
                except Exception:
                    logger.exception("job %s: closing a session failed", self.info.id)
            if scope.cancelled_caught:
                logger.error(
                    "job %s: a session did not close within %.0f s; the job goes on ending",
                    self.info.id,
                    timeout,
                )

    def make_session_report(self, session: JobSession | None = None) -> SessionReport:
        """A :class:`SessionReport` of ``session`` (default: :attr:`primary_session`):
        the job, the room, the session's options, events, history and model usage.

        Raises:
            UsageError: no session was started in this job.
        """
        chosen: Any = session if session is not None else self.primary_session
        history = getattr(chosen, "history", None)
        copy = getattr(history, "copy", None)
        usage = getattr(chosen, "usage", None)
        started = self._session_started_at.get(id(chosen))
        report = SessionReport(
            job_id=self.info.id,
            room_id=self.job.room.sid,
            room=self.info.room,
            agent_name=self.info.agent_name,
            options=getattr(chosen, "options", None),
            events=list(self._recorded.get(id(chosen), [])),
            chat_history=copy() if callable(copy) else history,
            model_usage=list(getattr(usage, "model_usage", []) or []),
            tags=sorted(self.tags),
            started_at=started,
        )
        if started is not None:
            report.duration = report.timestamp - started
        return report

    # ------------------------------------------------------------------ server API

    @property
    def api(self) -> api.LiveKitAPI:
        """A ``livekit.api.LiveKitAPI`` for the worker's server, created on first use and
        closed when the job ends (URL, key and secret of the worker; else ``LIVEKIT_URL``,
        ``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``).

        Raises:
            MissingDependencyError: ``livekit-api`` is not installed.
            ConfigError: no server URL or credentials are known.
        """
        if self._api is None:
            try:
                from livekit import api as lk_api
            except ImportError as exc:
                raise MissingDependencyError("livekit-api", what="JobContext.api") from exc
            url = self.info.url or os.environ.get("LIVEKIT_URL", "")
            key = self.info.api_key or os.environ.get("LIVEKIT_API_KEY", "")
            secret = self.info.api_secret or os.environ.get("LIVEKIT_API_SECRET", "")
            missing = [n for n, v in (("url", url), ("api key", key), ("secret", secret)) if not v]
            if missing:
                raise ConfigError(
                    f"JobContext.api needs the LiveKit server's {', '.join(missing)}: run the "
                    "job from a worker, or set LIVEKIT_URL, LIVEKIT_API_KEY and "
                    "LIVEKIT_API_SECRET"
                )
            self._api = lk_api.LiveKitAPI(url, key, secret)
        return self._api

    def use(self) -> contextlib.AbstractContextManager[None]:
        """Make this the job of the current context (:func:`get_job_context`) in a ``with``
        block; the job runners do this around the entrypoint."""
        return _bind(self)

    def __repr__(self) -> str:
        return f"<JobContext job={self.info.id!r} room={self.info.room!r}>"


_REPORTED_EVENTS = (
    "user_input_transcribed",
    "user_state_changed",
    "agent_state_changed",
    "speech_created",
    "function_tools_executed",
    "conversation_item_added",
    "metrics_collected",
    "agent_false_interruption",
    "error",
    "close",
)
"""The session events a :class:`SessionReport` records (LiveKit's names)."""


@contextlib.contextmanager
def _bind(ctx: JobContext) -> Iterator[None]:
    token = _current_job.set(ctx)
    try:
        yield
    finally:
        _current_job.reset(token)


def _takes_reason(callback: Callable[..., Any]) -> bool:
    """Whether a shutdown callback takes the reason (one positional argument, or *args)."""
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


def check_entrypoint(fn: object, what: str = "entrypoint") -> None:
    """Raise :class:`ConfigError` unless ``fn`` is an async function taking a JobContext."""
    if not callable(fn):
        raise ConfigError(f"the {what} must be a function, got {type(fn).__name__}")
    if not inspect.iscoroutinefunction(fn):
        raise ConfigError(
            f"the {what} {getattr(fn, '__qualname__', fn)!r} must be an async function "
            "(async def entrypoint(ctx: JobContext) -> None)"
        )

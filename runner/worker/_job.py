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
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import anyio

from voicegraph.graph import ConfigError, MissingDependencyError, ProviderError

if TYPE_CHECKING:
    from livekit import rtc
    from livekit.protocol import agent

__all__ = ["JobContext", "JobInfo", "JobProcess", "JobRequest", "ShutdownCallback"]

logger = logging.getLogger("voicegraph.worker")

ShutdownCallback = Callable[[str], Awaitable[None]] | Callable[[str], None]
"""Called with the shutdown reason when a job ends (sync or async)."""

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

    The job ends when the entrypoint returns (success) or raises (failure), when the server
    terminates it, when :meth:`shutdown` is called, or when the room disconnects after
    :meth:`connect`. Shutdown callbacks then run (5 s in all at most).

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
        """Run ``callback(reason)`` when the job ends (sync or async; in the order added)."""
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
                    result = callback(reason)
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

    def __repr__(self) -> str:
        return f"<JobContext job={self.info.id!r} room={self.info.room!r}>"


def check_entrypoint(fn: object, what: str = "entrypoint") -> None:
    """Raise :class:`ConfigError` unless ``fn`` is an async function taking a JobContext."""
    if not callable(fn):
        raise ConfigError(f"the {what} must be a function, got {type(fn).__name__}")
    if not inspect.iscoroutinefunction(fn):
        raise ConfigError(
            f"the {what} {getattr(fn, '__qualname__', fn)!r} must be an async function "
            "(async def entrypoint(ctx: JobContext) -> None)"
        )

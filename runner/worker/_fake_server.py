"""A loopback LiveKit server that speaks the agent worker protocol (for tests and benchmarks).

It implements the server side of ``/agent`` as livekit-server does: it checks the worker's
token (``agent`` grant), answers the registration with a worker id, answers pings, tracks each
worker's reported status and load, offers jobs and assigns them with a room token, records job
status updates, and terminates jobs. It has no media: jobs cannot join a room here.

Dispatch follows livekit-server's rule: among the *available* workers registered for the
job's agent name and type, the job goes to the one with the **highest** load that already
runs jobs (filling one worker up to its ``load_threshold`` before the next), else to the first
available one; a worker that declines is skipped and the next one is tried.

>>> async with FakeLiveKitServer() as lk:                       # doctest: +SKIP
...     server = AgentServer(entrypoint)
...     async with anyio.create_task_group() as tg:
...         tg.start_soon(server.run, lk.url, lk.api_key, lk.api_secret)
...         await lk.wait_for_workers(1)
...         job = await lk.dispatch("room-1")
...         await job.wait_for("JS_SUCCESS")
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from aiohttp import web
    from livekit.protocol import agent

__all__ = ["DispatchedJob", "FakeLiveKitServer", "FakeWorker"]

_ids = itertools.count(1)


@dataclass(eq=False)
class FakeWorker:
    """A registered worker, as the fake server sees it."""

    id: str
    ws: Any
    agent_name: str = ""
    job_type: int = 0
    version: str = ""
    hidden: bool = False
    status: int = 0  # WS_AVAILABLE until the worker says otherwise
    load: float = 0.0
    job_count: int = 0
    draining: bool = False
    pings: int = 0
    updates: int = 0
    running: set[str] = field(default_factory=set)
    answers: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    connected: bool = True

    @property
    def available(self) -> bool:
        """Whether the last status report said the worker takes jobs."""
        return self.connected and self.status == 0


@dataclass(eq=False)
class DispatchedJob:
    """A job the fake server dispatched, and what became of it."""

    id: str
    room: str
    agent_name: str = ""
    metadata: str = ""
    worker_id: str = ""
    identity: str = ""
    token: str = ""
    declined_by: list[str] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    changed: anyio.Event = field(default_factory=anyio.Event)

    @property
    def assigned(self) -> bool:
        """Whether a worker accepted the job."""
        return bool(self.worker_id)

    @property
    def status(self) -> str:
        """The last reported status name (``"JS_RUNNING"``, ...), ``""`` before any."""
        return self.statuses[-1][0] if self.statuses else ""

    @property
    def error(self) -> str:
        """The error of the last status update."""
        return self.statuses[-1][1] if self.statuses else ""

    async def wait_for(self, *statuses: str, timeout: float = 10.0) -> str:
        """Wait until the job reports one of ``statuses``; return it.

        Raises:
            TimeoutError: not within ``timeout`` seconds (the message lists what came).
        """
        with anyio.move_on_after(timeout):
            while self.status not in statuses:
                await self.changed.wait()
            return self.status
        raise TimeoutError(
            f"job {self.id} did not reach {statuses} within {timeout} s; statuses: {self.statuses}"
        )

    def _record(self, status: str, error: str) -> None:
        self.statuses.append((status, error))
        self.changed.set()
        self.changed = anyio.Event()


class FakeLiveKitServer:
    """Serve the agent worker protocol on ``127.0.0.1`` (use ``async with``).

    Args:
        api_key: the key workers must sign their token with (default ``"devkey"``).
        api_secret: its secret (default ``"fake-livekit-secret-for-loopback-tests"``).
        port: the port (default 0: a free one; see :attr:`url`).
        availability_timeout: seconds a worker has to answer an offer (default 10, as the
            real server).
    """

    def __init__(
        self,
        api_key: str = "devkey",
        api_secret: str = "fake-livekit-secret-for-loopback-tests",
        *,
        port: int = 0,
        availability_timeout: float = 10.0,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.port = port
        self.availability_timeout = availability_timeout
        self.workers: dict[str, FakeWorker] = {}
        self.jobs: dict[str, DispatchedJob] = {}
        self.received: list[tuple[str, str]] = []
        """Every worker message as ``(worker_id, kind)``, in arrival order."""
        self.rejected_tokens = 0
        self._runner: web.AppRunner | None = None
        self._changed: anyio.Event | None = None

    @property
    def url(self) -> str:
        """The server's URL, e.g. ``ws://127.0.0.1:54321``."""
        return f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeLiveKitServer:
        from aiohttp import web

        self._changed = anyio.Event()
        app = web.Application()
        app.router.add_get("/agent", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the port the OS chose for port 0
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for worker in list(self.workers.values()):
            await worker.ws.close()
        if self._runner is not None:
            with anyio.CancelScope(shield=True):
                await self._runner.cleanup()

    # ------------------------------------------------------------------ test API

    @property
    def connected_workers(self) -> list[FakeWorker]:
        """Workers connected now."""
        return [w for w in self.workers.values() if w.connected]

    async def wait_for_workers(self, n: int, timeout: float = 10.0) -> list[FakeWorker]:
        """Wait until ``n`` workers are registered and connected."""
        with anyio.fail_after(timeout):
            while len(self.connected_workers) < n:
                await self._wait_change()
        return self.connected_workers

    async def wait_until(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` is true (re-checked on every worker message)."""
        with anyio.fail_after(timeout):
            while not predicate():
                await self._wait_change()

    async def dispatch(
        self, room: str, *, agent_name: str = "", metadata: str = "", job_type: int = 0
    ) -> DispatchedJob:
        """Create a job for ``room`` and offer it as livekit-server does (see module doc).

        Returns the job; ``job.assigned`` is ``False`` if no worker took it.
        """
        from livekit.protocol import agent, models

        job_id = f"AJ_{next(_ids):06d}"
        record = DispatchedJob(job_id, room, agent_name, metadata)
        self.jobs[job_id] = record
        job = agent.Job(
            id=job_id,
            dispatch_id=f"AD_{job_id[3:]}",
            type=job_type,  # type: ignore[arg-type]
            room=models.Room(sid=f"RM_{room}", name=room),
            agent_name=agent_name,
            metadata=metadata,
        )
        tried: set[str] = set()
        while True:
            worker = self._select(job, tried)
            if worker is None:
                return record
            tried.add(worker.id)
            answer = await self._offer(worker, job)
            if answer is None or not answer.available:
                record.declined_by.append(worker.id)
                continue
            record.worker_id = worker.id
            record.identity = answer.participant_identity
            record.token = self._room_token(room, answer, worker)
            worker.running.add(job_id)
            msg = agent.ServerMessage(assignment=agent.JobAssignment(job=job, token=record.token))
            await worker.ws.send_bytes(msg.SerializeToString())
            return record

    async def terminate(self, job_id: str) -> None:
        """Ask the job's worker to end the job."""
        from livekit.protocol import agent

        record = self.jobs[job_id]
        worker = self.workers[record.worker_id]
        msg = agent.ServerMessage(termination=agent.JobTermination(job_id=job_id))
        await worker.ws.send_bytes(msg.SerializeToString())

    async def drop_worker(self, worker_id: str) -> None:
        """Close a worker's connection from the server side (it should reconnect)."""
        await self.workers[worker_id].ws.close()

    # ------------------------------------------------------------------ protocol

    def _select(self, job: agent.Job, tried: set[str]) -> FakeWorker | None:
        selected: FakeWorker | None = None
        max_load = 0.0
        for w in self.workers.values():
            if w.id in tried or not w.available:
                continue
            if w.agent_name != job.agent_name or w.job_type != job.type:
                continue
            if w.running and w.load > max_load:
                selected, max_load = w, w.load
            elif selected is None:
                selected = w
        return selected

    async def _offer(self, worker: FakeWorker, job: agent.Job) -> agent.AvailabilityResponse | None:
        from livekit.protocol import agent

        fut: asyncio.Future[agent.AvailabilityResponse] = asyncio.get_running_loop().create_future()
        worker.answers[job.id] = fut
        try:
            msg = agent.ServerMessage(availability=agent.AvailabilityRequest(job=job))
            await worker.ws.send_bytes(msg.SerializeToString())
            with anyio.move_on_after(self.availability_timeout):
                return await fut
            return None
        except ConnectionError:
            return None
        finally:
            worker.answers.pop(job.id, None)

    def _room_token(self, room: str, answer: agent.AvailabilityResponse, worker: FakeWorker) -> str:
        from livekit.api import AccessToken, VideoGrants

        attributes = dict(answer.participant_attributes)
        attributes["lk.agent_name"] = worker.agent_name
        return (
            AccessToken(self.api_key, self.api_secret)
            .with_identity(answer.participant_identity)
            .with_name(answer.participant_name)
            .with_metadata(answer.participant_metadata)
            .with_attributes(attributes)
            .with_kind("agent")
            .with_grants(VideoGrants(room_join=True, room=room, agent=True, hidden=worker.hidden))
            .to_jwt()
        )

    def _authorized(self, request: web.Request) -> bool:
        from livekit.api import TokenVerifier

        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        try:
            claims = TokenVerifier(self.api_key, self.api_secret).verify(header[7:])
        except Exception:
            return False
        return bool(claims.video and claims.video.agent)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import WSMsgType, web
        from livekit.protocol import agent, models

        if not self._authorized(request):
            self.rejected_tokens += 1
            return web.Response(status=401, text="invalid token: needs the agent grant")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive(timeout=10)
        if first.type != WSMsgType.BINARY:
            await ws.close()
            return ws
        msg = agent.WorkerMessage.FromString(first.data)
        if msg.WhichOneof("message") != "register":
            await ws.close()
            return ws
        reg = msg.register
        worker = FakeWorker(
            id=f"AW_{next(_ids):06d}",
            ws=ws,
            agent_name=reg.agent_name,
            job_type=int(reg.type),
            version=reg.version,
            hidden=reg.allowed_permissions.hidden,
        )
        self.received.append((worker.id, "register"))
        info = models.ServerInfo(version="fake-1.0", protocol=16, region="loopback", node_id="N1")
        reply = agent.ServerMessage(
            register=agent.RegisterWorkerResponse(worker_id=worker.id, server_info=info)
        )
        await ws.send_bytes(reply.SerializeToString())
        self.workers[worker.id] = worker
        self._notify()
        try:
            async for raw in ws:
                if raw.type == WSMsgType.BINARY:
                    await self._on_message(worker, agent.WorkerMessage.FromString(raw.data))
        finally:
            worker.connected = False
            for fut in worker.answers.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("worker disconnected"))
            self._notify()
        return ws

    async def _on_message(self, worker: FakeWorker, msg: agent.WorkerMessage) -> None:
        from livekit.protocol import agent

        kind = msg.WhichOneof("message") or ""
        self.received.append((worker.id, kind))
        if kind == "availability":
            fut = worker.answers.get(msg.availability.job_id)
            if fut is not None and not fut.done():
                fut.set_result(msg.availability)
        elif kind == "update_worker":
            update = msg.update_worker
            worker.updates += 1
            if update.HasField("status"):
                worker.status = int(update.status)
            worker.load = update.load
            worker.job_count = update.job_count
            worker.draining = update.draining
        elif kind == "update_job":
            job_update = msg.update_job
            record = self.jobs.get(job_update.job_id)
            name = agent.JobStatus.Name(job_update.status)
            if record is not None:
                record._record(name, job_update.error)
            if name in ("JS_SUCCESS", "JS_FAILED"):
                worker.running.discard(job_update.job_id)
        elif kind == "ping":
            worker.pings += 1
            pong = agent.WorkerPong(
                last_timestamp=msg.ping.timestamp, timestamp=int(time.time() * 1000)
            )
            await worker.ws.send_bytes(agent.ServerMessage(pong=pong).SerializeToString())
        self._notify()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = anyio.Event()

    async def _wait_change(self) -> None:
        assert self._changed is not None
        await self._changed.wait()

"""JobContext in-process with a LocalRoom: job fields, participants, connect/disconnect,
shutdown callbacks; JobRequest decisions."""

from __future__ import annotations

import anyio
import pytest
from livekit.protocol import agent, models

from voicegraph.graph import ConfigError
from voicegraph.runner.worker import AgentServer, JobContext, JobInfo, JobRequest, LocalRoom


async def test_job_fields_come_from_the_dispatched_job() -> None:
    job = agent.Job(id="AJ_1", room=models.Room(name="lobby"), metadata='{"x": 1}')
    info = JobInfo("AJ_1", room="lobby", metadata='{"x": 1}', job_proto=job.SerializeToString())
    ctx = JobContext(info)
    assert ctx.job.room.name == "lobby" and ctx.job_id == "AJ_1" and ctx.metadata == '{"x": 1}'
    assert JobContext(JobInfo("local", room="demo")).job.room.name == "demo"


async def test_wait_for_participant_and_disconnect_ends_the_job() -> None:
    room = LocalRoom("demo")
    ctx = JobContext(JobInfo("j", room="demo"), room=room)
    await ctx.connect()
    assert ctx.connected and ctx.room is room
    reasons: list[str] = []
    ctx.add_shutdown_callback(reasons.append)

    async def later() -> None:
        await anyio.sleep(0.01)
        room.add_participant("bot", kind="agent")
        room.add_participant("alice")

    async with anyio.create_task_group() as tg:
        tg.start_soon(later)
        with anyio.fail_after(2):
            participant = await ctx.wait_for_participant()
    assert participant.identity == "alice"  # agents are not what a job waits for
    assert (await ctx.wait_for_participant(identity="bot", kinds=[4])).identity == "bot"
    await room.disconnect()
    assert ctx.shutting_down and await ctx.wait_for_shutdown() == "room disconnected"
    await ctx.run_shutdown_callbacks(ctx.shutdown_reason)
    assert reasons == ["room disconnected"]


async def test_shutdown_callbacks_run_in_order_and_errors_do_not_stop_them() -> None:
    ctx = JobContext(JobInfo("j"))
    calls: list[str] = []

    async def first(reason: str) -> None:
        calls.append(f"first:{reason}")

    def broken(reason: str) -> None:
        raise RuntimeError("cleanup failed")

    ctx.add_shutdown_callback(first)
    ctx.add_shutdown_callback(broken)
    ctx.add_shutdown_callback(lambda reason: calls.append("last"))
    ctx.shutdown("done")
    ctx.shutdown("ignored: already shutting down")
    await ctx.run_shutdown_callbacks(ctx.shutdown_reason)
    assert calls == ["first:done", "last"]


def test_job_request_decisions() -> None:
    request = JobRequest(agent.Job(id="AJ_9", room=models.Room(name="r")))
    assert request.decision is None and request.room == "r"
    request.accept(name="Helper", attributes={"a": "b"})
    assert (
        request.decision and request.identity == "agent-AJ_9" and request.attributes == {"a": "b"}
    )
    request.reject()
    assert request.decision is False


def test_entrypoints_must_be_async_functions() -> None:
    def sync_entry(ctx: JobContext) -> None: ...

    with pytest.raises(ConfigError, match="must be an async function"):
        AgentServer(sync_entry)  # type: ignore[arg-type]
    server = AgentServer()
    with pytest.raises(ConfigError, match="must be > 0"):
        AgentServer(load_threshold=0)

    @server.rtc_session(agent_name="greeter")
    async def entry(ctx: JobContext) -> None: ...

    assert server.entrypoint is entry and server.options.agent_name == "greeter"
    with pytest.raises(ConfigError, match="unexpected keyword"):
        AgentServer(entry, no_such_option=1)


def test_livekit_style_process_settings() -> None:
    server = AgentServer(job_memory_limit_mb=1500, shutdown_process_timeout=3, load_threshold=0.8)
    assert server.options.process.memory_limit_mb == 1500
    assert server.options.process.shutdown_timeout == 3
    assert server.options.load_threshold == 0.8

"""A job lives until its session ends, not until its entrypoint returns (LiveKit's rule);
shutdown callbacks with or without the reason; get_job_context; JobContext.api;
rtc_session(on_session_end=) and make_session_report — in process and through the loopback
fake LiveKit server with real job processes."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from voicegraph.graph import ConfigError, UsageError
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.runner.worker import (
    AgentServer,
    FakeLiveKitServer,
    JobContext,
    JobInfo,
    LocalRoom,
    ProcOptions,
    get_job_context,
)
from voicegraph.runner.worker._child import run_job


def test_get_job_context_outside_a_job_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="only inside a job's entrypoint"):
        get_job_context()
    assert get_job_context(required=False) is None


async def test_the_job_outlives_its_entrypoint_until_the_session_ends() -> None:
    ctx = JobContext(JobInfo("j1", room="demo"), room=LocalRoom("demo"))
    log: list[str] = []
    sessions: list[AgentSession[None]] = []
    returned = anyio.Event()

    async def entrypoint(job: JobContext) -> None:
        assert get_job_context() is job
        await job.connect()
        session: AgentSession[None] = AgentSession(llm=ScriptedLLM(replies=["Hi!"]))
        await session.start(Agent(instructions="Be brief."))
        await session.run(user_input="hello")
        sessions.append(session)
        job.add_shutdown_callback(lambda: log.append("no-arg"))
        job.add_shutdown_callback(lambda reason: log.append(f"reason:{reason}"))
        returned.set()

    async def on_session_end(job: JobContext) -> None:
        report = job.make_session_report()
        types = [e.type for e in report.events]
        texts = [m.text for m in report.chat_history.messages if m.role != "system"]
        log.append(f"end:{'conversation_item_added' in types}:{texts}")

    result: list[tuple[str, str]] = []

    async def run() -> None:
        result.append(await run_job(ctx, entrypoint, session_end=on_session_end))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        with anyio.fail_after(5):
            await returned.wait()
        await anyio.sleep(0.2)
        assert not ctx.shutting_down and not result  # returned, but the session runs on
        assert ctx.primary_session is sessions[0]
        await sessions[0].aclose()
    assert result == [("success", "")]
    assert ctx.shutdown_reason == "session closed"
    assert log == ["end:True:['hello', 'Hi!']", "no-arg", "reason:session closed"]


async def test_shutdown_closes_the_session_and_an_entrypoint_without_one_ends_the_job() -> None:
    ctx = JobContext(JobInfo("j2", room="demo"), room=LocalRoom("demo"))
    sessions: list[AgentSession[None]] = []

    async def entrypoint(job: JobContext) -> None:
        session: AgentSession[None] = AgentSession(llm=ScriptedLLM(replies=[]))
        await session.start(Agent(instructions="x"))
        sessions.append(session)
        job.shutdown("the user hung up")  # LiveKit's ctx.shutdown()

    with anyio.fail_after(5):
        assert await run_job(ctx, entrypoint) == ("success", "")
    assert ctx.shutdown_reason == "the user hung up"
    with anyio.fail_after(2):
        await sessions[0].wait()  # closed by the job

    async def bare(job: JobContext) -> None:
        return None

    plain = JobContext(JobInfo("j3"))
    with anyio.fail_after(2):
        assert await run_job(plain, bare) == ("success", "")
    assert plain.shutdown_reason == "entrypoint returned"
    with pytest.raises(UsageError, match="no AgentSession was started"):
        plain.make_session_report()


async def test_a_connected_job_without_a_session_lasts_until_the_room_closes() -> None:
    room = LocalRoom("demo")
    ctx = JobContext(JobInfo("j4", room="demo"), room=room)

    async def entrypoint(job: JobContext) -> None:
        await job.connect()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_job, ctx, entrypoint)
        await anyio.sleep(0.2)
        assert not ctx.shutting_down
        await room.disconnect()
    assert ctx.shutdown_reason == "room disconnected"


async def test_api_uses_the_workers_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="api key, secret"):
        _ = JobContext(JobInfo("j", url="ws://127.0.0.1:7880")).api
    info = JobInfo("j", url="ws://127.0.0.1:7880", api_key="key", api_secret="s3cret")
    assert "s3cret" not in repr(info)
    ctx = JobContext(info)
    api = ctx.api
    assert ctx.api is api  # created once
    assert type(api).__name__ == "LiveKitAPI" and hasattr(api, "room")
    await ctx.run_shutdown_callbacks("done")  # closes it


def test_rtc_session_decorator_and_direct_forms() -> None:
    server = AgentServer()

    async def ended(ctx: JobContext) -> None:
        return None

    @server.rtc_session(agent_name="support", on_session_end=ended)
    async def entrypoint(ctx: JobContext) -> None:
        return None

    assert server.entrypoint is entrypoint and server.session_end is ended
    assert server.options.agent_name == "support"
    other = AgentServer()
    assert other.rtc_session(entrypoint) is entrypoint and other.entrypoint is entrypoint
    with pytest.raises(ConfigError, match="room jobs only"):
        other.rtc_session(entrypoint, type="publisher")


async def test_a_worker_job_lives_until_its_session_ends(
    fake_lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    server = AgentServer(
        "session_jobs:session_then_return",
        num_idle_processes=0,
        update_interval=0.05,
        process=ProcOptions(hang_timeout=5.0, shutdown_timeout=5.0),
        load_fnc=lambda server: 0.0,
    )
    server.session_end = "session_jobs:save_report"
    metadata = json.dumps({"out": str(tmp_path), "release": str(release)})
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.run, fake_lk.url, fake_lk.api_key, fake_lk.api_secret)
        with anyio.fail_after(10):
            await server.wait_registered()
        job = await fake_lk.dispatch("room-1", metadata=metadata)
        with anyio.fail_after(20):
            while not (tmp_path / f"{job.id}.returned.json").exists():
                await anyio.sleep(0.02)
        await anyio.sleep(0.5)
        assert [s for s, _ in job.statuses] == ["JS_RUNNING"]  # the entrypoint returned
        release.touch()
        assert await job.wait_for("JS_SUCCESS", "JS_FAILED") == "JS_SUCCESS"
        await server.aclose()
    report = json.loads((tmp_path / f"{job.id}.report.json").read_text())
    assert report["job_id"] == job.id and report["texts"] == ["hi", "Hello there."]
    assert "conversation_item_added" in report["types"] and report["types"][-1] == "close"
    assert not report["callbacks_ran"]  # on_session_end runs before the shutdown callbacks
    assert json.loads((tmp_path / f"{job.id}.callback0.json").read_text()) == {"same_job": True}
    assert json.loads((tmp_path / f"{job.id}.callback1.json").read_text()) == {
        "reason": "session closed"
    }

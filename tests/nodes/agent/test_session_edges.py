"""Edge cases of the session's lifecycle, scheduling and tasks (each one a regression test)."""

from __future__ import annotations

import gc
import importlib
import warnings
from contextlib import nullcontext
from typing import Any

import anyio
import pytest
from agent_helpers import Voice

from voicegraph.graph import NodeError, UsageError
from voicegraph.nodes.agent import Agent, AgentSession, AgentTask, RunContext, SpeechHandle
from voicegraph.nodes.audio import MemorySource
from voicegraph.nodes.llm import ScriptedLLM, ScriptedReply, ScriptedToolCall
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tools import function_tool
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.runner import VirtualClock


def _session_module() -> Any:
    return importlib.import_module("voicegraph.nodes.agent._session")


class Broken(ScriptedLLM):
    async def generate(self, chat: Any, tools: Any, *, step: int = 0) -> Any:
        raise RuntimeError("model crashed")
        yield  # pragma: no cover


async def test_async_error_and_close_callbacks_run_when_the_session_fails() -> None:
    seen: list[str] = []
    session = AgentSession(llm=Broken(), clock=VirtualClock())

    @session.on("error")
    async def on_error(event: Any) -> None:
        await anyio.sleep(0)
        seen.append(f"error:{type(event.error).__name__}")

    @session.on("close")
    async def on_close(event: Any) -> None:
        await anyio.sleep(0)
        seen.append(f"close:{event.reason}")

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "coroutine was never awaited"
        async with session:
            await session.start(Agent(instructions="x"))
            with pytest.raises(NodeError, match="model crashed"):
                await session.run(user_input="hi")
        gc.collect()
    assert seen == ["error:NodeError", "close:error"]
    with pytest.raises(NodeError, match="model crashed"):
        await session.wait()


async def test_a_reply_whose_turn_hook_runs_when_the_input_ends_is_still_sent(
    voice: Voice,
) -> None:
    class Slow(Agent):
        async def on_user_turn_completed(self, chat: Any, message: Any) -> None:
            assert self.session.clock is not None
            await self.session.clock.sleep(2.0)  # the audio input ends meanwhile

    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(texts=["Hello?"]), llm=ScriptedLLM(replies=["Hi there."]),
        tts=ScriptedTTS(), clock=VirtualClock(),
    )  # fmt: skip
    handles: list[SpeechHandle] = []
    session.on("speech_created", lambda e: handles.append(e.speech_handle))
    source = MemorySource(pcm=voice.pcm([(0.2, 1.0)], 3.0), sample_rate=16000, realtime=True)
    await session.start(Slow(instructions="x"), audio=source, output=AudioOutput())
    with anyio.fail_after(10):
        await session.wait()
    assert [(m.role, m.text) for m in session.history.messages] == [
        ("system", "x"), ("user", "Hello?"), ("assistant", "Hi there."),
    ]  # fmt: skip
    assert len(handles) == 1 and handles[0].done()


async def test_interrupting_a_reply_while_its_turn_hook_runs_drops_it() -> None:
    class Slow(Agent):
        async def on_user_turn_completed(self, chat: Any, message: Any) -> None:
            assert self.session.clock is not None
            await self.session.clock.sleep(2.0)

    handles: list[SpeechHandle] = []
    clock = VirtualClock()
    async with AgentSession(llm=ScriptedLLM(replies=["Hi there."]), clock=clock) as session:
        session.on("speech_created", lambda e: handles.append(e.speech_handle))
        await session.start(Slow(instructions="x"))
        async with anyio.create_task_group() as tg:

            async def cut() -> None:
                await clock.sleep(1.0)  # the hook runs
                session.interrupt()

            tg.start_soon(cut)
            result = await session.run(user_input="Hello?")
        result.expect.no_more_events()
        assert len(handles) == 1 and handles[0].done() and handles[0].interrupted
        assert [m.role for m in session.history.messages] == ["system"]


async def test_the_session_loses_no_event_when_many_come_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        _session_module(), "SESSION_BUS_CAPACITY", 8
    )  # 20 events in one go overflow it
    async with AgentSession(llm=ScriptedLLM(replies=[]), clock=VirtualClock()) as session:
        await session.start(Agent(instructions="x"))
        handles = [session.say(f"line {i}") for i in range(20)]  # no await in between
        for handle in handles:
            await handle
        created = [e.speech_handle for e in session.events if e.type == "speech_created"]  # type: ignore[attr-defined]
        assert created == handles
        said = [m.text for m in session.history.messages if m.role == "assistant"]
        assert said == [f"line {i}" for i in range(20)]


async def test_session_events_dropped_by_another_publisher_end_the_session_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from voicegraph.graph import RunnerError
    from voicegraph.nodes.agent import ErrorEvent, SessionBusEvent

    monkeypatch.setattr(_session_module(), "SESSION_BUS_CAPACITY", 8)
    async with AgentSession(llm=ScriptedLLM(replies=[]), clock=VirtualClock()) as session:
        await session.start(Agent(instructions="x"))
        assert session.runner is not None
        for _ in range(20):  # not through the session: it cannot read them in time
            session.runner.bus.publish(SessionBusEvent(ErrorEvent(error=ValueError("x"))))
        with pytest.raises(RunnerError, match="lost 12 of its events"):
            await session.wait()
    assert session.events[-1].type == "close"


class AskEmail(AgentTask[str]):
    def __init__(self) -> None:
        super().__init__(instructions="Ask for an email address.", llm=ScriptedLLM(replies=[]))

    async def on_enter(self) -> None:
        self.session.say("What is your email?")


class Impatient(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You confirm bookings.")

    @function_tool
    async def confirm(self, context: RunContext[Any]) -> str:
        """Send a confirmation."""
        clock = context.session.clock
        assert clock is not None
        with anyio.CancelScope() as scope:  # the tool gives up on the task after 1 s

            async def give_up() -> None:
                await clock.sleep(1.0)
                scope.cancel()

            async with anyio.create_task_group() as tg:
                tg.start_soon(give_up)
                await AskEmail()
        return "gave up"


async def test_a_tool_that_stops_awaiting_its_task_returns_to_its_agent() -> None:
    host = Impatient()
    confirm = ScriptedToolCall(name="confirm", arguments={})
    llm = ScriptedLLM(replies=[ScriptedReply(tool_calls=[confirm], text="No confirmation.")])
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:
        handles: list[SpeechHandle] = []
        session.on("speech_created", lambda e: handles.append(e.speech_handle))
        await session.start(host)
        errors: list[BaseException] = []
        session.on("error", lambda e: errors.append(e.error))
        await session.run(user_input="Please confirm.")  # ends while the task waits
        assert session.current_agent is not host
        session.update_agent(Agent(instructions="other"))  # refused while the task runs
        assert session.clock is not None
        with anyio.fail_after(10):
            await session.clock.sleep(1.5)
            for handle in handles:
                await handle
        assert [type(e) for e in errors] == [UsageError]
        assert "while a task runs" in str(errors[0])
        assert session.current_agent is host
        assert session.history.instructions == "You confirm bookings."
        assert set(session.llm.tools) == {"confirm"}
        assert session.llm.engine is llm  # the task's own LLM is swapped out again
        said = [m.text for m in session.history.messages if m.role == "assistant"]
        assert said == ["What is your email?", "No confirmation."]
        session.update_agent(Agent(instructions="next"))  # no task runs: a handoff works
        await session.run(user_input="Thanks.")
        assert session.current_agent.instructions == "next"


async def test_a_command_the_graph_refuses_leaves_nothing_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    commands = importlib.import_module("voicegraph.nodes.agent._commands")
    monkeypatch.setattr(commands, "COMMAND_CAPACITY", 3)
    created: list[SpeechHandle] = []
    async with AgentSession(llm=ScriptedLLM(replies=["Sure."]), clock=VirtualClock()) as session:
        session.on("speech_created", lambda e: created.append(e.speech_handle))
        await session.start(Agent(instructions="x"))
        handles: list[SpeechHandle] = []
        with pytest.raises(UsageError, match="waiting for the graph"):
            for i in range(10):  # no await in between: the command queue fills
                handles.append(session.say(f"line {i}"))
        assert 1 <= len(handles) <= 3
        with pytest.raises(UsageError, match="waiting for the graph"):
            session.update_agent(Agent(instructions="other"))
        with anyio.fail_after(10):
            for handle in handles:
                await handle
            result = await session.run(user_input="Hello?")  # nothing refused waits
        result.expect.next_event().is_message(role="assistant")
        assert created[:-1] == handles  # the refused reply was not announced
        assert all(handle.done() for handle in created)
        assert session.current_agent.instructions == "x"


async def test_the_session_gives_its_clock_back() -> None:
    clock = VirtualClock()
    async with AgentSession(llm=ScriptedLLM(replies=["Hi."]), clock=clock) as session:
        await session.start(Agent(instructions="x"))
        await session.run(user_input="Hello?")
        assert clock.on_deadlock is not None  # the session watches for stuck replies
    assert clock.on_deadlock is None

    def mine() -> None:
        pass

    clock = VirtualClock(on_deadlock=mine)
    async with AgentSession(llm=ScriptedLLM(replies=["Hi."]), clock=clock) as session:
        await session.start(Agent(instructions="x"))
    assert clock.on_deadlock is mine  # a handler of your own is left alone


async def test_hooks_cancelled_before_an_on_enter_runs_do_not_count_as_entering() -> None:
    hooks_module = importlib.import_module("voicegraph.nodes.agent._hooks")
    changes: list[tuple[int, int]] = []
    runner = hooks_module.HookRunner(
        lambda event: None, lambda: changes.append((runner.running, runner.entering)), nullcontext
    )
    started = anyio.Event()

    async def on_exit() -> None:
        started.set()
        await anyio.sleep_forever()

    async def on_enter() -> None:
        raise AssertionError("never runs")  # pragma: no cover

    async with anyio.create_task_group() as tg:
        runner.group = tg
        runner.spawn(("old.on_exit", on_exit), ("new.on_enter", on_enter))
        assert (runner.running, runner.entering) == (1, 1)
        await started.wait()
        tg.cancel_scope.cancel()  # the session ends during on_exit
    assert (runner.running, runner.entering) == (0, 0)
    assert changes[-1] == (0, 0)


def test_the_session_documents_the_usage_errors_it_raises() -> None:
    import inspect

    names = ["start", "current_agent", "llm", "commit_user_turn", "clear_user_turn", "run"]
    for name in [*names, "say", "generate_reply", "update_agent"]:
        doc = inspect.getdoc(getattr(AgentSession, name)) or ""
        assert "UsageError:" in doc and "RuntimeError:" not in doc, name
    session = AgentSession(llm=ScriptedLLM(replies=[]))
    with pytest.raises(UsageError, match="not started"):
        session.current_agent  # noqa: B018
    with pytest.raises(UsageError, match="not running"):
        session.say("hi")

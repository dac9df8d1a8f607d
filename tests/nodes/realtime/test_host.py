"""RealtimeNode as a host: a scripted realtime engine's events become frames, interrupts and
tool rounds; the engine is entered once and closed; graph files store it (VirtualClock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt
import pytest

from voicegraph.graph import (
    AudioFrame,
    ConfigError,
    Control,
    Event,
    Graph,
    In,
    InputError,
    LLMText,
    Node,
    NodeConfig,
    NodeError,
    Out,
    PlayoutMark,
    SpeechAudio,
    ToolCall,
    Transcript,
    graph_to_dict,
)
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.realtime import (
    AudioDelta,
    InputTranscript,
    RealtimeEngine,
    RealtimeEvent,
    RealtimeNode,
    RealtimeSession,
    ResponseInterrupted,
    TextDelta,
    ToolCallRequest,
    TurnComplete,
)
from voicegraph.nodes.tools import FunctionTool, ToolExecutor, function_tool
from voicegraph.runner import Runner, VirtualClock

MODULE = __name__


@function_tool
def get_weather(city: str) -> str:
    """Get the weather.

    Args:
        city: The city.
    """
    return f"Sunny in {city}"


def speech(seconds: float, rate: int = 24000) -> AudioDelta:
    return AudioDelta(np.full((round(seconds * rate), 1), 1000, np.int16))


# ----------------------------------------------------------------------------- the engine

Heard = tuple[str, float]  # ("heard", seconds of user audio pushed so far)
Result = tuple[str, str]  # ("result", call id): wait for that tool result
Step = RealtimeEvent | float | Heard | Result


class Scripted(RealtimeEngine):
    """Plays a script per session: events, pauses (floats, on the bound clock), waits."""

    class Config(NodeConfig):
        label: str = "scripted"

    def __init__(
        self, config: NodeConfig | None = None, /, *, script: Sequence[Step] = (), **kw: Any
    ) -> None:
        super().__init__(config, **kw)
        self.script = list(script)
        self.log: list[str] = []
        self.sessions: list[ScriptedSession] = []

    async def start(self) -> None:
        self.log.append("start")

    async def aclose(self) -> None:
        self.log.append("close")

    async def connect(self, instructions: str, tools: Sequence[FunctionTool]) -> RealtimeSession:
        assert self.started, "the host enters the engine before connecting"
        self.log.append("connect")
        session = ScriptedSession(self, instructions, [t.name for t in tools])
        self.sessions.append(session)
        return session


class ScriptedSession(RealtimeSession):
    def __init__(self, engine: Scripted, instructions: str, tools: list[str]) -> None:
        self.engine = engine
        self.instructions = instructions
        self.tools = tools
        self.pushed = 0
        self.results: list[tuple[str, str, str, bool]] = []
        self.closed = 0
        self.cancels: list[float] = []  # clock times of cancel_response()
        self._changed = anyio.Event()

    async def push_audio(self, pcm: npt.NDArray[np.int16]) -> None:
        self.pushed += len(pcm)
        self._poke()

    async def send_tool_result(
        self, call_id: str, name: str, output: str, *, is_error: bool = False
    ) -> None:
        self.results.append((call_id, name, output, is_error))
        self._poke()

    async def cancel_response(self) -> None:
        self.cancels.append(self.engine.clock.now())

    def _poke(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def _until(self, done: Callable[..., bool]) -> None:
        while not done():
            await self._changed.wait()

    def __aiter__(self) -> AsyncIterator[RealtimeEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[RealtimeEvent]:
        rate = self.engine.input_rate
        for step in self.engine.script:
            if isinstance(step, float):
                await self.engine.clock.sleep(step)
            elif isinstance(step, tuple) and step[0] == "heard":
                await self._until(lambda need=float(step[1]) * rate: self.pushed >= need)
            elif isinstance(step, tuple):
                await self._until(lambda c=step[1]: any(r[0] == c for r in self.results))
            else:
                yield step
        await anyio.sleep_forever()

    async def aclose(self) -> None:
        self.closed += 1


# ----------------------------------------------------------------------------- the graph


class Mic(Node):
    """``seconds`` of 16 kHz audio in 20 ms frames, in real time; interrupts everything
    downstream at the clock times in ``interrupt_at`` (as a barge-in upstream would)."""

    audio: Out[AudioFrame]

    def __init__(
        self, seconds: float, rate: int = 16000, interrupt_at: Sequence[float] = ()
    ) -> None:
        super().__init__()
        self.seconds, self.rate = seconds, rate
        self.interrupt_at = list(interrupt_at)

    async def run(self) -> None:
        pcm = np.zeros((self.rate // 50, 1), np.int16)
        for i in range(round(self.seconds / 0.02)):
            if self.interrupt_at and self.clock.now() >= self.interrupt_at[0] - 1e-9:
                self.interrupt_at.pop(0)
                self.interrupt("barge-in")
            await self.emit(self.audio, AudioFrame(pcm, self.rate, pts=i * 0.02))
            await self.clock.sleep(0.02)


class Collect(Node):
    """Everything the realtime node says, with the clock time and epoch it arrived in."""

    speech: In[SpeechAudio]
    text: In[LLMText]
    user: In[Transcript]
    calls: In[ToolCall]
    marks: In[Control] = In(required=False)

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[tuple[float, int, SpeechAudio]] = []
        self.texts: list[LLMText] = []
        self.users: list[Transcript] = []
        self.calls_got: list[ToolCall] = []
        self.events: list[Event] = []

    async def on_speech(self, frame: SpeechAudio) -> None:
        self.frames.append((self.clock.now(), self.epoch, frame))

    async def on_text(self, frame: LLMText) -> None:
        self.texts.append(frame)

    async def on_user(self, frame: Transcript) -> None:
        self.users.append(frame)

    async def on_calls(self, frame: ToolCall) -> None:
        self.calls_got.append(frame)

    async def on_marks(self, frame: Control) -> None:
        """Only events arrive here."""

    async def on_event(self, event: Event) -> None:
        self.events.append(event)


def build(
    node: RealtimeNode, seconds: float, *, output: bool = False, interrupt_at: Sequence[float] = ()
) -> tuple[Graph, Collect, AudioOutput | None]:
    g = Graph("realtime")
    mic = g.add(Mic(seconds, interrupt_at=interrupt_at), name="mic")
    g.add(node, name="live")
    sink = g.add(Collect(), name="sink")
    g.connect(mic.audio, node.audio)
    g.connect(node.text, sink.text)
    g.connect(node.transcripts, sink.user)
    out = None
    if output:
        out = g.add(AudioOutput(), name="output")
        g.connect(node.speech, out.audio)
        g.connect(out.marks, sink.marks)
        g.connect(node.speech, sink.speech)
    else:
        g.connect(node.speech, sink.speech)
    if node.tools:
        tools = g.add(ToolExecutor(tools=list(node.tools.values())), name="tools")
        g.connect(node.tool_calls, tools.calls)
        g.connect(tools.results, node.tool_results, feedback=True)
        g.connect(node.tool_calls, sink.calls)
    else:
        g.connect(node.tool_calls, sink.calls)
    return g, sink, out


async def run(g: Graph) -> VirtualClock:
    clock = VirtualClock()
    with anyio.fail_after(10):
        await Runner(g, clock=clock).run()
    return clock


# ----------------------------------------------------------------------------- tests


async def test_a_spoken_turn_is_framed_and_ends_with_final_frames() -> None:
    engine = Scripted(
        script=[
            ("heard", 0.5),
            InputTranscript("What is"),
            InputTranscript("What is the time?"),
            InputTranscript("What is the time?", final=True),
            TextDelta("It is "),
            TextDelta("noon."),
            speech(0.05),  # 50 ms: two 20 ms frames and a 10 ms one
            TextDelta(" Bye."),
            speech(0.02),
            TurnComplete(),
        ]
    )
    node = RealtimeNode(engine=engine, instructions="Be brief.")
    g, sink, _ = build(node, 1.0)
    await run(g)
    [session] = engine.sessions
    assert session.instructions == "Be brief." and session.tools == []
    assert session.pushed == 16000  # every mic sample went up
    assert [(u.text, u.final) for u in sink.users] == [
        ("What is", False), ("What is the time?", False), ("What is the time?", True)
    ]  # fmt: skip
    assert "".join(t.text for t in sink.texts) == "It is noon. Bye."
    assert [t.final for t in sink.texts] == [False, False, False, True]
    frames = [f for _, _, f in sink.frames]
    assert [f.samples for f in frames] == [480, 480, 240, 480, 480]
    assert [f.final for f in frames] == [False] * 4 + [True]
    assert {f.sample_rate for f in frames} == {24000}
    assert [f.text for f in frames] == ["It is noon."] * 3 + ["Bye.", ""]
    assert [f.offset for f in frames[:3]] == pytest.approx([0.0, 0.02, 0.04])
    assert frames[0].text_duration == pytest.approx(0.05)
    assert [f.pts for f in frames] == pytest.approx([0.0, 0.02, 0.04, 0.05, 0.07])


async def test_the_engine_is_entered_once_and_closed_with_its_session() -> None:
    engine = Scripted(script=[TurnComplete()])
    node = RealtimeNode(engine=engine, end_wait=0.5)
    g, sink, _ = build(node, 0.2)
    clock = await run(g)
    assert engine.log == ["start", "connect", "close"]
    [session] = engine.sessions
    assert session.closed == 1
    assert not engine.started
    assert clock.now() >= 0.2 + 0.5  # quiet for end_wait after the input ended
    assert [f.final for _, _, f in sink.frames] == [True]


async def test_a_reply_after_the_input_ended_is_awaited() -> None:
    engine = Scripted(script=[("heard", 0.3), 0.8, TextDelta("Here."), speech(0.1), 0.5,
                              speech(0.1), TurnComplete()])  # fmt: skip
    node = RealtimeNode(engine=engine, end_wait=1.0)
    g, sink, _ = build(node, 0.3)
    await run(g)
    frames = [f for _, _, f in sink.frames]
    assert sum(f.samples for f in frames if not f.final) == 4800 and frames[-1].final
    assert "".join(t.text for t in sink.texts) == "Here."


async def test_the_engines_interrupted_event_interrupts_downstream() -> None:
    engine = Scripted(
        script=[
            ("heard", 0.2),
            TextDelta("Once upon a time"),
            speech(1.0),  # a second of speech, at once
            0.25,
            ResponseInterrupted(),
            TextDelta("Sure."),
            speech(0.1),
            TurnComplete(),
        ]
    )
    node = RealtimeNode(engine=engine)
    g, sink, out = build(node, 1.0, output=True)
    await run(g)
    assert out is not None
    marks = [e for e in sink.events if isinstance(e, PlayoutMark)]
    cut = [m for m in marks if m.interrupted]
    assert len(cut) == 1
    # playout stopped at the interruption (0.25 s in), not after 1 s: the node read the
    # engine's event while the reply's audio waited in it for the output
    assert cut[0].played == pytest.approx(0.25, abs=0.021)
    assert cut[0].text == "Once"  # a quarter of the audio of four words
    stale = [f for _, epoch, f in sink.frames if epoch > 0 and f.text == "Once upon a time"]
    assert stale == []  # nothing of the cut-off reply after the interrupt
    epochs = {epoch for _, epoch, f in sink.frames if f.text == "Sure."}
    assert epochs == {cut[0].epoch + 1}  # the next reply is in the new epoch
    assert out.played_replies[-1][2] is False  # ... and played to its end
    assert marks[-1].final


async def test_an_interrupt_from_upstream_drops_the_queued_reply() -> None:
    engine = Scripted(
        script=[
            ("heard", 0.2),
            TextDelta("Once upon a time"),
            speech(1.0),  # a second of speech, at once: it waits in the node
            0.5,
            TextDelta(" there was"),  # the rest of the cut-off reply (the engine cannot cancel)
            speech(0.2),
            TurnComplete(),
            ("heard", 1.2),
            TextDelta("Sure."),
            speech(0.1),
            TurnComplete(),
        ]
    )
    node = RealtimeNode(engine=engine)
    g, sink, out = build(node, 1.6, output=True, interrupt_at=[0.5])
    await run(g)
    assert out is not None
    marks = [e for e in sink.events if isinstance(e, PlayoutMark)]
    cut = [m for m in marks if m.interrupted]
    assert len(cut) == 1 and cut[0].played < 0.35
    # nothing of the cut-off reply in the new epoch: neither its queued audio nor the rest
    # the engine sent afterwards (nor its final frame)
    old = {"Once upon a time", "there was"}
    assert [f for _, epoch, f in sink.frames if epoch > 0 and f.text in old] == []
    assert [f.final for _, epoch, f in sink.frames if epoch > 0] == [False] * 5 + [True]
    assert {f.text for _, epoch, f in sink.frames if epoch > 0} == {"Sure.", ""}
    assert "there was" not in "".join(t.text for t in sink.texts)
    assert out.played_replies[-1][2] is False and marks[-1].final  # the next reply plays
    [session] = engine.sessions
    assert session.cancels == pytest.approx([0.5], abs=0.021)  # the engine was asked to stop


async def test_an_interrupt_after_the_reply_ended_drops_its_audio_only() -> None:
    engine = Scripted(
        script=[
            ("heard", 0.2),
            TextDelta("One."),
            speech(0.6),
            TurnComplete(),  # the engine is done; the audio still plays
            ("heard", 0.8),
            TextDelta("Two."),
            speech(0.1),
            TurnComplete(),
        ]
    )
    node = RealtimeNode(engine=engine)
    g, sink, _ = build(node, 1.0, output=True, interrupt_at=[0.4])
    await run(g)
    assert engine.sessions[0].cancels == []  # no reply in progress to cancel
    later = [(f.text, f.final) for _, epoch, f in sink.frames if epoch > 0]
    assert later == [("Two.", False)] * 5 + [("", True)]  # the next reply is not muted


async def test_tool_calls_go_out_and_results_come_back() -> None:
    engine = Scripted(
        script=[
            ("heard", 0.2),
            ToolCallRequest("fc-1", "get_weather", '{"city": "Paris"}'),
            ("result", "fc-1"),
            TextDelta("Sunny."),
            speech(0.04),
            TurnComplete(),
        ]
    )
    node = RealtimeNode(engine=engine, tools=[get_weather])
    g, sink, _ = build(node, 0.4)
    await run(g)
    [session] = engine.sessions
    assert session.tools == ["get_weather"]
    assert [(c.call_id, c.name, c.arguments) for c in sink.calls_got] == [
        ("fc-1", "get_weather", '{"city": "Paris"}')
    ]
    assert session.results == [("fc-1", "get_weather", "Sunny in Paris", False)]
    assert "".join(t.text for t in sink.texts) == "Sunny."


async def test_a_tool_result_due_at_the_end_of_the_input_is_still_sent() -> None:
    @function_tool
    async def slow_lookup(city: str) -> str:
        """Look slowly.

        Args:
            city: The city.
        """
        await anyio.sleep(0)
        return city.upper()

    engine = Scripted(
        script=[
            ("heard", 0.1),
            ToolCallRequest("fc-9", "slow_lookup", '{"city": "Oslo"}'),
            ("result", "fc-9"),
            TurnComplete(),
        ]
    )
    node = RealtimeNode(engine=engine, tools=[slow_lookup], end_wait=0.1)
    g, _, _ = build(node, 0.1)
    await run(g)
    assert engine.sessions[0].results == [("fc-9", "slow_lookup", "OSLO", False)]


async def test_tools_need_the_results_edge() -> None:
    engine = Scripted(script=[])
    node = RealtimeNode(engine=engine, tools=[get_weather])
    g = Graph()
    mic = g.add(Mic(0.1))
    g.add(node, name="live")
    sink = g.add(Collect())
    g.connect(mic.audio, node.audio)
    for port, inp in ((node.speech, sink.speech), (node.text, sink.text),
                      (node.transcripts, sink.user), (node.tool_calls, sink.calls)):  # fmt: skip
        g.connect(port, inp)
    with pytest.raises((ConfigError, NodeError), match="tool_results input is not connected"):
        await Runner(g, clock=VirtualClock()).run()


async def test_audio_at_another_rate_is_refused() -> None:
    node = RealtimeNode(engine=Scripted(script=[]))
    g = Graph()
    mic = g.add(Mic(0.1, rate=24000))
    g.add(node, name="live")
    sink = g.add(Collect())
    g.connect(mic.audio, node.audio)
    for port, inp in ((node.speech, sink.speech), (node.text, sink.text),
                      (node.transcripts, sink.user), (node.tool_calls, sink.calls)):  # fmt: skip
        g.connect(port, inp)
    with pytest.raises(NodeError, match="needs 16000 Hz mono audio") as info:
        await Runner(g, clock=VirtualClock()).run()
    assert isinstance(info.value.error, InputError)


async def test_an_engine_error_fails_the_node_with_that_error() -> None:
    class Broken(Scripted):
        async def connect(
            self, instructions: str, tools: Sequence[FunctionTool]
        ) -> RealtimeSession:
            session = await super().connect(instructions, tools)

            async def fail(pcm: npt.NDArray[np.int16]) -> None:
                raise RuntimeError("socket gone")

            session.push_audio = fail  # type: ignore[method-assign]
            return session

    engine = Broken(script=[])
    g, _, _ = build(RealtimeNode(engine=engine), 0.1)
    with pytest.raises(NodeError) as info:
        await Runner(g, clock=VirtualClock()).run()
    assert isinstance(info.value.error, RuntimeError) and "socket gone" in str(info.value.error)
    assert engine.sessions[0].closed == 1 and engine.log[-1] == "close"


def test_engine_swaps_are_checked() -> None:
    node = RealtimeNode(engine=Scripted(script=[]))
    other = Scripted(label="other")
    node.check_engine(other)
    node.set_engine(other)
    assert node.engine is other and node.parts()["engine"] is not other
    node.set_engine(None)
    assert node.engine is node.parts()["engine"]

    class Wideband(Scripted):
        input_rate = 24000

    with pytest.raises(ConfigError, match="built for 16000 Hz in"):
        node.check_engine(Wideband())
    with pytest.raises(ConfigError, match="expected a RealtimeEngine"):
        node.set_engine(object())  # type: ignore[arg-type]
    assert node.engine is node.parts()["engine"]
    with pytest.raises(ConfigError, match="RealtimeEngine"):
        RealtimeNode(engine=object())  # type: ignore[arg-type]


def test_the_ports_take_the_engines_rates() -> None:
    class Wideband(Scripted):
        input_rate = 24000
        output_rate = 48000

    node = RealtimeNode(engine=Wideband())
    assert (node.audio.sample_rate, node.speech.sample_rate) == (24000, 48000)
    assert node.default_name() == "realtime"


def test_graph_file_round_trip_stores_the_engine_under_parts() -> None:
    g = Graph("live")
    g.add(RealtimeNode(engine=Scripted(label="x"), instructions="Hi.", end_wait=0.5))
    data = graph_to_dict(g)
    [node] = data["nodes"]
    assert node["type"].endswith(":RealtimeNode")
    assert node["config"]["instructions"] == "Hi." and node["config"]["end_wait"] == 0.5
    assert node["parts"]["engine"]["type"] == f"{MODULE}:Scripted"
    assert node["parts"]["engine"]["config"] == {"label": "x"}
    loaded = Graph.from_yaml(g.to_yaml(), allow=[MODULE])
    host = loaded["realtime"]
    assert isinstance(host, RealtimeNode) and isinstance(host.engine, Scripted)
    assert host.engine.config == Scripted.Config(label="x")
    assert graph_to_dict(loaded) == data

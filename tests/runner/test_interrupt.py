"""Interrupts: scope, stale-frame dropping, cancellation of in-flight work, run() restarts."""

from __future__ import annotations

from typing import Any

import anyio

from voicegraph.graph import Graph, In, Interrupt, Node, NodeConfig, Out, TextFrame
from voicegraph.runner import Runner, Trace, VirtualClock


class Ticker(Node):
    """Emits one numbered frame every 10 ms of clock time."""

    class Config(NodeConfig):
        count: int = 100

    out: Out[TextFrame]

    async def run(self) -> None:
        for i in range(self.config.count):
            await self.emit(self.out, TextFrame(str(i)))
            await self.clock.sleep(0.01)


class Controller(Node):
    """Passes frames on; interrupts downstream when it sees the frames listed in its config."""

    class Config(NodeConfig):
        at: list[str] = []

    inp: In[TextFrame]
    out: Out[TextFrame]

    async def on_inp(self, frame: TextFrame) -> None:
        if frame.text in self.config.at:
            self.interrupt("test")
        await self.emit(self.out, frame)


class SlowStage(Node):
    """Takes 50 ms per frame; records what it started, finished and was interrupted in."""

    inp: In[TextFrame]
    out: Out[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.started: list[str] = []
        self.finished: list[str] = []
        self.interrupts: list[Interrupt] = []

    async def on_inp(self, frame: TextFrame) -> None:
        self.started.append(frame.text)
        await self.clock.sleep(0.05)
        self.finished.append(frame.text)
        await self.emit(self.out, frame)

    async def on_interrupt(self, event: Any) -> None:
        self.interrupts.append(event)


class Record(Node):
    inp: In[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[str, int]] = []

    async def on_inp(self, frame: TextFrame) -> None:
        self.got.append((frame.text, frame.epoch))


def build(at: list[str]) -> tuple[Graph, SlowStage, Record, Record]:
    """ticker -> controller -> slow -> sink, plus ticker -> side (outside the scope)."""
    g = Graph()
    ticker = g.add(Ticker(count=60))
    ctl = g.add(Controller(at=at))
    slow = g.add(SlowStage(), name="slow")
    sink = g.add(Record(), name="sink")
    side = g.add(Record(), name="side")
    g.connect(ticker.out, ctl.inp)
    g.connect(ctl.out, slow.inp, capacity=16)
    g.connect(slow.out, sink.inp)
    g.connect(ticker.out, side.inp)
    return g, slow, sink, side


async def test_interrupt_drops_stale_frames_and_cancels_in_flight_work() -> None:
    g, slow, sink, side = build(at=["30"])
    trace = Trace()
    await Runner(g, clock=VirtualClock(), trace=trace).run()
    assert [e.epoch for e in slow.interrupts] == [1]
    # the frame in flight when "30" arrived was started but never finished
    cut = [t for t in slow.started if t not in slow.finished]
    assert len(cut) == 1
    # nothing older than the interrupt reaches the sink once "30" has gone through
    epochs = [epoch for _, epoch in sink.got]
    assert epochs == sorted(epochs)
    first_new = next(i for i, (text, _) in enumerate(sink.got) if text == "30")
    assert all(epoch == 1 for _, epoch in sink.got[first_new:])
    # the edge outside the scope lost nothing and stayed in epoch 0
    assert side.got == [(str(i), 0) for i in range(60)]
    stale = [r for r in trace.records if r["kind"] == "drop" and r["why"] == "stale"]
    assert stale, "queued frames of the old epoch were dropped"
    assert all(r["edge"] != "ticker.out -> side.inp" for r in stale)


async def test_runner_interrupt_from_outside_and_named_scope() -> None:
    g, slow, _, side = build(at=[])
    async with Runner(g, clock=VirtualClock()) as runner:
        await runner.clock.sleep(0.2)
        assert runner.interrupt("controller", "manual") == 1
        assert runner.interrupt("controller", scope=["sink"]) == 2
        await runner.wait()
    assert [e.reason for e in slow.interrupts] == ["manual"]
    assert [e.origin for e in slow.interrupts] == ["controller"]
    assert side.got == [(str(i), 0) for i in range(60)]


class Generator(Node):
    """Run style: streams ten tokens per input, restarted by interrupts."""

    inp: In[TextFrame]
    out: Out[TextFrame]
    runs = 0

    async def run(self) -> None:
        type(self).runs += 1
        async for _, frame in self.frames():
            for k in range(10):
                await self.emit(self.out, TextFrame(f"{frame.text}.{k}"))  # type: ignore[attr-defined]
                await self.clock.sleep(0.001)


async def test_run_style_node_is_restarted_in_the_new_epoch() -> None:
    g = Graph()
    ticker, ctl = g.add(Ticker(count=10)), g.add(Controller(at=["5"]))
    gen, sink = g.add(Generator()), g.add(Record())
    g.connect(ticker.out, ctl.inp)
    g.connect(ctl.out, gen.inp)
    g.connect(gen.out, sink.inp)
    Generator.runs = 0
    await Runner(g, clock=VirtualClock()).run()
    assert Generator.runs == 2
    texts = [t for t, _ in sink.got]
    assert "9.9" in texts and "5.0" in texts
    assert all(epoch == 1 for t, epoch in sink.got if int(t.split(".")[0]) >= 5)


class Stubborn(Generator):
    """Handles interrupts itself: run() keeps going."""

    restart_on_interrupt = False

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    async def on_interrupt(self, event: Any) -> None:
        self.seen.append(event.epoch)


async def test_run_style_node_can_opt_out_of_restarts() -> None:
    g = Graph()
    ticker, ctl = g.add(Ticker(count=10)), g.add(Controller(at=["3", "6"]))
    gen, sink = g.add(Stubborn()), g.add(Record())
    g.connect(ticker.out, ctl.inp)
    g.connect(ctl.out, gen.inp)
    g.connect(gen.out, sink.inp)
    Stubborn.runs = 0
    await Runner(g, clock=VirtualClock()).run()
    assert Stubborn.runs == 1
    assert gen.seen == [1, 2]


async def test_interrupt_releases_a_sender_blocked_on_a_full_edge() -> None:
    """A stage blocked on a full edge inside the scope is cancelled, not left hanging."""
    g = Graph()
    ticker = g.add(Ticker(count=20))
    ctl = g.add(Controller(at=["10"]))
    relay = g.add(SlowStage(), name="slow")

    class Jammed(Record):
        async def on_inp(self, frame: TextFrame) -> None:
            await super().on_inp(frame)
            await self.clock.sleep(1.0)

    sink = g.add(Jammed(), name="jammed")
    g.connect(ticker.out, ctl.inp)
    g.connect(ctl.out, relay.inp, capacity=1)
    g.connect(relay.out, sink.inp, capacity=1)
    with anyio.fail_after(10):
        await Runner(g, clock=VirtualClock()).run()
    assert relay.interrupts and sink.got[-1][1] == 1


class Burst(Node):
    """Emits ten frames per input as fast as the edge takes them."""

    inp: In[TextFrame]
    out: Out[TextFrame]

    async def on_inp(self, frame: TextFrame) -> None:
        for k in range(10):
            await self.emit(self.out, TextFrame(f"{frame.text}.{k}"))


class SlowRecord(Record):
    async def on_inp(self, frame: TextFrame) -> None:
        await super().on_inp(frame)
        await self.clock.sleep(0.003)


async def test_a_sender_released_by_an_interrupt_emits_nothing_more_of_the_old_turn() -> None:
    g = Graph()
    ticker, ctl = g.add(Ticker(count=8)), g.add(Controller(at=["3", "6"]))
    burst, sink = g.add(Burst()), g.add(SlowRecord(), name="sink")
    g.connect(ticker.out, ctl.inp)
    g.connect(ctl.out, burst.inp)
    g.connect(burst.out, sink.inp, capacity=1)
    await Runner(g, clock=VirtualClock()).run()
    for text, epoch in sink.got:
        source = int(text.split(".")[0])
        expected = 0 if source < 3 else 1 if source < 6 else 2
        assert epoch == expected, (text, epoch)
    assert {t for t, _ in sink.got} >= {f"7.{k}" for k in range(10)}  # the last turn is whole


async def test_async_with_body_survives_the_graph_finishing() -> None:
    g, _, sink, _ = build(at=[])
    async with Runner(g, clock=VirtualClock()) as runner:
        await runner.wait()
        await runner.clock.sleep(1.0)  # the graph is done; the body goes on undisturbed
    assert len(sink.got) == 60

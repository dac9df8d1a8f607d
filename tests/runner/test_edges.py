"""Edge policies, capacities and counters, end of stream and clean shutdown."""

from __future__ import annotations

import asyncio
import threading

import pytest

from voicegraph.graph import Graph, In, Node, NodeConfig, Out, TextFrame
from voicegraph.runner import Runner, VirtualClock


class Numbers(Node):
    class Config(NodeConfig):
        count: int = 10
        interval: float = 0.0

    out: Out[TextFrame]

    async def run(self) -> None:
        for i in range(self.config.count):
            await self.emit(self.out, TextFrame(str(i)))
            if self.config.interval:
                await self.clock.sleep(self.config.interval)


class Relay(Node):
    inp: In[TextFrame]
    out: Out[TextFrame]

    async def on_inp(self, frame: TextFrame) -> None:
        await self.emit(self.out, frame)


class Collect(Node):
    class Config(NodeConfig):
        delay: float = 0.0

    inp: In[TextFrame]

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self.got: list[str] = []
        self.times: list[float] = []

    async def on_inp(self, frame: TextFrame) -> None:
        self.got.append(frame.text)
        self.times.append(self.clock.now())
        if self.config.delay:
            await self.clock.sleep(self.config.delay)


async def test_block_delivers_everything_in_order_and_respects_capacity() -> None:
    g = Graph()
    src, sink = g.add(Numbers(count=200)), g.add(Collect(delay=0.01))
    g.connect(src.out, sink.inp, capacity=3)
    metrics = await Runner(g, clock=VirtualClock()).run()
    assert sink.got == [str(i) for i in range(200)]
    edge = next(iter(metrics.edges.values()))
    assert edge.frames == 200 and edge.drops == 0
    assert edge.high_water == 3  # the slow sink filled the edge, never beyond capacity


async def test_drop_oldest_keeps_the_newest_and_counts_drops() -> None:
    g = Graph()
    src, sink = g.add(Numbers(count=100, interval=0.001)), g.add(Collect(delay=0.01))
    g.connect(src.out, sink.inp, capacity=4, policy="drop_oldest")
    metrics = await Runner(g, clock=VirtualClock()).run()
    edge = next(iter(metrics.edges.values()))
    assert edge.high_water <= 4
    assert edge.drops > 50
    assert len(sink.got) + edge.drops == 100
    assert sink.got[-1] == "99"  # the newest frame always survives
    assert sink.got == sorted(sink.got, key=int)  # order is kept among survivors


async def test_latest_holds_one_frame() -> None:
    g = Graph()
    src, sink = g.add(Numbers(count=100, interval=0.001)), g.add(Collect(delay=0.01))
    g.connect(src.out, sink.inp, capacity=8, policy="latest")
    metrics = await Runner(g, clock=VirtualClock()).run()
    edge = next(iter(metrics.edges.values()))
    assert edge.capacity == 1 and edge.high_water == 1
    assert sink.got[-1] == "99"
    assert len(sink.got) + edge.drops == 100


async def test_fan_out_copies_and_fan_in_merges() -> None:
    g = Graph()
    a, b = g.add(Numbers(count=5), name="a"), g.add(Numbers(count=5), name="b")
    left, right = g.add(Relay(), name="left"), g.add(Relay(), name="right")
    sink = g.add(Collect())
    g.connect(a.out, left.inp)
    g.connect(a.out, right.inp)
    g.connect(b.out, left.inp)
    g.connect(left.out, sink.inp)
    g.connect(right.out, sink.inp)
    await Runner(g, clock=VirtualClock()).run()
    assert sorted(sink.got) == sorted([str(i) for i in range(5)] * 3)


async def test_end_of_stream_finishes_and_leaves_nothing_behind() -> None:
    threads_before = threading.active_count()
    tasks_before = len(asyncio.all_tasks())
    with Graph() as g:
        sink = Collect()
        Numbers(count=50) >> Relay() >> Relay() >> sink
    runner = Runner(g)
    await runner.run()
    assert runner.finished and len(sink.got) == 50
    assert len(asyncio.all_tasks()) == tasks_before
    assert threading.active_count() <= threads_before


async def test_stop_cancels_a_graph_that_never_ends() -> None:
    g = Graph()
    src, sink = g.add(Numbers(count=10**9, interval=0.01)), g.add(Collect())
    g.connect(src.out, sink.inp)
    tasks_before = len(asyncio.all_tasks())
    async with Runner(g, clock=VirtualClock()) as runner:
        await runner.clock.sleep(1.0)
        runner.stop()
    assert 90 <= len(sink.got) <= 110
    assert len(asyncio.all_tasks()) == tasks_before


async def test_a_node_can_be_run_again_in_a_new_runner() -> None:
    g = Graph()
    src, sink = g.add(Numbers(count=3)), g.add(Collect())
    g.connect(src.out, sink.inp)
    await Runner(g).run()
    await Runner(g).run()
    assert sink.got == ["0", "1", "2"] * 2


async def test_finished_receiver_releases_blocked_sender() -> None:
    class TakeTwo(Node):
        inp: In[TextFrame]

        async def run(self) -> None:
            for _ in range(2):
                await self.receive()

    g = Graph()
    src, sink = g.add(Numbers(count=100)), g.add(TakeTwo())
    g.connect(src.out, sink.inp, capacity=1)
    metrics = await Runner(g, clock=VirtualClock()).run()
    assert next(iter(metrics.edges.values())).frames >= 2


def test_runner_rejects_an_invalid_graph() -> None:
    g = Graph()
    g.add(Collect())
    with pytest.raises(Exception, match="not connected"):
        Runner(g)


class Asker(Node):
    """Forwards questions and counts answers coming back on a feedback edge."""

    questions: In[TextFrame]
    answers: In[TextFrame] = In(required=False)
    out: Out[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.pending = 0
        self.answered: list[str] = []

    async def on_questions(self, frame: TextFrame) -> None:
        self.pending += 1
        await self.emit(self.out, frame)

    async def on_answers(self, frame: TextFrame) -> None:
        self.pending -= 1
        self.answered.append(frame.text)

    def awaiting_feedback(self) -> bool:
        return self.pending > 0


class SlowEcho(Node):
    inp: In[TextFrame]
    out: Out[TextFrame]

    async def on_inp(self, frame: TextFrame) -> None:
        await self.clock.sleep(1.0)
        await self.emit(self.out, TextFrame(f"re:{frame.text}"))


async def test_a_feedback_cycle_ends_after_the_last_answer() -> None:
    g = Graph()
    src, asker, echo = g.add(Numbers(count=3)), g.add(Asker()), g.add(SlowEcho())
    g.connect(src.out, asker.questions)
    g.connect(asker.out, echo.inp)
    g.connect(echo.out, asker.answers, feedback=True)
    await Runner(g, clock=VirtualClock()).run()
    assert asker.answered == ["re:0", "re:1", "re:2"]

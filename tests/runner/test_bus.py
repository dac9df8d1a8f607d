"""The run's event bus: nodes publish, ``runner.subscribe(Type)`` reads.

Covered: stamps (seq in publish order, run-clock time, the node's path and epoch), subclass
routing, subscribing before the run (nothing missed, not even events from ``setup()``), a slow
subscriber that loses its oldest events but never slows a publisher, subscriptions ending with
the run (however it ends), many publishers, misuse errors, and a property over any
interleaving of publishes and reads.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import pairwise

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegraph.graph import (
    UNPUBLISHED,
    BusEvent,
    Flush,
    Graph,
    In,
    Interrupt,
    Node,
    NodeConfig,
    NodeError,
    Out,
    RunnerError,
    TextFrame,
)
from voicegraph.runner import EventBus, Runner, Subscription, VirtualClock

# ---------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Tick(BusEvent):
    n: int


@dataclass(frozen=True, slots=True)
class Tock(Tick):
    """A subclass: ``subscribe(Tick)`` receives it too."""


@dataclass(frozen=True, slots=True)
class Other(BusEvent):
    text: str = ""


# ---------------------------------------------------------------------------------- nodes


class Ticker(Node):
    """Publishes ``Tick(0..count-1)``, ``gap`` seconds apart (``Tock`` for odd n if asked)."""

    class Config(NodeConfig):
        count: int = 3
        gap: float = 0.0
        tock_odd: bool = False
        in_setup: bool = False
        interrupt_at: int = -1

    config: Config

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self.published: list[BusEvent] = []

    async def setup(self) -> None:
        if self.config.in_setup:
            self.published.append(self.publish(Other("from setup")))

    async def run(self) -> None:
        for n in range(self.config.count):
            if n and self.config.gap:
                await self.clock.sleep(self.config.gap)
            if n == self.config.interrupt_at:
                self.interrupt("test")
            event = Tock(n) if self.config.tock_odd and n % 2 else Tick(n)
            self.published.append(self.publish(event))


class Words(Node):
    out: Out[TextFrame]

    class Config(NodeConfig):
        words: list[str] = ["a", "b", "c"]

    config: Config

    async def run(self) -> None:
        for word in self.config.words:
            await self.emit(self.out, TextFrame(word))


class Announcer(Node):
    """A handler node that publishes what it receives."""

    text: In[TextFrame]

    async def on_text(self, frame: TextFrame) -> None:
        self.publish(Other(frame.text))


class Misuser(Node):
    async def run(self) -> None:
        self.publish(Flush())  # type: ignore[type-var]


class Boom(Node):
    async def run(self) -> None:
        self.publish(Other("before"))
        await self.clock.sleep(1.0)
        raise ValueError("boom")


def graph_of(*nodes: Node, names: list[str] | None = None) -> Graph:
    g = Graph()
    for i, node in enumerate(nodes):
        g.add(node, name=names[i] if names else None)
    return g


async def drain(sub: Subscription[BusEvent]) -> list[BusEvent]:
    return [event async for event in sub]


# ---------------------------------------------------------------------------------- stamps


async def test_events_are_stamped_with_seq_time_origin_and_epoch() -> None:
    ticker = Ticker(count=4, gap=0.5, interrupt_at=2)
    sub = Graph()
    sub.add(ticker, name="tick")
    outer = Graph()
    outer.add(sub, name="asr")
    runner = Runner(outer, clock=VirtualClock(start=10.0))
    ticks = runner.subscribe(Tick)

    metrics = await runner.run()

    got = await drain(ticks)
    assert got == [Tick(0), Tick(1), Tick(2), Tick(3)]  # content: stamps take no part in ==
    assert [e.seq for e in got] == [1, 2, 3, 4]
    assert [e.time for e in got] == [10.0, 10.5, 11.0, 11.5]
    assert {e.origin for e in got} == {"asr/tick"}
    assert [e.epoch for e in got] == [0, 0, 1, 1]  # the node interrupted before Tick(2)
    assert all(a is b for a, b in zip(got, ticker.published, strict=True))  # the same objects
    assert metrics.bus.published == 4 and metrics.bus.dropped == 0
    assert metrics.bus.delivered == 4


def test_an_event_is_unpublished_until_published() -> None:
    event = Tick(1)
    assert event.seq == UNPUBLISHED and event.origin == ""
    with pytest.raises(TypeError):
        Tick(1, seq=5)  # type: ignore[call-arg]  # stamps are the runner's, not arguments


def test_publishing_an_event_again_publishes_a_stamped_copy() -> None:
    bus = EventBus(VirtualClock())
    sub = bus.subscribe(Tick)
    first = bus.publish(Tick(7), "a")
    again = bus.publish(first, "b")
    assert again is not first and again == first
    assert (first.seq, first.origin) == (1, "a")  # what a subscriber holds never changes
    assert (again.seq, again.origin) == (2, "b")
    assert [sub.receive_nowait().seq, sub.receive_nowait().seq] == [1, 2]


# ---------------------------------------------------------------------------------- routing


async def test_a_subscription_receives_its_type_and_subclasses_only() -> None:
    words, announcer = Words(), Announcer()
    g = graph_of(Ticker(count=4, tock_odd=True), words, announcer)
    g.connect(words.out, announcer.text)
    runner = Runner(g, clock=VirtualClock())
    ticks, tocks, others, everything = (
        runner.subscribe(Tick),
        runner.subscribe(Tock),
        runner.subscribe(Other),
        runner.subscribe(BusEvent),
    )
    await runner.run()
    assert await drain(ticks) == [Tick(0), Tock(1), Tick(2), Tock(3)]
    assert await drain(tocks) == [Tock(1), Tock(3)]
    assert await drain(others) == [Other("a"), Other("b"), Other("c")]
    every = await drain(everything)
    assert len(every) == 7
    assert [e.seq for e in every] == list(range(1, 8))


def test_subscribe_takes_only_bus_event_types() -> None:
    runner = Runner(Graph(), clock=VirtualClock())
    with pytest.raises(RunnerError, match="control events travel along edges"):
        runner.subscribe(Interrupt)  # type: ignore[type-var]
    with pytest.raises(RunnerError, match="BusEvent subclass"):
        runner.subscribe(int)  # type: ignore[type-var]
    with pytest.raises(RunnerError, match="capacity"):
        runner.subscribe(Tick, capacity=0)


async def test_publishing_a_control_event_fails_the_node_clearly() -> None:
    with pytest.raises(NodeError, match="misuser") as info:
        await Runner(graph_of(Misuser()), clock=VirtualClock()).run()
    assert isinstance(info.value.error, RunnerError)
    assert "send_event" in str(info.value.error)


# ---------------------------------------------------------------------------------- lifetime


async def test_subscribing_before_the_run_misses_nothing_not_even_setup() -> None:
    ticker = Ticker(count=2, in_setup=True)
    runner = Runner(graph_of(ticker), clock=VirtualClock())
    everything = runner.subscribe(BusEvent)
    await runner.run()  # nobody reads during the run: the events wait in the buffer
    got = await drain(everything)
    assert got == [Other("from setup"), Tick(0), Tick(1)]
    assert [e.seq for e in got] == [1, 2, 3]


async def test_a_subscription_made_during_the_run_sees_what_follows() -> None:
    runner = Runner(graph_of(Ticker(count=5, gap=1.0)), clock=VirtualClock())
    async with runner:
        await runner.clock.sleep(2.5)  # Tick(0..2) are out by now
        late = runner.subscribe(Tick)
        await runner.wait()
    assert await drain(late) == [Tick(3), Tick(4)]


async def test_subscriptions_end_when_the_run_ends() -> None:
    runner = Runner(graph_of(Ticker(count=3, gap=1.0)), clock=VirtualClock())
    sub = runner.subscribe(Tick)
    got: list[BusEvent] = []

    async def read() -> None:
        async for event in sub:  # ends by itself: no cancellation needed
            got.append(event)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await runner.run()
    assert got == [Tick(0), Tick(1), Tick(2)]
    with pytest.raises(anyio.EndOfStream):
        await sub.receive()
    with pytest.raises(anyio.EndOfStream):  # a late subscriber gets an ended stream
        runner.subscribe(Tick).receive_nowait()


async def test_subscriptions_end_when_the_run_fails_or_is_stopped() -> None:
    failing = Runner(graph_of(Boom()), clock=VirtualClock())
    sub = failing.subscribe(BusEvent)
    with pytest.raises(NodeError, match="boom"):
        await failing.run()
    assert await drain(sub) == [Other("before")]

    stopped = Runner(graph_of(Ticker(count=100, gap=1.0)), clock=VirtualClock())
    ticks = stopped.subscribe(Tick)
    async with stopped:
        await stopped.clock.sleep(1.5)
        stopped.stop()
    assert await drain(ticks) == [Tick(0), Tick(1)]


async def test_a_reader_can_close_its_subscription_early() -> None:
    runner = Runner(graph_of(Ticker(count=4, gap=1.0)), clock=VirtualClock())
    sub = runner.subscribe(Tick)
    async with runner:
        assert await sub.receive() == Tick(0)
        with sub:
            pass  # leaving the block closes it
        assert runner.metrics().bus.subscriptions == 0
        with pytest.raises(anyio.ClosedResourceError):
            await sub.receive()
        await runner.wait()
    assert sub.pending == 0
    assert runner.metrics().bus.published == 4 and runner.metrics().bus.delivered == 1


async def test_leaving_async_with_closes_a_subscription() -> None:
    bus = EventBus(VirtualClock())
    async with bus.subscribe(Tick) as sub:
        bus.publish(Tick(1), "a")
        assert (await sub.receive()).n == 1
        assert bus.stats().subscriptions == 1
    assert bus.stats().subscriptions == 0
    with pytest.raises(anyio.ClosedResourceError):
        await sub.receive()


# ---------------------------------------------------------------------------------- slow readers


async def test_a_slow_subscriber_drops_its_oldest_and_never_holds_the_publisher_back() -> None:
    clock = VirtualClock()
    runner = Runner(graph_of(Ticker(count=1000, gap=0.001)), clock=clock)
    slow = runner.subscribe(Tick, capacity=4)
    fast = runner.subscribe(Tick)  # default capacity, read promptly: loses nothing
    seen_slow: list[int] = []
    seen_fast: list[int] = []

    async def read_slowly() -> None:
        async for event in slow:
            seen_slow.append(event.seq)
            await clock.sleep(1.0)  # 1000x slower than the publisher

    async def read_fast() -> None:
        async for event in fast:
            seen_fast.append(event.seq)

    async with clock.running(), anyio.create_task_group() as tg:
        tg.start_soon(read_slowly)
        tg.start_soon(read_fast)
        metrics = await runner.run()

    assert metrics.elapsed == pytest.approx(0.999)  # the publisher kept its own pace
    assert seen_fast == list(range(1, 1001))
    assert seen_slow == sorted(set(seen_slow)) and seen_slow[-4:] == [997, 998, 999, 1000]
    assert slow.dropped == 1000 - len(seen_slow) > 900
    assert fast.dropped == 0
    assert metrics.bus.dropped == slow.dropped
    assert metrics.bus.published == 1000


async def test_capacity_one_keeps_the_latest_event() -> None:
    runner = Runner(graph_of(Ticker(count=5)), clock=VirtualClock())
    latest = runner.subscribe(Tick, capacity=1)
    await runner.run()
    assert await drain(latest) == [Tick(4)]
    assert latest.dropped == 4


# ---------------------------------------------------------------------------------- many publishers


async def test_many_nodes_publish_into_one_ordered_stream() -> None:
    gaps = {"a": 0.3, "b": 0.5, "c": 0.7, "d": 1.1}
    nodes = [Ticker(count=6, gap=gap) for gap in gaps.values()]
    runner = Runner(graph_of(*nodes, names=list(gaps)), clock=VirtualClock())
    sub = runner.subscribe(Tick)
    await runner.run()
    got = await drain(sub)
    assert len(got) == 24
    assert [e.seq for e in got] == list(range(1, 25))
    assert [e.time for e in got] == sorted(e.time for e in got)
    for name, gap in gaps.items():
        mine = [e for e in got if e.origin == name]
        assert mine == [Tick(n) for n in range(6)]
        assert [e.time for e in mine] == pytest.approx([n * gap for n in range(6)])


# ---------------------------------------------------------------------------------- property

Op = tuple[str, int]  # ("publish", kind) or ("read", subscriber index)
KINDS = (Tick, Tock, Other)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subs=st.lists(
        st.tuples(st.sampled_from([BusEvent, Tick, Tock, Other]), st.integers(1, 5)),
        min_size=1,
        max_size=4,
    ),
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("publish"), st.integers(0, len(KINDS) - 1)),
            st.tuples(st.just("read"), st.integers(0, 3)),
        ),
        max_size=60,
    ),
)
def test_any_interleaving_gives_increasing_seqs_and_exact_drop_counts(
    subs: list[tuple[type[BusEvent], int]], ops: list[Op]
) -> None:
    bus = EventBus(VirtualClock())
    subscriptions = [bus.subscribe(kind, capacity=cap) for kind, cap in subs]
    model: list[deque[int]] = [deque(maxlen=cap) for _, cap in subs]  # drop-oldest buffers
    model_drops = [0] * len(subs)
    received: list[list[int]] = [[] for _ in subs]
    for op, arg in ops:
        if op == "publish":
            cls = KINDS[arg]
            event = bus.publish(cls(0) if cls is not Other else Other())  # type: ignore[call-arg]
            for i, (kind, cap) in enumerate(subs):
                if isinstance(event, kind):
                    model_drops[i] += len(model[i]) == cap
                    model[i].append(event.seq)
        elif arg < len(subs):
            try:
                received[arg].append(subscriptions[arg].receive_nowait().seq)
            except anyio.WouldBlock:
                assert not model[arg]
            else:
                assert received[arg][-1] == model[arg].popleft()
    bus.close()
    for i, sub in enumerate(subscriptions):
        while True:
            try:
                received[i].append(sub.receive_nowait().seq)
            except anyio.EndOfStream:
                break
        seqs = received[i]
        assert all(a < b for a, b in pairwise(seqs))
        assert sub.dropped == model_drops[i]
        matching = sum(
            1 for op, arg in ops if op == "publish" and issubclass(KINDS[arg], subs[i][0])
        )
        assert len(seqs) + sub.dropped == matching
    stats = bus.stats()
    assert stats.dropped == sum(model_drops)
    assert stats.published == sum(1 for op, _ in ops if op == "publish")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plans=st.lists(
        st.tuples(st.integers(0, 8), st.sampled_from([0.0, 0.1, 0.25, 0.4])),
        min_size=1,
        max_size=4,
    ),
    capacity=st.integers(1, 6),
    read_gap=st.sampled_from([0.0, 0.05, 0.3, 1.0]),
)
def test_a_run_with_any_publishers_and_any_reader_loses_only_counted_events(
    plans: list[tuple[int, float]], capacity: int, read_gap: float
) -> None:
    async def main() -> None:
        clock = VirtualClock()
        nodes = [Ticker(count=count, gap=gap) for count, gap in plans]
        runner = Runner(graph_of(*nodes, names=[f"n{i}" for i in range(len(nodes))]), clock=clock)
        sub = runner.subscribe(Tick, capacity=capacity)
        got: list[Tick] = []

        async def read() -> None:
            async for event in sub:
                got.append(event)
                await clock.sleep(read_gap)

        async with clock.running(), anyio.create_task_group() as tg:
            tg.start_soon(read)
            metrics = await runner.run()
        total = sum(count for count, _ in plans)
        seqs = [e.seq for e in got]
        assert all(a < b for a, b in pairwise(seqs))
        assert len(got) + sub.dropped == total == metrics.bus.published
        assert metrics.bus.dropped == sub.dropped
        if read_gap == 0.0 and capacity >= len(plans) and all(gap for _, gap in plans):
            # a prompt reader drains before time moves on: at most one event per node per
            # instant can be waiting, so nothing is lost
            assert sub.dropped == 0
        for i, (count, _) in enumerate(plans):  # each node's survivors keep their order
            mine = [e.n for e in got if e.origin == f"n{i}"]
            assert mine == sorted(set(mine)) and all(0 <= n < count for n in mine)

    anyio.run(main)

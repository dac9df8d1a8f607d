"""Control events: a send that reaches a node by several paths is handled there once."""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from voicegraph.graph import Control, Event, Graph, In, Node, Out
from voicegraph.runner import Runner, VirtualClock


@dataclass(frozen=True, slots=True)
class Ping(Event):
    n: int


class Source(Node):
    out: Out[Control]

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events

    async def run(self) -> None:
        for event in self.events:
            await self.send_event(event)
            await self.clock.sleep(0.1)


class Relay(Node):
    """Forwards every event (Node's default on_event), after ``delay`` seconds."""

    inp: In[Control]
    out: Out[Control]

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay

    async def on_inp(self, frame: Control) -> None:
        """Events only."""

    async def on_event(self, event: Event) -> None:
        await self.clock.sleep(self.delay)
        await super().on_event(event)


class Collect(Node):
    a: In[Control]
    b: In[Control] = In(required=False)
    forward_events = False

    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[float, Event]] = []

    async def on_a(self, frame: Control) -> None:
        """Events only."""

    async def on_b(self, frame: Control) -> None:
        """Events only."""

    async def on_event(self, event: Event) -> None:
        self.got.append((round(self.clock.now(), 3), event))


def diamond(events: list[Event]) -> tuple[Collect, Runner]:
    """source -> fast -> sink.a and source -> slow (0.25 s) -> sink.b"""
    g = Graph()
    src = g.add(Source(events), name="source")
    fast = g.add(Relay(), name="fast")
    slow = g.add(Relay(0.25), name="slow")
    sink = g.add(Collect(), name="sink")
    g.connect(src.out, fast.inp)
    g.connect(src.out, slow.inp)
    g.connect(fast.out, sink.a)
    g.connect(slow.out, sink.b)
    runner = Runner(g, clock=VirtualClock())
    anyio.run(runner.run)
    return sink, runner


def test_a_broadcast_forwarded_along_two_paths_is_handled_once() -> None:
    sink, runner = diamond([Ping(1), Ping(2)])
    assert sink.got == [(0.0, Ping(1)), (0.1, Ping(2))]  # the slow copies came and were skipped
    assert runner.metrics().nodes["sink"].events == 2


def test_the_same_object_sent_twice_is_two_sends() -> None:
    ping = Ping(7)
    sink, _ = diamond([ping, ping])
    assert [t for t, _ in sink.got] == [0.0, 0.1]


def test_one_event_sent_on_two_ports_reaches_a_fan_in_node_twice() -> None:
    class TwoPorts(Node):
        left: Out[Control]
        right: Out[Control]

        async def run(self) -> None:
            ping = Ping(1)
            await self.send_event(ping, self.left)  # two explicit sends
            await self.send_event(ping, self.right)

    g = Graph()
    src = g.add(TwoPorts(), name="source")
    sink = g.add(Collect(), name="sink")
    g.connect(src.left, sink.a)
    g.connect(src.right, sink.b)
    anyio.run(Runner(g, clock=VirtualClock()).run)
    assert [e for _, e in sink.got] == [Ping(1), Ping(1)]


class Ender(Node):
    out: Out[Control]

    async def run(self) -> None:
        return  # its stream ends at once


class Flood(Node):
    """Sends many events, after the receiver has finished."""

    out: Out[Control]

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self.sent = 0

    async def run(self) -> None:
        await self.clock.sleep(1.0)
        for n in range(self.count):
            await self.send_event(Ping(n), self.out)  # a broadcast skips feedback edges
            self.sent += 1


class Finished(Node):
    data: In[Control]
    late: In[Control] = In(required=False)


async def test_events_to_a_finished_node_never_block_the_sender() -> None:
    # more events than the control lane holds, sent after the receiver's input ended:
    # nobody reads them, so the sender must not wait for room
    g = Graph("g")
    ender, flood, done = g.add(Ender()), g.add(Flood(500)), g.add(Finished())
    g.connect(ender.out, done.data)
    g.connect(flood.out, done.late, feedback=True)  # does not keep the receiver running
    with anyio.fail_after(10):  # real time: a blocked sender would hang the run
        await Runner(g, clock=VirtualClock()).run()
    assert flood.sent == 500

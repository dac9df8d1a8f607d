"""Property tests over random DAGs with random capacities, policies, delays and interrupts.

Invariants:
* under ``block`` every frame crosses every edge exactly once and in order, nothing deadlocks;
* under any policy an edge delivers a subsequence of what was sent (no duplicates, no reordering);
* after an interrupt, no frame of an older epoch crosses an edge inside the interrupt's scope,
  and edges outside the scope lose nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegraph.graph import Frame, Graph, In, Node, NodeConfig, Out, Policy
from voicegraph.runner import Runner, VirtualClock


@dataclass(frozen=True, slots=True)
class Item(Frame):
    origin: str
    seq: int
    path: tuple[str, ...] = field(default=())


Key = tuple[str, int, tuple[str, ...]]


def key(item: Item) -> Key:
    return (item.origin, item.seq, item.path)


class Source(Node):
    class Config(NodeConfig):
        count: int = 5
        gap: float = 0.0

    out: Out[Item]

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self.emitted: list[Key] = []

    async def run(self) -> None:
        for i in range(self.config.count):
            item = Item(self.name, i, (self.name,))
            self.emitted.append(key(item))
            await self.emit(self.out, item)
            if self.config.gap:
                await self.clock.sleep(self.config.gap)


class Relay(Node):
    class Config(NodeConfig):
        delay: float = 0.0
        interrupt_at: list[int] = []

    inp: In[Item]
    out: Out[Item]

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self.emitted: list[Key] = []
        self.received: list[tuple[Key, int, int]] = []  # (item, frame epoch, own epoch)
        self.handled = 0

    async def on_inp(self, frame: Item) -> None:
        self.received.append((key(frame), frame.epoch, self.epoch))
        self.handled += 1
        if self.handled in self.config.interrupt_at:
            self.interrupt("property test")
        if self.config.delay:
            await self.clock.sleep(self.config.delay)
        item = Item(frame.origin, frame.seq, (*frame.path, self.name))
        self.emitted.append(key(item))
        await self.emit(self.out, item)


@dataclass
class Spec:
    sources: dict[int, tuple[int, float]]  # node -> (count, gap)
    delays: dict[int, float]
    edges: dict[tuple[int, int], tuple[int, Policy]]
    interrupter: int | None = None
    interrupt_at: list[int] = field(default_factory=list)


@st.composite
def dags(draw: st.DrawFn, policies: tuple[Policy, ...], with_interrupts: bool) -> Spec:
    n = draw(st.integers(2, 7))
    sources: dict[int, tuple[int, float]] = {}
    delays: dict[int, float] = {}
    edges: dict[tuple[int, int], tuple[int, Policy]] = {}
    for i in range(n):
        if i == 0 or draw(st.integers(0, 4)) == 0:
            sources[i] = (draw(st.integers(1, 12)), draw(st.sampled_from([0.0, 0.001, 0.003])))
            continue
        delays[i] = draw(st.sampled_from([0.0, 0.0, 0.002, 0.005]))
        preds = draw(st.sets(st.integers(0, i - 1), min_size=1, max_size=min(3, i)))
        for p in preds:
            edges[(p, i)] = (draw(st.integers(1, 4)), draw(st.sampled_from(policies)))
    spec = Spec(sources, delays, edges)
    if with_interrupts:
        relays = sorted(delays)
        if relays:
            spec.interrupter = draw(st.sampled_from(relays))
            spec.interrupt_at = sorted(draw(st.sets(st.integers(1, 12), min_size=1, max_size=3)))
    return spec


def build(spec: Spec) -> tuple[Graph, dict[int, Source | Relay]]:
    g = Graph()
    nodes: dict[int, Source | Relay] = {}
    for i in sorted([*spec.sources, *spec.delays]):
        if i in spec.sources:
            count, gap = spec.sources[i]
            nodes[i] = g.add(Source(count=count, gap=gap), name=f"n{i}")
        else:
            at = spec.interrupt_at if i == spec.interrupter else []
            nodes[i] = g.add(Relay(delay=spec.delays[i], interrupt_at=at), name=f"n{i}")
    for (a, b), (capacity, policy) in spec.edges.items():
        g.connect(nodes[a].out, nodes[b].inp, capacity=capacity, policy=policy)  # type: ignore[union-attr]
    return g, nodes


def run(g: Graph) -> None:
    async def main() -> None:
        with anyio.fail_after(30):  # a deadlock would raise DeadlockError long before this
            await Runner(g, clock=VirtualClock()).run()

    anyio.run(main)


def arrivals(receiver: Relay, sender: str) -> list[Key]:
    return [k for k, _, _ in receiver.received if k[2][-1] == sender]


def is_subsequence(sub: list[Key], seq: list[Key]) -> bool:
    it = iter(seq)
    return all(any(x == y for y in it) for x in sub)


def descendants(spec: Spec, origin: int) -> set[int]:
    found: set[int] = set()
    todo = [origin]
    while todo:
        a = todo.pop()
        for x, y in spec.edges:
            if x == a and y not in found:
                found.add(y)
                todo.append(y)
    return found


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(dags(policies=("block",), with_interrupts=False))
def test_block_delivers_every_frame_exactly_once_in_order(spec: Spec) -> None:
    g, nodes = build(spec)
    run(g)
    for a, b in spec.edges:
        receiver = nodes[b]
        assert isinstance(receiver, Relay)
        assert arrivals(receiver, f"n{a}") == nodes[a].emitted


@PROPERTY_SETTINGS
@given(dags(policies=("block", "drop_oldest", "latest"), with_interrupts=False))
def test_any_policy_delivers_a_subsequence(spec: Spec) -> None:
    g, nodes = build(spec)
    run(g)
    for (a, b), (_, policy) in spec.edges.items():
        receiver = nodes[b]
        assert isinstance(receiver, Relay)
        got, sent = arrivals(receiver, f"n{a}"), nodes[a].emitted
        assert len(set(got)) == len(got)
        assert is_subsequence(got, sent)
        if policy == "block":
            assert got == sent


@PROPERTY_SETTINGS
@given(dags(policies=("block",), with_interrupts=True))
def test_interrupts_drop_stale_frames_inside_scope_only(spec: Spec) -> None:
    g, nodes = build(spec)
    run(g)
    if spec.interrupter is None:
        return
    scope = descendants(spec, spec.interrupter)
    senders = scope | {spec.interrupter}
    for a, b in spec.edges:
        receiver = nodes[b]
        assert isinstance(receiver, Relay)
        sender = f"n{a}"
        got, sent = arrivals(receiver, sender), nodes[a].emitted
        if b in scope and a in senders:
            # inside the scope: never a frame older than the receiver's epoch
            for k, frame_epoch, own_epoch in receiver.received:
                if k[2][-1] == sender:
                    assert frame_epoch >= own_epoch, (k, frame_epoch, own_epoch)
            assert is_subsequence(got, sent)
        else:
            assert got == sent  # outside the scope nothing is lost

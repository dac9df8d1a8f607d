"""Supervision: fail (error names node, port, frame), restart with backoff, fallback."""

from __future__ import annotations

import pytest

from voicegraph.graph import Graph, In, Node, NodeConfig, NodeError, Out, Supervision, TextFrame
from voicegraph.runner import Runner, VirtualClock


class Words(Node):
    class Config(NodeConfig):
        words: list[str] = ["a", "b", "boom", "c"]

    out: Out[TextFrame]

    async def run(self) -> None:
        for w in self.config.words:
            await self.emit(self.out, TextFrame(w))


class Fragile(Node):
    """Raises on "boom" the first ``fail_times`` times it sees it."""

    class Config(NodeConfig):
        fail_times: int = 1

    text: In[TextFrame]
    out: Out[TextFrame]

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self.failures = 0
        self.setups = 0

    async def setup(self) -> None:
        self.setups += 1

    async def on_text(self, frame: TextFrame) -> None:
        if frame.text == "boom" and self.failures < self.config.fail_times:
            self.failures += 1
            raise ValueError("cannot say boom")
        await self.emit(self.out, TextFrame(frame.text.upper()))


class Backup(Node):
    text: In[TextFrame]
    out: Out[TextFrame]

    async def on_text(self, frame: TextFrame) -> None:
        await self.emit(self.out, TextFrame(f"backup:{frame.text}"))


class Collect(Node):
    inp: In[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[str] = []
        self.times: list[float] = []

    async def on_inp(self, frame: TextFrame) -> None:
        self.got.append(frame.text)
        self.times.append(self.clock.now())


def build(fragile: Fragile, on_error: Supervision | str | None = None) -> tuple[Graph, Collect]:
    g = Graph()
    src, sink = g.add(Words()), g.add(Collect())
    g.add(fragile, name="stt", on_error=on_error)
    g.connect(src.out, fragile.text)
    g.connect(fragile.out, sink.inp)
    return g, sink


async def test_fail_names_the_node_the_port_and_the_frame() -> None:
    g, _ = build(Fragile())
    with pytest.raises(NodeError) as info:
        await Runner(g, clock=VirtualClock()).run()
    err = info.value
    assert err.node == "stt" and err.port == "text"
    assert "boom" in str(err) and "'stt'" in str(err) and "'text'" in str(err)
    assert isinstance(err.error, ValueError)


async def test_restart_retries_the_frame_with_backoff() -> None:
    fragile = Fragile(fail_times=2)
    g, sink = build(fragile, Supervision(policy="restart", backoff=0.1))
    runner = Runner(g, clock=VirtualClock())
    metrics = await runner.run()
    assert sink.got == ["A", "B", "BOOM", "C"]  # nothing lost
    assert metrics.nodes["stt"].restarts == 2 and fragile.setups == 3
    assert sink.times[2] == pytest.approx(0.1 + 0.2)  # exponential backoff on the virtual clock
    assert [f.node for f in runner.failures] == ["stt", "stt"]


async def test_restart_gives_up_after_max_restarts() -> None:
    g, _ = build(Fragile(fail_times=10), Supervision(policy="restart", max_restarts=2, backoff=0))
    with pytest.raises(NodeError, match="cannot say boom"):
        await Runner(g, clock=VirtualClock()).run()


async def test_fallback_switches_node_and_keeps_the_turn() -> None:
    g, sink = build(Fragile(), Supervision(policy="fallback", fallback=Backup()))
    await Runner(g, clock=VirtualClock()).run()
    assert sink.got == ["A", "B", "backup:boom", "backup:c"]


def test_fallback_must_have_compatible_ports() -> None:
    class NoOut(Node):
        text: In[TextFrame]

        async def on_text(self, frame: TextFrame) -> None:
            pass

    g, _ = build(Fragile(), Supervision(policy="fallback", fallback=NoOut()))
    with pytest.raises(Exception, match="compatible output 'out'"):
        Runner(g)


class BadSetup(Fragile):
    async def setup(self) -> None:
        raise OSError("model file missing")


async def test_setup_failure_names_the_node() -> None:
    g, _ = build(BadSetup())
    with pytest.raises(NodeError, match="'stt'.*model file missing"):
        await Runner(g, clock=VirtualClock()).run()

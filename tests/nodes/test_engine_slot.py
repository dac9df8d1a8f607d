"""EngineSlot: a host node's engine, swapped for a while, entered once on the host's clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest

from voicegraph.graph import ConfigError, Engine, Graph, In, Node, NodeError, Out, TextFrame
from voicegraph.nodes._host import EngineSlot
from voicegraph.runner import Runner, VirtualClock


class Counting(Engine):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    async def start(self) -> None:
        self.log.append("start")

    async def aclose(self) -> None:
        self.log.append("close")


class Other(Engine):
    pass


class Failing(Counting):
    async def aclose(self) -> None:
        raise RuntimeError("boom")


class Host(Node):
    text: In[TextFrame]


class _Runtime:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.epoch = 0


async def test_select_enters_each_engine_once_and_closes_all_newest_first() -> None:
    host = Host()
    clock = VirtualClock()
    host._rt = _Runtime(clock)  # type: ignore[assignment]
    built, agents = Counting(), Counting()
    slot = EngineSlot(host, Counting, built)
    assert await slot.ready() is built and built.clock is clock
    slot.select(agents)
    assert await slot.ready() is agents
    await slot.ready()
    slot.select(None)
    assert slot.current is built
    await slot.ready()
    assert built.log == ["start"] and agents.log == ["start"]
    await slot.aclose()
    assert built.log == ["start", "close"] and agents.log == ["start", "close"]


def test_engines_of_another_kind_are_refused() -> None:
    slot = EngineSlot(Host(), Counting, Counting())
    with pytest.raises(ConfigError, match="expected a Counting"):
        slot.select(Other())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="got Other"):
        EngineSlot(Host(), Counting, Other())


async def test_a_failing_close_is_logged_and_the_others_still_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = Host()
    host._rt = _Runtime(VirtualClock())  # type: ignore[assignment]
    good, bad = Counting(), Failing()
    slot = EngineSlot(host, Counting, good)
    await slot.ready()
    slot.select(bad)
    await slot.ready()
    await slot.aclose()
    assert good.log == ["start", "close"]
    assert "closing engine Failing failed" in caplog.text


# ------------------------------------------------------------ background work of the engines


class Retrying(Counting):
    """Its background work ticks every second (logged with the clock's time) until cancelled."""

    def __init__(self, fail_at: float | None = None) -> None:
        super().__init__()
        self.fail_at = fail_at

    async def background(self) -> None:
        try:
            while True:
                await self.clock.sleep(1.0)
                if self.fail_at is not None and self.clock.now() >= self.fail_at:
                    raise RuntimeError("retry loop broke")
                self.log.append(f"tick {self.clock.now():g}")
        except anyio.get_cancelled_exc_class():
            self.log.append(f"cancelled {self.clock.now():g}")
            raise

    async def aclose(self) -> None:
        self.log.append(f"close {self.clock.now():g}")


class Feed(Node):
    out: Out[TextFrame]

    async def run(self) -> None:
        for at, text in [(0.0, "a"), (2.5, "swap"), (3.0, "b")]:
            await self.clock.sleep_until(at)
            if text == "swap":
                self.interrupt("barge-in")
            await self.emit(self.out, TextFrame(text))


class SlotHost(Node):
    """Enters its engine in setup; each frame takes 2.8 s and uses the current engine again;
    ``swap`` selects ``other`` from then on."""

    text: In[TextFrame]

    def __init__(self, engine: Counting, other: Counting | None = None) -> None:
        super().__init__()
        self.slot = EngineSlot(self, Counting, engine)
        self.other = other
        self.interrupts = 0

    async def setup(self) -> None:
        await self.slot.ready()

    async def on_text(self, frame: TextFrame) -> None:
        if frame.text == "swap" and self.other is not None:
            self.slot.select(self.other)
        await self.slot.ready()
        await self.clock.sleep(2.8)

    async def on_interrupt(self, event: object) -> None:
        self.interrupts += 1

    async def aclose(self) -> None:
        await self.slot.aclose()


async def run_host(host: SlotHost) -> None:
    g = Graph()
    feed = g.add(Feed(), name="feed")
    g.add(host, name="llm")
    g.connect(feed.out, host.text)
    with anyio.fail_after(5):
        await Runner(g, clock=VirtualClock()).run()


async def test_ready_runs_each_engines_background_once_across_interrupts_until_the_stop() -> None:
    built, agents = Retrying(), Retrying()
    host = SlotHost(built, other=agents)
    await run_host(host)
    assert host.interrupts == 1  # the handler of "a" was cut at 2.5 s; the engines' work was not
    # started once each (setup; the swap at 2.5 s), cancelled when the run stopped (at 8.1 s,
    # after "swap" and "b" took 2.8 s each), and only then closed (newest first)
    assert built.log == ["start", *(f"tick {t}" for t in range(1, 9)), "cancelled 8.1", "close 8.1"]
    ticks = [f"tick {t + 0.5}" for t in range(3, 8)]
    assert agents.log == ["start", *ticks, "cancelled 8.1", "close 8.1"]


async def test_an_error_in_an_engines_background_fails_the_host_by_name() -> None:
    engine = Retrying(fail_at=2.0)
    with pytest.raises(NodeError, match="retry loop broke") as info:
        await run_host(SlotHost(engine))
    assert info.value.node == "llm" and isinstance(info.value.error, RuntimeError)
    assert engine.log == ["start", "tick 1", "close 2"]


async def test_engines_without_background_work_start_no_task() -> None:
    class Recording(SlotHost):
        started: list[object] = []

        def run_in_background(self, func: Callable[[], Awaitable[object]]) -> None:
            self.started.append(func)
            super().run_in_background(func)

    plain, retrying = Counting(), Retrying()
    host = Recording(plain, other=retrying)
    await run_host(host)
    assert host.started == [retrying.serve_background]  # the plain engine's no-op is not run
    assert plain.log == ["start", "close"]

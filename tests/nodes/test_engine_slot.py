"""EngineSlot: a host node's engine, swapped for a while, entered once on the host's clock."""

from __future__ import annotations

import pytest

from voicegraph.graph import ConfigError, Engine, In, Node, TextFrame
from voicegraph.nodes._host import EngineSlot
from voicegraph.runner import VirtualClock


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
        EngineSlot(Host(), Counting, Other())  # type: ignore[arg-type]


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

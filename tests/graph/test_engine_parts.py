"""Engines: configured like nodes, entered once by many hosts, stored under a node's ``parts``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import pytest

from voicegraph.graph import (
    ConfigError,
    Engine,
    Graph,
    GraphError,
    In,
    Node,
    NodeConfig,
    Out,
    RealClock,
    TextFrame,
    graph_from_dict,
    graph_to_dict,
)

MODULE = __name__


class Echo(Engine):
    class Config(NodeConfig):
        prefix: str = ">"

    config: Config

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")

    async def aclose(self) -> None:
        self.events.append("close")


class Either(Engine):
    """A combinator: its providers are parts."""

    class Config(NodeConfig):
        retries: int = 1

    def __init__(
        self, config: NodeConfig | None = None, /, *, providers: Sequence[Engine], **kw: Any
    ) -> None:
        super().__init__(config, **kw)
        self.providers = list(providers)

    def parts(self) -> Mapping[str, Engine | Sequence[Engine]]:
        return {"providers": self.providers}


class Host(Node):
    text: In[TextFrame]
    out: Out[TextFrame]

    def __init__(self, config: NodeConfig | None = None, /, *, engine: Engine, **kw: Any) -> None:
        super().__init__(config, **kw)
        self.engine = engine

    def parts(self) -> Mapping[str, Engine | Sequence[Engine]]:
        return {"engine": self.engine}


def test_settings_are_validated_like_a_node() -> None:
    assert Echo(prefix="#").config.prefix == "#"
    with pytest.raises(ConfigError, match="invalid settings for Echo"):
        Echo(colour="red")
    with pytest.raises(ConfigError, match="either a Config or keyword settings"):
        Echo(Echo.Config(), prefix="#")


async def test_entered_by_several_users_starts_once_and_closes_after_the_last() -> None:
    engine = Echo()
    async with engine:
        async with engine:
            assert engine.started
        assert engine.events == ["start"]
    assert engine.events == ["start", "close"]
    assert not engine.started


def test_runs_on_the_wall_clock_until_a_host_binds_one() -> None:
    engine = Echo()
    assert isinstance(engine.clock, RealClock)
    other = RealClock()
    engine.bind(other)
    assert engine.clock is other


def _graph() -> Graph:
    g = Graph("g")
    g.add(Host(engine=Either(retries=2, providers=[Echo(prefix="a"), Echo()])), name="h")
    return g


def test_a_host_writes_its_engine_and_the_engines_nested_parts() -> None:
    data = graph_to_dict(_graph())
    (node,) = data["nodes"]
    assert node["parts"] == {
        "engine": {
            "type": f"{MODULE}:Either",
            "config": {"retries": 2},
            "parts": {
                "providers": [
                    {"type": f"{MODULE}:Echo", "config": {"prefix": "a"}},
                    {"type": f"{MODULE}:Echo", "config": {"prefix": ">"}},
                ]
            },
        }
    }
    loaded = graph_from_dict(data, allow=[MODULE])
    assert graph_to_dict(loaded) == data
    (host,) = loaded.iter_nodes()
    assert isinstance(host, Host) and isinstance(host.engine, Either)
    assert [e.config.prefix for e in host.engine.providers] == ["a", ">"]  # type: ignore[attr-defined]


class Plain(Node):
    out: Out[TextFrame]


def test_nodes_without_parts_write_no_parts_key() -> None:
    g = Graph("g")
    g.add(Plain(), name="p")
    assert "parts" not in graph_to_dict(g)["nodes"][0]


def test_bad_parts_are_reported_with_every_other_problem() -> None:
    data = graph_to_dict(_graph())
    engine = data["nodes"][0]["parts"]["engine"]
    engine["parts"]["providers"][0] = {"type": f"{MODULE}:Host", "config": {}}  # a node
    engine["parts"]["providers"][1] = {"type": f"{MODULE}:Echo", "config": {"prefix": 1}}
    engine["config"] = {"retries": 1, "colour": "red"}
    with pytest.raises(GraphError) as info:
        graph_from_dict(data, allow=[MODULE])
    text = str(info.value)
    assert "parts.engine: parts.providers[0]: unknown engine type" in text
    assert "not a Engine subclass" in text
    assert "parts.engine: parts.providers[1]: invalid config" in text


@pytest.mark.parametrize(
    ("parts", "fragment"),
    [
        ([1], "parts must be a mapping"),
        ({"engine": 3}, "parts.engine must be {type, config}"),
        ({"__class__": {"type": f"{MODULE}:Echo"}}, "is not a keyword name"),
        ({"engine": {"type": "os:system"}}, "module 'os' is not allowed"),
        ({"engine": {"type": f"{MODULE}:Echo", "extra": 1}}, "unknown key(s) 'extra'"),
    ],
)
def test_hostile_parts(parts: Any, fragment: str) -> None:
    data = graph_to_dict(_graph())
    data["nodes"][0]["parts"] = parts
    with pytest.raises(GraphError) as info:
        graph_from_dict(data, allow=[MODULE])
    assert fragment in str(info.value)


class SlowStart(Echo):
    async def start(self) -> None:
        await anyio.sleep(0.01)  # another host enters meanwhile
        self.events.append("start")


async def test_hosts_entering_at_once_start_it_once() -> None:
    engine = SlowStart()

    async def host() -> None:
        async with engine:
            await anyio.sleep(0.02)

    async with anyio.create_task_group() as tg:
        tg.start_soon(host)
        tg.start_soon(host)
    assert engine.events == ["start", "close"]


class Retrying(Engine):
    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    async def background(self) -> None:
        self.runs += 1
        await anyio.sleep_forever()


async def test_background_runs_once_for_several_hosts_and_another_takes_over() -> None:
    engine = Retrying()
    async with anyio.create_task_group() as tg:
        first = anyio.CancelScope()

        async def host_one() -> None:
            with first:
                await engine.serve_background()

        tg.start_soon(host_one)
        tg.start_soon(engine.serve_background)
        await anyio.sleep(0.01)
        assert engine.runs == 1  # the second host waits
        first.cancel()  # the host running it stops: the other one takes over
        await anyio.sleep(0.01)
        assert engine.runs == 2
        tg.cancel_scope.cancel()


class Finishing(Engine):
    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    async def background(self) -> None:
        self.runs += 1


async def test_background_that_returns_is_not_run_again_by_the_next_host() -> None:
    engine = Finishing()
    await engine.serve_background()
    await engine.serve_background()
    assert engine.runs == 1

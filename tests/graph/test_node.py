"""The Node base: Config validation, per-instance ports, run/handler styles, runtime guard."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import pytest

from voicegraph.graph import (
    ConfigError,
    Graph,
    GraphError,
    In,
    Node,
    NodeConfig,
    NodeError,
    Out,
    Supervision,
    TextFrame,
    UsageError,
    runtime_of,
)
from voicegraph.runner import Runner, VirtualClock


class Upper(Node):
    text: In[TextFrame]
    out: Out[TextFrame]

    class Config(NodeConfig):
        times: int = 1
        prefix: str = ""

    async def on_text(self, frame: TextFrame) -> None:
        await self.emit(self.out, TextFrame(self.config.prefix + frame.text.upper()))


class Ticker(Node):
    out: Out[TextFrame]

    async def run(self) -> None:
        await self.emit(self.out, TextFrame("tick"))


class Printer(Node):
    text: In[TextFrame]
    extra: In[TextFrame] = In(required=False)

    async def on_text(self, frame: TextFrame) -> None:
        pass

    on_extra = "not callable"


class LoudUpper(Upper):
    """Inherits ports and Config."""

    shout: Out[Later]


class OtherConfig(NodeConfig):
    times: int = 1


@dataclass(frozen=True, slots=True)
class Later(TextFrame):
    """Defined after the node that uses it: the annotation resolves lazily."""


# ---------------------------------------------------------------------------- Config


def test_config_from_keywords_and_defaults() -> None:
    assert Upper().config == Upper.Config()
    node = Upper(times=3, prefix=">")
    assert node.config.times == 3
    assert node.config.prefix == ">"


def test_config_instance() -> None:
    cfg = Upper.Config(times=2)
    assert Upper(cfg).config is cfg


def test_invalid_setting_is_config_error_naming_class() -> None:
    with pytest.raises(ConfigError, match="Upper") as info:
        Upper(times="many")
    assert "times" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_setting_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"(?s)invalid settings for Upper.*colour"):
        Upper(colour="red")


def test_config_and_keywords_together_is_config_error() -> None:
    with pytest.raises(ConfigError, match="Upper: pass either a Config or keyword settings"):
        Upper(Upper.Config(), times=2)


def test_wrong_config_class_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"Upper expects a Upper.Config, got OtherConfig"):
        Upper(OtherConfig())


def test_config_is_frozen() -> None:
    node = Upper()
    with pytest.raises(ValueError):
        node.config.times = 5  # type: ignore[misc]


# ---------------------------------------------------------------------------- ports


def test_ports_are_bound_per_instance() -> None:
    a, b = Upper(), Upper()
    assert a.text is not b.text
    assert a.text.node is a
    assert b.text.node is b
    assert a.out.types == (TextFrame,)


def test_inputs_outputs_and_kind() -> None:
    assert list(Upper().inputs) == ["text"]
    assert list(Upper().outputs) == ["out"]
    assert Upper().kind == "stage"
    assert Ticker().kind == "source"
    assert Printer().kind == "sink"
    assert list(Printer().inputs) == ["text", "extra"]


def test_ports_are_inherited_and_forward_references_resolve() -> None:
    node = LoudUpper()
    assert set(node.outputs) == {"out", "shout"}
    assert node.shout.types == (Later,)
    assert isinstance(node.config, Upper.Config)


def test_default_name_is_snake_case() -> None:
    assert Upper().default_name() == "upper"
    assert LoudUpper().default_name() == "loud_upper"


# ---------------------------------------------------------------------------- styles


def test_has_run() -> None:
    assert Ticker.has_run()
    assert not Upper.has_run()
    assert not Printer.has_run()


def test_handler_for() -> None:
    up = Upper()
    handler = up.handler_for(up.text)
    assert handler is not None
    assert handler.__func__ is Upper.on_text  # type: ignore[attr-defined]
    printer = Printer()
    assert printer.handler_for(printer.text) is not None
    assert printer.handler_for(printer.extra) is None  # on_extra exists but is not callable


# ---------------------------------------------------------------------------- not running


def test_emit_before_running_explains() -> None:
    up = Upper()
    with pytest.raises(RuntimeError, match=r"is not running.*run the graph.*'emit'"):
        anyio.run(up.on_text, TextFrame("hi"))


def test_runtime_properties_before_running_name_the_node() -> None:
    g = Graph()
    node = g.add(Ticker(), name="tick")
    with pytest.raises(RuntimeError, match="'tick' is not running"):
        _ = node.clock
    with pytest.raises(RuntimeError, match="not running"):
        _ = node.epoch
    with pytest.raises(RuntimeError, match="not running"):
        node.interrupt("barge-in")


def test_unresolvable_port_annotation_is_graph_error() -> None:
    with pytest.raises(GraphError, match="cannot resolve a port annotation"):
        Broken()


class Broken(Node):
    out: Out[DoesNotExist]  # type: ignore[name-defined]  # noqa: F821


def test_repr_and_path() -> None:
    node = Upper()
    assert repr(node) == "<Upper (unnamed)>"
    outer, inner = Graph(), Graph()
    inner.add(node, name="up")
    outer.add(inner, name="asr")
    assert node.path == "asr/up"
    assert repr(node) == "<Upper asr/up>"


# ---------------------------------------------------------------------------- connected(port)


class Probe(Node):
    """Records which of its ports the runner reports as connected."""

    main: In[TextFrame] = In(required=False)
    side: In[TextFrame] = In(required=False)
    out: Out[TextFrame]
    spare: Out[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, bool] = {}

    async def run(self) -> None:
        for name in ("main", "side", "out", "spare"):
            self.seen[name] = self.connected(getattr(self, name))
        async for _port, frame in self.frames():
            await self.emit(self.out, frame)


class Sink(Node):
    text: In[TextFrame]

    async def on_text(self, frame: TextFrame) -> None:
        """Drop it."""


def test_connected_answers_for_the_whole_running_graph_across_subgraphs() -> None:
    inner = Graph("inner")
    probe = inner.add(Probe(), name="probe")
    inner.expose("side", probe.side)
    inner.expose("out", probe.out)
    outer = Graph()
    ticker = outer.add(Ticker(), name="ticker")
    outer.add(inner, name="inner")
    sink = outer.add(Sink(), name="sink")
    outer.connect(ticker.out, inner.side)  # the edge lives in the parent graph
    outer.connect(inner.out, sink.text)
    anyio.run(Runner(outer, clock=VirtualClock()).run)
    assert probe.seen == {"main": False, "side": True, "out": True, "spare": False}


def test_connected_before_running_and_for_a_foreign_port_is_a_usage_error() -> None:
    probe, other = Probe(), Probe()
    with pytest.raises(UsageError, match="not running.*'connected'"):
        probe.connected(probe.main)

    class Asker(Probe):
        async def run(self) -> None:
            self.connected(other.main)

    g = Graph()
    g.add(Asker(), name="asker")
    with pytest.raises(NodeError, match="not one of its ports") as info:
        anyio.run(Runner(g, clock=VirtualClock()).run)
    assert isinstance(info.value.error, UsageError)


def test_a_fallback_node_sees_the_primarys_edges() -> None:
    class Failing(Probe):
        async def run(self) -> None:
            raise ValueError("primary down")

    alternate = Probe()
    g = Graph()
    ticker = g.add(Ticker(), name="ticker")
    primary = g.add(
        Failing(), name="probe", on_error=Supervision(policy="fallback", fallback=alternate)
    )
    sink = g.add(Sink(), name="sink")
    g.connect(ticker.out, primary.main)
    g.connect(primary.out, sink.text)
    anyio.run(Runner(g, clock=VirtualClock()).run)
    assert alternate.seen == {"main": True, "side": False, "out": True, "spare": False}


def test_runtime_of_follows_the_run() -> None:
    seen: list[object] = []

    class Look(Ticker):
        async def run(self) -> None:
            seen.append(runtime_of(self))
            await super().run()

    g = Graph()
    node = g.add(Look(), name="look")
    sink = g.add(Sink(), name="sink")
    g.connect(node.out, sink.text)
    assert runtime_of(node) is None
    anyio.run(Runner(g, clock=VirtualClock()).run)
    assert seen and seen[0] is not None
    assert runtime_of(node) is None  # detached when the run ended
    with pytest.raises(UsageError, match="not running"):
        _ = node.clock

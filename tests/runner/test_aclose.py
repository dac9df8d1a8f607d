"""The node lifecycle hook is ``aclose()``; a node still defining the old ``close()`` is closed
through it, with a DeprecationWarning naming its class."""

from __future__ import annotations

import warnings

import pytest

from voicegraph.graph import Graph, In, Node, Out, TextFrame
from voicegraph.runner import Runner, VirtualClock


class Words(Node):
    out: Out[TextFrame]

    async def run(self) -> None:
        await self.emit(self.out, TextFrame("hi"))


class Sink(Node):
    """Records its lifecycle calls in ``log``."""

    inp: In[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    async def on_inp(self, frame: TextFrame) -> None:
        self.log.append(frame.text)


class Closing(Sink):
    async def aclose(self) -> None:
        self.log.append("aclose")
        await super().aclose()


async def run_with(sink: Sink) -> None:
    g = Graph()
    words = g.add(Words())
    g.add(sink, name="sink")
    g.connect(words.out, sink.inp)
    await Runner(g, clock=VirtualClock()).run()


def define_legacy(base: type[Sink]) -> type[Sink]:
    class Legacy(base):  # type: ignore[valid-type,misc]
        async def close(self) -> None:
            self.log.append("close")
            await super().close()

    return Legacy


async def test_the_runner_calls_aclose_once_after_the_run() -> None:
    sink = Closing()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation on the new name
        await run_with(sink)
    assert sink.log == ["hi", "aclose"]


async def test_a_node_defining_close_warns_at_class_creation_and_is_still_closed() -> None:
    with pytest.warns(DeprecationWarning, match=r"Legacy defines close\(\).*rename it to aclose"):
        legacy = define_legacy(Sink)
    sink = legacy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # closing it (and its super().close()) warns no more
        await run_with(sink)
    assert sink.log == ["hi", "close"]


async def test_a_legacy_close_below_an_aclose_runs_once_beside_it() -> None:
    with pytest.warns(DeprecationWarning, match="Legacy defines close"):
        legacy = define_legacy(Closing)
    sink = legacy()
    await run_with(sink)
    assert sink.log == ["hi", "aclose", "close"]  # the base's aclose, then the old hook


async def test_a_sync_legacy_close_is_called_too() -> None:
    with pytest.warns(DeprecationWarning, match="SyncLegacy defines close"):

        class SyncLegacy(Sink):
            def close(self) -> None:  # type: ignore[override]
                self.log.append("sync close")

    sink = SyncLegacy()
    await run_with(sink)
    assert sink.log == ["hi", "sync close"]


async def test_a_subclass_of_a_legacy_node_warns_only_if_it_defines_close_itself() -> None:
    with pytest.warns(DeprecationWarning):
        legacy = define_legacy(Sink)
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Child(legacy):  # type: ignore[valid-type,misc]
            pass

    sink = Child()
    await run_with(sink)
    assert sink.log == ["hi", "close"]


async def test_a_node_defining_both_is_closed_by_aclose_only() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Both(Sink):
            async def aclose(self) -> None:
                self.log.append("aclose")
                await super().aclose()

            def close(self) -> None:  # type: ignore[override]  # something else, sync
                self.log.append("close")

    sink = Both()
    await run_with(sink)
    assert sink.log == ["hi", "aclose"]


async def test_calling_close_on_a_node_warns_and_runs_aclose() -> None:
    node = Closing()
    with pytest.warns(DeprecationWarning, match=r"Closing.close\(\) is deprecated: call aclose"):
        await node.close()
    assert node.log == ["aclose"]


async def test_a_node_without_a_close_hook_closes_as_a_no_op() -> None:
    node = Sink()
    await node.aclose()
    with pytest.warns(DeprecationWarning):
        await node.close()
    assert node.log == []

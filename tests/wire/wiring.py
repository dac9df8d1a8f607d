"""Small graph parts for wire tests: scripted feeds and collecting sinks (real clock)."""

from __future__ import annotations

import itertools
from typing import Any

import anyio

from voicegraph.graph import (
    AudioFrame,
    Control,
    Event,
    Frame,
    Graph,
    In,
    LLMText,
    Node,
    Out,
    Sentence,
    SpeechAudio,
    SpeechSegment,
    ToolCall,
    Transcript,
    UserTurn,
)
from voicegraph.runner import Runner

Step = tuple[float, Any]  # (seconds to wait first, a frame, an Event, or "interrupt")


class _Feed(Node):
    """Emits a script: after each delay, a frame, an event, or an interrupt downstream."""

    def __init__(self, script: list[Step], *, linger: float = 0.0) -> None:
        super().__init__()
        self.script = list(script)
        self.linger = linger

    async def run(self) -> None:
        port = next(iter(self.outputs.values()))
        while self.script:
            delay, item = self.script.pop(0)
            await self.clock.sleep(delay)
            if item == "interrupt":
                self.interrupt("barge-in")
            elif isinstance(item, Event):
                await self.send_event(item, port)
            else:
                await self.emit(port, item)
        await self.clock.sleep(self.linger)


class SentenceFeed(_Feed):
    out: Out[Sentence]


class TurnFeed(_Feed):
    out: Out[UserTurn]


class SegmentFeed(_Feed):
    out: Out[SpeechSegment]


class AudioFeed(_Feed):
    out: Out[AudioFrame]


class _Sink(Node):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[Any] = []
        self.events: list[Event] = []
        self.changed = anyio.Event()

    async def on_inp(self, frame: Frame) -> None:
        self.got.append(frame)
        self.changed.set()
        self.changed = anyio.Event()

    async def on_event(self, event: Event) -> None:
        self.events.append(event)
        self.changed.set()
        self.changed = anyio.Event()

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        with anyio.fail_after(timeout):
            while not predicate(self):
                await self.changed.wait()


class AudioSink(_Sink):
    inp: In[SpeechAudio]

    def text(self) -> str:
        words: list[str] = []
        for frame in self.got:
            if frame.text and frame.offset == 0.0:
                words.append(frame.text)
        return " ".join(words)

    def finals(self) -> int:
        return sum(1 for f in self.got if f.final)


class TextSink(_Sink):
    inp: In[LLMText]

    def text(self) -> str:
        return "".join(f.text for f in self.got)

    def finals(self) -> int:
        return sum(1 for f in self.got if f.final)


class CallSink(_Sink):
    inp: In[ToolCall]


class TranscriptSink(_Sink):
    inp: In[Transcript]


class MarkSink(_Sink):
    inp: In[Control]


def chain(*nodes: Node) -> Graph:
    """Connect each node's first output to the next node's first input."""
    g = Graph()
    for node in nodes:
        g.add(node)
    for a, b in itertools.pairwise(nodes):
        g.connect(next(iter(a.outputs.values())), next(iter(b.inputs.values())))
    return g


async def run(graph: Graph, timeout: float = 10.0) -> Runner:
    """Run on the real clock (cloud nodes wait on real sockets), with a safety timeout."""
    runner = Runner(graph)
    with anyio.fail_after(timeout):
        await runner.run()
    return runner

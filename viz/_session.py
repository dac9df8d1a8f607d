"""What happened in a voice session, on the run's clock: the rows a timeline draws.

A :class:`Timeline` is built from a recorded trace (:meth:`Timeline.from_trace`), from the
typed timeline events the stages publish on the run's bus (:meth:`Timeline.from_events`; after
a run, :meth:`Timeline.from_pipeline` reads the ones its graph's stages kept), or from a trace
and a pipeline (:meth:`Timeline.collect`). :class:`SessionTrace` records a run in memory with
everything a timeline needs (the text of transcripts, turns and playout marks) but no audio
samples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voicegraph.graph import AudioFrame, BusEvent, ConfigError, Event, Frame, Interrupt
from voicegraph.runner import Subscription, Trace

if TYPE_CHECKING:
    from voicegraph.runner._edge import EdgeQueue

__all__ = ["Mark", "SessionTrace", "Span", "Timeline", "TraceSource", "TurnLatency"]

TraceSource = Trace | str | Path | Iterable[dict[str, Any]]
"""A :class:`~voicegraph.runner.Trace`, a JSONL trace file, or its records."""


@dataclass(frozen=True, slots=True)
class Span:
    """Something that lasted from ``start`` to ``end`` (clock seconds).

    Attributes:
        start: when it began.
        end: when it ended.
        label: text to show (a transcript, the words played...).
        kind: a qualifier the plot styles by: ``"interrupted"``, ``"cancelled"``, ``"error"``.
    """

    start: float
    end: float
    label: str = ""
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Mark:
    """Something that happened at time ``t`` (clock seconds); ``kind`` e.g. ``"interim"``."""

    t: float
    label: str = ""
    kind: str = ""


@dataclass(frozen=True, slots=True)
class TurnLatency:
    """Where the time went between the end of the user's speech and the reply being heard.

    Attributes:
        text: what the user said.
        stages: ``(stage, seconds)`` in order, end to end from the end of the user's speech.
        total: voice-to-voice seconds (to the first reply audio played), if a reply played.
    """

    text: str
    stages: tuple[tuple[str, float], ...]
    total: float | None


@dataclass
class Timeline:
    """The rows of a session timeline, on the run's clock (seconds).

    Attributes:
        speech: user speech as the VAD saw it.
        transcripts: transcripts (``kind`` ``"final"`` or ``"interim"``).
        turns: end-of-turn decisions (label: the user's turn).
        endpointing: from the end of the user's speech to each end-of-turn decision.
        llm: LLM generations (``kind`` ``"cancelled"`` when an interrupt cut one off).
        tokens: times the LLM emitted text.
        tools: tool calls, from the call to its result (label: the tool's name).
        tts: stretches of synthesized audio leaving the TTS.
        playout: replies played to the user (``kind`` ``"interrupted"``; label: what was
            heard).
        interruptions: interrupts (label: the reason, e.g. ``"barge-in"``).
        latencies: per user turn, where the voice-to-voice time went.
    """

    speech: list[Span] = field(default_factory=list)
    transcripts: list[Mark] = field(default_factory=list)
    turns: list[Mark] = field(default_factory=list)
    endpointing: list[Span] = field(default_factory=list)
    llm: list[Span] = field(default_factory=list)
    tokens: list[float] = field(default_factory=list)
    tools: list[Span] = field(default_factory=list)
    tts: list[Span] = field(default_factory=list)
    playout: list[Span] = field(default_factory=list)
    interruptions: list[Mark] = field(default_factory=list)
    latencies: list[TurnLatency] = field(default_factory=list)

    @property
    def end(self) -> float:
        """The latest time on the timeline (0 when empty)."""
        times = [0.0, *self.tokens]
        for spans in (self.speech, self.endpointing, self.llm, self.tools, self.tts, self.playout):
            times.extend(s.end for s in spans)
        for marks in (self.transcripts, self.turns, self.interruptions):
            times.extend(m.t for m in marks)
        return max(times)

    def merged(self, other: Timeline) -> Timeline:
        """This timeline with its empty rows filled from ``other``."""
        filled = {}
        for f in dataclasses.fields(self):
            mine = getattr(self, f.name)
            filled[f.name] = list(mine) if mine else list(getattr(other, f.name))
        return Timeline(**filled)

    @classmethod
    def from_trace(cls, trace: TraceSource) -> Timeline:
        """Build the timeline from a recorded trace.

        Every row comes from the trace's frames and events, identified by type (so any graph
        with the voice frame types works). With frame content (a :class:`SessionTrace`, or
        ``Trace(frames=True)``) the rows carry text and speech is placed at its media time;
        without it, rows show when things were reported, without labels.
        """
        from voicegraph.runner import load_trace

        from ._collect import timeline_from_records

        return timeline_from_records(load_trace(trace))

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> Timeline:
        """Build the timeline from the timeline events a voice pipeline's stages published
        (``voice_pipeline(...)``, an ``AgentSession`` with audio: its ``pipeline``, or a
        :class:`~voicegraph.graph.Graph`), after or during a run.

        Every node of its graph that is a :class:`~voicegraph.graph.timeline.TimelineSource`
        keeps the events it published on the run's bus (turn decisions, barge-ins, LLM
        generations, TTS first audio, replies played, the audio source's start); see
        :meth:`from_events`. No stage publishes speech or TTS timing; record a
        :class:`SessionTrace` for those rows.
        """
        from ._collect import timeline_from_pipeline

        return timeline_from_pipeline(pipeline)

    @classmethod
    def from_events(cls, events: Iterable[BusEvent] | Subscription[Any]) -> Timeline:
        """Build the timeline from bus events (:mod:`voicegraph.graph.timeline` types).

        ``events`` is any iterable of bus events (others are ignored), or a subscription made
        before the run (``runner.subscribe(TimelineEvent, capacity=...)``): its buffered
        events are taken. Rows: end-of-turn decisions with their endpointing wait, final
        transcripts, barge-ins, LLM generations and tool rounds, replies played, and the
        per-turn latency waterfall.

        >>> from voicegraph.graph.timeline import ReplyPlayed
        >>> Timeline.from_events([ReplyPlayed(start=1.0, seconds=2.0, text="hi")]).playout
        [Span(start=1.0, end=3.0, label='hi', kind='')]
        """
        from ._collect import timeline_from_events

        return timeline_from_events(events)

    @classmethod
    def collect(cls, trace: TraceSource | None = None, pipeline: Any = None) -> Timeline:
        """A timeline from a trace, a pipeline, or both (the trace's rows win where both have one).

        Raises:
            ConfigError: neither was given (a ValueError).
        """
        if trace is None and pipeline is None:
            raise ConfigError(
                "give a trace, a pipeline, or both to build a timeline from: "
                "collect(trace=..., pipeline=...)"
            )
        if trace is None:
            return cls.from_pipeline(pipeline)
        timeline = cls.from_trace(trace)
        return timeline if pipeline is None else timeline.merged(cls.from_pipeline(pipeline))


class SessionTrace(Trace):
    """A trace kept in memory with what a timeline needs, for ``Runner(graph, trace=...)``.

    Like ``Trace(None)``, plus each record's content (``item``: the frame's or event's fields,
    e.g. a transcript's text, a playout mark's ``interrupted`` flag) without audio samples
    (audio frames keep their ``pts`` and sample count). Records accumulate for the whole run;
    use it for sessions you want to look at, not for hours-long services.

    >>> trace = SessionTrace()
    >>> # await Runner(pipeline.graph, trace=trace).run(); plot_timeline(trace, pipeline)
    """

    def __init__(self) -> None:
        super().__init__(None, frames=False)

    def record_frame(self, edge: EdgeQueue, frame: Frame) -> None:
        """A frame entered ``edge``."""
        super().record_frame(edge, frame)
        self.records[-1]["item"] = light_item(frame)

    def record_drop(self, edge: EdgeQueue, frame: Frame, why: str) -> None:
        """A frame was dropped on ``edge``."""
        super().record_drop(edge, frame, why)
        self.records[-1]["item"] = light_item(frame)

    def record_event(self, edge: EdgeQueue, event: Event) -> None:
        """A control event was sent on ``edge``."""
        super().record_event(edge, event)
        self.records[-1]["item"] = light_item(event)

    def record_interrupt(self, event: Interrupt, edges: Iterable[EdgeQueue]) -> None:
        """An interrupt crossed ``edges``."""
        edges = list(edges)
        super().record_interrupt(event, edges)
        item = light_item(event)
        for record in self.records[len(self.records) - len(edges) :]:
            record["item"] = item


def light_item(item: Frame | Event) -> dict[str, Any]:
    """A frame's or event's fields as a record ``item``, without audio samples."""
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(item):
        value = getattr(item, f.name)
        if isinstance(value, np.ndarray):
            continue
        fields[f.name] = value
    if isinstance(item, AudioFrame):
        fields["samples"] = int(item.pcm.shape[0])
    cls = type(item)
    return {"type": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}

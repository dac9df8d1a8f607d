"""Build a :class:`Timeline` from trace records or from the timeline events on the run's bus."""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

import anyio

from voicegraph.graph import BusEvent, Graph
from voicegraph.graph.timeline import (
    LLMGenerated,
    MediaStarted,
    ReplyPlayed,
    ReplyStarted,
    TimelineEvent,
    TimelineSource,
    TTSFirstAudio,
    TurnDecided,
    UserInterrupted,
)
from voicegraph.runner import Subscription

from ._session import Mark, Span, Timeline, TurnLatency

__all__ = [
    "timeline_from_events",
    "timeline_from_pipeline",
    "timeline_from_records",
    "unwrap_session",
]

TTS_GAP = 0.3
"""Seconds between TTS frames that start a new stretch of audio on the timeline."""
_FRAME = 0.02  # assumed length of an audio frame whose length the trace does not hold


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    item = record.get("item")
    return item.get("fields", {}) if isinstance(item, dict) else {}


def _duration(record: dict[str, Any]) -> float:
    f = _fields(record)
    rate = f.get("sample_rate")
    samples = f.get("samples")
    pcm = f.get("pcm")
    if samples is None and isinstance(pcm, dict) and pcm.get("shape"):
        samples = pcm["shape"][0]
    if rate and samples is not None:
        return float(samples) / float(rate)
    return _FRAME


class _Records:
    """Trace records sorted, with fan-out and forwarded copies removed."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        ordered = sorted(records, key=lambda r: (float(r.get("t", 0.0)), r.get("seq", 0)))
        first_edge: dict[str, str] = {}
        origin: dict[str, str] = {}
        seen: set[tuple[str, str]] = set()
        self.frames: dict[str, list[dict[str, Any]]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.interrupts: list[dict[str, Any]] = []
        interrupted_epochs: set[Any] = set()
        self.offset: float | None = None
        for r in ordered:
            kind = r.get("kind")
            if kind == "interrupt":
                if r.get("epoch") not in interrupted_epochs:
                    interrupted_epochs.add(r.get("epoch"))
                    self.interrupts.append(r)
            elif kind == "frame":
                # fan-out records a frame once per edge: keep the first edge of each port;
                # a node relaying a type (an agent controller passing LLM text on) is not its
                # origin: keep the port that produced the type first
                src = str(r.get("src"))
                if first_edge.setdefault(src, str(r.get("edge"))) != r.get("edge"):
                    continue
                if origin.setdefault(str(r.get("type")), src) != src:
                    continue
                self.frames.setdefault(str(r.get("type")), []).append(r)
                if self.offset is None and r.get("type") == "AudioFrame":
                    pts = _fields(r).get("pts")
                    if pts is not None:  # the first audio frame: media time -> clock time
                        self.offset = float(r["t"]) - float(pts)
            elif kind == "event":
                # events go to every edge and nodes forward them: keep one of each
                f = _fields(r)
                content = json.dumps(f, sort_keys=True, default=str) if f else f"{r['t']:.6f}"
                key = (str(r.get("type")), content)
                if key not in seen:
                    seen.add(key)
                    self.events.setdefault(str(r.get("type")), []).append(r)

    def times(self, type_: str) -> list[float]:
        return [float(r["t"]) for r in self.frames.get(type_, [])]

    def media(self, record: dict[str, Any], name: str) -> float:
        """Field ``name`` (media time) on the clock, or the record's time without content."""
        value = _fields(record).get(name)
        if value is None or self.offset is None:
            return float(record["t"])
        return float(value) + self.offset


def timeline_from_records(records: list[dict[str, Any]]) -> Timeline:
    """See :meth:`Timeline.from_trace`."""
    rec = _Records(records)
    tl = Timeline()
    tl.speech = _speech(rec)
    for r in rec.frames.get("Transcript", []):
        f = _fields(r)
        tl.transcripts.append(
            Mark(
                float(r["t"]),
                str(f.get("text", "")),
                "final" if f.get("final", True) else "interim",
            )
        )
    turn_records = rec.frames.get("UserTurn", [])
    for r in turn_records:
        t = float(r["t"])
        tl.turns.append(Mark(t, str(_fields(r).get("text", ""))))
        if "end" in _fields(r) and rec.offset is not None:
            tl.endpointing.append(Span(rec.media(r, "end"), t))
    tl.tokens = [
        float(r["t"]) for r in rec.frames.get("LLMText", []) if _fields(r).get("text", "x") != ""
    ]
    turn_times = [m.t for m in tl.turns]
    ends = [float(r["t"]) for r in rec.frames.get("LLMText", []) if _fields(r).get("final")]
    known = any(_fields(r) for r in rec.frames.get("LLMText", []))
    cuts = [float(r["t"]) for r in rec.interrupts] if known else []
    tl.llm = _generations(turn_times, tl.tokens, ends, cuts)
    tl.tools = _tools(rec)
    tl.tts = _bursts(rec.frames.get("SpeechAudio", []))
    tl.playout = _playout(rec.events.get("PlayoutMark", []))
    tl.interruptions = [
        Mark(float(r["t"]), str(_fields(r).get("reason", "interrupt"))) for r in rec.interrupts
    ]
    tl.latencies = _latencies(rec, tl, turn_records)
    return tl


def _speech(rec: _Records) -> list[Span]:
    changes = [*rec.events.get("SpeechStarted", []), *rec.events.get("SpeechStopped", [])]
    changes.sort(key=lambda r: (float(r["t"]), r.get("seq", 0)))
    spans: list[Span] = []
    start: float | None = None
    last = 0.0
    for r in changes:
        at = rec.media(r, "pts")
        last = max(last, float(r["t"]))
        if r["type"] == "SpeechStarted":
            start = at if start is None else start
        elif start is not None:
            spans.append(Span(start, max(at, start)))
            start = None
    if start is not None:
        spans.append(Span(start, max(start, last)))
    return spans


def _generations(
    turns: list[float], tokens: list[float], ends: list[float], cuts: list[float]
) -> list[Span]:
    """One span per user turn, to its last token; ``cancelled`` if an interrupt came before
    the reply's final (empty) text frame. ``cuts`` is empty when the trace has no content."""
    spans = []
    for i, start in enumerate(turns):
        stop = turns[i + 1] if i + 1 < len(turns) else float("inf")
        mine = [t for t in tokens if start <= t < stop]
        end = mine[-1] if mine else start
        finished = [t for t in ends if start <= t < stop]
        cut = bool(mine) and not finished and any(start <= c < stop for c in cuts)
        spans.append(Span(start, end, kind="cancelled" if cut else ""))
    return spans


def _tools(rec: _Records) -> list[Span]:
    results = {
        str(_fields(r).get("call_id", i)): r for i, r in enumerate(rec.frames.get("ToolResult", []))
    }
    spans = []
    for i, call in enumerate(rec.frames.get("ToolCall", [])):
        f = _fields(call)
        result = results.get(str(f.get("call_id", i)))
        end = float(result["t"]) if result is not None else float(call["t"])
        error = result is not None and bool(_fields(result).get("is_error"))
        spans.append(
            Span(float(call["t"]), end, str(f.get("name", "tool")), "error" if error else "")
        )
    return spans


def _bursts(frames: list[dict[str, Any]]) -> list[Span]:
    spans: list[Span] = []
    start = end = None
    for r in frames:
        t = float(r["t"])
        if start is None or end is None or t - end > TTS_GAP:
            if start is not None and end is not None:
                spans.append(Span(start, end))
            start = t
        end = t + _duration(r)
    if start is not None and end is not None:
        spans.append(Span(start, end))
    return spans


def _playout(marks: list[dict[str, Any]]) -> list[Span]:
    spans = []
    start: dict[str, Any] | None = None
    for i, r in enumerate(marks):
        f = _fields(r)
        if start is None:
            start = r
        if not f:  # no content: a reply is the run of marks of one epoch
            nxt = marks[i + 1] if i + 1 < len(marks) else None
            if nxt is None or nxt.get("epoch") != r.get("epoch"):
                spans.append(Span(float(start["t"]), float(r["t"])))
                start = None
        elif f.get("final") or f.get("interrupted"):
            kind = "interrupted" if f.get("interrupted") else ""
            spans.append(Span(float(start["t"]), float(r["t"]), str(f.get("text", "")), kind))
            start = None
    return spans


def _first(times: list[float], after: float, before: float) -> float | None:
    i = bisect_left(times, after)
    return times[i] if i < len(times) and times[i] < before else None


def _latencies(
    rec: _Records, tl: Timeline, turn_records: list[dict[str, Any]]
) -> list[TurnLatency]:
    sentences = rec.times("Sentence")
    audio = rec.times("SpeechAudio")
    plays = sorted(s.start for s in tl.playout)
    stops = sorted(s.end for s in tl.speech)
    out = []
    for i, r in enumerate(turn_records):
        decided = float(r["t"])
        stop = float(turn_records[i + 1]["t"]) if i + 1 < len(turn_records) else float("inf")
        if "end" in _fields(r) and rec.offset is not None:
            speech_end = rec.media(r, "end")
        else:
            before = [s for s in stops if s <= decided]
            speech_end = before[-1] if before else decided
        steps: list[tuple[str, float | None]] = [("end of turn", decided)]
        token = _first(tl.tokens, decided, stop)
        steps.append(("LLM first token", token))
        sentence = _first(sentences, token, stop) if token is not None and sentences else None
        if sentence is not None:
            steps.append(("first sentence", sentence))
        first_audio = _first(audio, token, stop) if token is not None else None
        steps.append(("TTS first audio", first_audio))
        play = _first(plays, first_audio, stop) if first_audio is not None else None
        steps.append(("to playout", play))
        out.append(_waterfall(str(_fields(r).get("text", "")), speech_end, steps, play))
    return out


def _waterfall(
    text: str, origin: float, steps: list[tuple[str, float | None]], heard: float | None
) -> TurnLatency:
    stages = []
    previous = origin
    for name, at in steps:
        if at is None:
            break
        stages.append((name, max(0.0, at - previous)))
        previous = max(previous, at)
    return TurnLatency(text, tuple(stages), None if heard is None else heard - origin)


# ---------------------------------------------------------------------- from bus events


def timeline_from_pipeline(p: Any) -> Timeline:
    """See :meth:`Timeline.from_pipeline`: the timeline events its graph's nodes published."""
    p = unwrap_session(p)
    graph = getattr(p, "graph", p)
    if not isinstance(graph, Graph):
        return Timeline()
    events: list[TimelineEvent] = []
    for node in graph.iter_nodes():
        if isinstance(node, TimelineSource):
            events.extend(node.timeline_events)
    return timeline_from_events(events)


def timeline_from_events(events: Iterable[BusEvent] | Subscription[Any]) -> Timeline:
    """See :meth:`Timeline.from_events`."""
    if isinstance(events, Subscription):
        events = _drain(events)
    mine = sorted((e for e in events if isinstance(e, TimelineEvent)), key=lambda e: e.seq)
    to_clock = _media_to_clock(mine)
    tl = Timeline()
    decisions = [e for e in mine if isinstance(e, TurnDecided)]
    for d in decisions:
        tl.turns.append(Mark(d.time, d.text))
        end = to_clock(d.speech_end)
        if end is not None:
            tl.endpointing.append(Span(end, d.time))
        heard = to_clock(d.transcript_at) if d.transcript_at is not None else None
        if heard is not None:
            tl.transcripts.append(Mark(heard, d.text, "final"))
    for e in mine:
        if isinstance(e, UserInterrupted) and (t := to_clock(e.pts)) is not None:
            tl.interruptions.append(Mark(t, e.reason))
        elif isinstance(e, LLMGenerated):
            end = e.started + e.duration
            tl.llm.append(Span(e.started, end, kind="cancelled" if e.cancelled else ""))
            if e.tool_calls:
                tl.tools.append(Span(end, end, f"{e.tool_calls} tool call(s)"))
        elif isinstance(e, ReplyPlayed):
            kind = "interrupted" if e.interrupted else ""
            tl.playout.append(Span(e.start, e.start + e.seconds, e.text, kind))
    tl.latencies = _event_latencies(mine, decisions, to_clock)
    return tl


def _drain(subscription: Subscription[Any]) -> list[Any]:
    """The events buffered in ``subscription`` (what a subscriber made before the run holds)."""
    out = []
    while True:
        try:
            out.append(subscription.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
            return out


def unwrap_session(p: Any) -> Any:
    """The voice pipeline of an agent session (``session.pipeline``), else ``p`` itself."""
    inner = getattr(p, "pipeline", None)
    if inner is not None and not hasattr(p, "turn") and hasattr(inner, "graph"):
        return inner
    return p


def _media_to_clock(events: list[TimelineEvent]) -> Callable[[float], float | None]:
    """Media time -> clock time, from the last :class:`MediaStarted` (else unknown)."""
    started = [e for e in events if isinstance(e, MediaStarted)]
    if not started:
        return lambda pts: None
    anchor = started[-1]
    return lambda pts: anchor.time + pts - anchor.pts


def _event_latencies(
    events: list[TimelineEvent],
    decisions: list[TurnDecided],
    to_clock: Callable[[float], float | None],
) -> list[TurnLatency]:
    """Per user turn: the generation, first TTS audio and playout that answered it.

    Generations are matched to turns by the clock time they started; TTS first-audio times
    and playout starts are matched to replies in order.
    """
    generations = [e for e in events if isinstance(e, LLMGenerated)]
    step0 = [g for g in generations if g.step == 0]
    replies = [e.start for e in events if isinstance(e, ReplyStarted)]
    ttfbs = [e.ttfb for e in events if isinstance(e, TTSFirstAudio)]
    out = []
    for d in decisions:
        decided = d.time
        speech_end = to_clock(d.speech_end)
        gen = next((g for g in step0 if g.started >= decided - 1e-6), None)
        ttft = None
        if gen is not None:
            step0.remove(gen)
            later = [g for g in generations if g.started >= gen.started and g.ttft is not None]
            if later and later[0].ttft is not None:
                ttft = later[0].started + later[0].ttft - gen.started
        tts = v2v = None
        if speech_end is not None and replies:
            start = next((r for r in replies if r >= decided - 1e-6), None)
            if start is not None:
                index = replies.index(start)
                replies = replies[index + 1 :]
                tts = ttfbs[index] if index < len(ttfbs) else None
                ttfbs = ttfbs[index + 1 :]
                v2v = start - speech_end
        stages: list[tuple[str, float]] = [("end of turn", d.end_of_utterance_delay)]
        for name, value in (("LLM first token", ttft), ("TTS first audio", tts)):
            if value is None:
                break
            stages.append((name, value))
        if v2v is not None and len(stages) == 3:
            stages.append(("to playout", max(0.0, v2v - sum(s for _, s in stages))))
        out.append(TurnLatency(d.text, tuple(stages), v2v))
    return out

"""Timelines: the rows a session produces (from a trace, a pipeline, or both) and the figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from voicegraph.graph.timeline import (
    LLMGenerated,
    MediaStarted,
    ReplyPlayed,
    ReplyStarted,
    TimelineEvent,
    TurnDecided,
)
from voicegraph.runner import Runner, Trace, VirtualClock
from voicegraph.viz import ROWS, Mark, SessionTrace, Span, Timeline, plot_timeline

USER = ["Tell me a long story about a dragon.", "Wait, stop.", "What's the weather in Paris?"]


def by_gid(ax: Any, gid: str) -> list[Any]:
    return [a for a in [*ax.collections, *ax.lines, *ax.patches] if a.get_gid() == gid]


def bar_count(ax: Any, gid: str) -> int:
    return sum(len(c.get_paths()) for c in by_gid(ax, gid))


def test_a_session_trace_gives_every_row(session: Any) -> None:
    assert session.user == USER
    tl = Timeline.from_trace(session.trace)
    # the VAD's segments of the clip, at media time placed on the clock
    spans = [(round(s.start, 2), round(s.end, 2)) for s in tl.speech]
    assert spans == [(0.51, 3.36), (6.34, 7.17), (7.84, 9.38)]
    assert [m.label for m in tl.transcripts] == USER
    assert [m.label for m in tl.turns] == [USER[0], f"{USER[1]} {USER[2]}"]
    assert all(s.start < s.end for s in tl.endpointing) and len(tl.endpointing) == 2
    assert len(tl.llm) == 2 and tl.tokens and all(t >= tl.turns[0].t for t in tl.tokens)
    (tool,) = tl.tools
    assert tool.label == "get_weather" and tl.turns[1].t <= tool.start <= tool.end
    assert len(tl.tts) == 2
    first, second = tl.playout
    assert first.kind == "interrupted" and first.label.startswith("Once upon a time")
    assert second.kind == "" and second.label == "It is sunny in Paris."
    (cut,) = tl.interruptions
    assert cut.label == "barge-in" and first.end == pytest.approx(cut.t)
    assert [t.text for t in tl.latencies] == [m.label for m in tl.turns]
    stages = [name for name, _ in tl.latencies[0].stages]
    assert stages == [
        "end of turn",
        "LLM first token",
        "first sentence",
        "TTS first audio",
        "to playout",
    ]
    for turn in tl.latencies:
        assert turn.total == pytest.approx(sum(s for _, s in turn.stages))
        assert dict(turn.stages)["TTS first audio"] == pytest.approx(0.15)  # ScriptedTTS latency


def test_the_figure_has_the_rows_and_artists(session: Any) -> None:
    fig = plot_timeline(session.trace, session.pipeline, title="barge-in")
    top, bottom = fig.axes
    assert [t.get_text() for t in top.get_yticklabels()] == list(ROWS)
    assert bar_count(top, "row:speech") == 3
    assert bar_count(top, "row:playout") == 1 and bar_count(top, "row:playout:cut") == 1
    assert bar_count(top, "row:tools") == 1 and bar_count(top, "row:tts") == 2
    assert len(by_gid(top, "row:tokens")) == 1 and len(by_gid(top, "interruption")) == 1
    assert len(by_gid(top, "row:turns")) == 1 and len(by_gid(top, "row:transcripts")) == 1
    labels = [t.get_text() for t in bottom.get_yticklabels()]
    assert labels[0].startswith("turn 1: Tell me") and labels[1].startswith("turn 2: Wait")
    assert len(by_gid(bottom, "stage:end of turn")) == 2
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG")


def test_a_jsonl_trace_with_frames_and_one_without(tmp_path: Path, make_pipeline: Any) -> None:
    full, bare = tmp_path / "full.jsonl", tmp_path / "bare.jsonl"
    for path, frames in ((full, True), (bare, False)):
        p = make_pipeline("question", tmp_path / "reply.wav")
        anyio.run(Runner(p.graph, clock=VirtualClock(), trace=Trace(path, frames=frames)).run)
    rich, plain = Timeline.from_trace(full), Timeline.from_trace(bare)
    assert [m.label for m in rich.turns] == [USER[0]]
    assert len(rich.speech) == len(plain.speech) == 1
    assert plain.turns[0].label == "" and plain.turns[0].t == pytest.approx(rich.turns[0].t)
    assert len(plain.playout) == len(rich.playout) == 1
    assert plain.latencies[0].total is not None
    fig = plot_timeline(bare)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == list(ROWS)


def test_from_a_pipeline_alone(session: Any) -> None:
    tl = Timeline.from_pipeline(session.pipeline)
    assert [m.label for m in tl.turns] == [USER[0], f"{USER[1]} {USER[2]}"]
    assert [s.kind for s in tl.playout] == ["interrupted", ""]
    assert len(tl.interruptions) == 1 and len(tl.llm) >= 2 and tl.tools
    assert tl.speech == [] and tl.tts == []  # the stages keep no record of these
    names = [name for name, _ in tl.latencies[0].stages]
    assert names == ["end of turn", "LLM first token", "TTS first audio", "to playout"]
    fig = plot_timeline(pipeline=session.pipeline)
    top = fig.axes[0]
    assert bar_count(top, "row:speech") == 0 and bar_count(top, "row:playout:cut") == 1


def test_collect_prefers_the_trace_and_fills_in_from_the_pipeline(session: Any) -> None:
    empty = SessionTrace()
    tl = Timeline.collect(empty, session.pipeline)
    assert tl.turns and tl.speech == []
    both = Timeline.collect(session.trace, session.pipeline)
    assert both.speech == Timeline.from_trace(session.trace).speech
    with pytest.raises(ValueError, match="give a trace, a pipeline, or both"):
        Timeline.collect()


def test_an_empty_session_still_draws() -> None:
    fig = plot_timeline(timeline=Timeline())
    top, bottom = fig.axes
    assert [t.get_text() for t in top.get_yticklabels()] == list(ROWS)
    assert any("no completed user turn" in t.get_text() for t in bottom.texts)
    assert Timeline().end == 0.0


def record(t: float, type_: str, src: str, dst: str, **fields: Any) -> dict[str, Any]:
    item = {"type": f"x:{type_}", "fields": fields} if fields else None
    edge = f"{src} -> {dst}"
    r = {"t": t, "kind": "frame", "edge": edge, "src": src, "dst": dst, "type": type_, "epoch": 0}
    if item:
        r["item"] = item
    return r


def test_fan_out_and_relayed_frames_count_once() -> None:
    records = [
        record(1.0, "UserTurn", "turn.turns", "agent.turns", text="hi", end=0.5),
        record(1.0, "UserTurn", "turn.turns", "log.user", text="hi", end=0.5),
        record(1.0, "UserTurn", "agent.user_turns", "llm.turn", text="hi", end=0.5),
        *[record(1.1 + i / 10, "LLMText", "llm.text", "agent.text", text="w") for i in range(3)],
        *[record(1.1 + i / 10, "LLMText", "agent.text", "split.text", text="w") for i in range(3)],
    ]
    tl = Timeline.from_trace(records)
    assert [m.label for m in tl.turns] == ["hi"]
    assert tl.tokens == pytest.approx([1.1, 1.2, 1.3])
    assert tl.llm[0].start == 1.0 and tl.llm[0].end == pytest.approx(1.3)


def test_the_stages_publish_the_timeline_on_the_bus(tmp_path: Path, make_pipeline: Any) -> None:
    p = make_pipeline("barge_in", tmp_path / "reply.wav")
    runner = Runner(p.graph, clock=VirtualClock())
    events = runner.subscribe(TimelineEvent, capacity=4096)
    anyio.run(runner.run)
    tl = Timeline.from_events(events)
    assert tl == Timeline.from_pipeline(p)  # what the stages kept is what they published
    assert events.dropped == 0 and Timeline.from_events(events) == Timeline()  # taken
    assert [m.label for m in tl.turns] == [USER[0], f"{USER[1]} {USER[2]}"]
    assert [s.kind for s in tl.playout] == ["interrupted", ""]
    assert [m.label for m in tl.interruptions] == ["barge-in"]
    published = [e for node in p.graph.iter_nodes() for e in getattr(node, "timeline_events", [])]
    kinds = {type(e).__name__: e.origin for e in published}
    assert kinds == {
        "MediaStarted": p.source.path,
        "TurnDecided": p.turn.path,
        "UserInterrupted": p.turn.path,
        "STTDone": p.stt.path,
        "LLMGenerated": p.llm.path,
        "TTSFirstAudio": p.tts.path,
        "ReplyStarted": p.output.path,
        "ReplyPlayed": p.output.path,
    }
    assert all(isinstance(e, TimelineEvent) and e.seq > 0 for e in published)


def test_events_build_rows_on_the_clock() -> None:
    start = MediaStarted(pts=0.0)
    decided = TurnDecided("hi", speech_end=1.0, decided_at=1.6, transcript_at=1.4)
    generated = LLMGenerated(step=0, started=2.0, ttft=0.25, duration=1.0)
    reply = ReplyStarted(start=2.5)
    played = ReplyPlayed(start=2.5, seconds=1.0, text="hello", interrupted=True)
    stamps = [(start, 0.5), (decided, 2.0), (generated, 3.0), (reply, 2.5), (played, 3.5)]
    for seq, (event, t) in enumerate(stamps, 1):  # as the runner stamps them
        object.__setattr__(event, "seq", seq)
        object.__setattr__(event, "time", t)
    tl = Timeline.from_events([e for e, _ in reversed(stamps)])  # put back in publish order
    assert tl.turns == [Mark(2.0, "hi")] and tl.endpointing == [Span(1.5, 2.0)]
    assert tl.transcripts == [Mark(1.9, "hi", "final")]
    assert tl.llm == [Span(2.0, 3.0)] and tl.tools == []
    assert tl.playout == [Span(2.5, 3.5, "hello", "interrupted")]
    (latency,) = tl.latencies
    assert latency.total == pytest.approx(1.0)  # media 1.0 is clock 1.5; heard at 2.5
    names = [name for name, _ in latency.stages]
    assert names == ["end of turn", "LLM first token"]  # no TTS event: the waterfall stops
    assert dict(latency.stages)["LLM first token"] == pytest.approx(0.25)

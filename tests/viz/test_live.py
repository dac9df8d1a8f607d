"""LiveView: its widgets' values follow the session (the model, not pixels)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from voicegraph.graph import MissingDependencyError
from voicegraph.nodes.samples import sample_path
from voicegraph.runner import Runner, VirtualClock
from voicegraph.viz import LiveView
from voicegraph.viz import _render as render_module


async def test_the_view_follows_a_session(tmp_path: Path, make_pipeline: Any) -> None:
    p = make_pipeline("barge_in", tmp_path / "reply.wav")
    view = LiveView(p, interval=0.01)
    # before the run: the structure, the input loaded, nothing said yet
    assert view.updates == 1 and view.state == "ready"
    assert "<svg" in view.diagram.value and "fr/s" not in view.diagram.value
    assert view.input_audio.value == sample_path("barge_in").read_bytes()
    assert view.reply_audio.value == b"" and view.timeline_image.value == b""
    assert "no conversation yet" in view.transcript.value

    metrics = await view.run(clock=VirtualClock())

    assert view.state == "finished" and view.updates >= 3 and view.metrics is metrics
    assert "fr/s" in view.diagram.value and "bottleneck" in view.diagram.value
    transcript = view.transcript.value
    assert "Tell me a long story about a dragon." in transcript
    assert "Once upon a time" in transcript and "[interrupted]" in transcript
    assert "It is sunny in Paris." in transcript
    assert view.status.value.startswith("<b>finished</b> · t = ")
    assert "bottleneck:" in view.status.value
    assert view.reply_audio.value == (tmp_path / "reply.wav").read_bytes()
    assert bytes(view.timeline_image.value).startswith(b"\x89PNG")
    assert view.trace.records  # run() recorded the session


async def test_watch_updates_while_the_runner_runs(tmp_path: Path, make_pipeline: Any) -> None:
    p = make_pipeline("question", tmp_path / "reply.wav")
    view = LiveView(p.graph, interval=0.01, reply_audio=tmp_path / "reply.wav", timeline=False)
    seen: list[str] = []
    original = view.update

    def update(metrics: Any = None) -> None:
        original(metrics)
        seen.append(view.status.value)

    view.update = update
    runner = Runner(p.graph, clock=VirtualClock(), trace=view.trace)
    await view.run(runner)
    assert len(seen) >= 2 and all("frames" in s for s in seen)
    assert view.reply_audio.value and view.timeline_image.value == b""  # timeline off
    assert "no conversation yet" in view.transcript.value  # a bare graph has no log


def test_update_with_metrics_and_audio_setters(session: Any, tmp_path: Path) -> None:
    view = LiveView(session.pipeline, timeline=True)
    view.update(session.metrics)
    assert "bottleneck" in view.diagram.value and "drops" in view.status.value
    assert "It is sunny in Paris." in view.transcript.value
    view.set_reply(b"RIFF....")
    assert view.reply_audio.value == b"RIFF...."
    view.finish(trace=session.trace)
    assert bytes(view.timeline_image.value).startswith(b"\x89PNG")
    assert view.reply_audio.value == session.reply.read_bytes()
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_without_a_renderer_the_view_shows_dot_text(
    session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_module, "_find_renderers", lambda fmt: [])
    with pytest.warns(UserWarning, match="no Graphviz renderer"):
        view = LiveView(session.pipeline.graph)
    assert view.diagram.value.startswith("<p>cannot render")
    assert "<pre>digraph" in view.diagram.value
    view.update(session.metrics)  # warned once, not at every update
    assert "fr/s" in view.diagram.value


def test_bad_sessions_and_a_missing_ipywidgets(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TypeError, match="needs a Graph or a pipeline"):
        LiveView(object())
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(MissingDependencyError, match=r"voicegraph\[jupyter\]"):
        LiveView(object())

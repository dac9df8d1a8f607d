"""Regenerate the README's images from the real code: ``python scripts/make_readme_images.py``.

* ``docs/images/voice_graph.svg``: the standard voice graph (``voice_pipeline``) as the
  diagram ``voicegraph.viz.render`` draws it.
* ``docs/images/architecture.svg``: the graph an ``AgentSession`` runs (the standard voice
  graph with the agent controller, the session's command node and the tool executor), each
  host node naming its engine: the diagram of ``docs/architecture.md``.
* ``docs/images/timeline.png``: the session timeline of a real run of the embedded models
  (Silero VAD, Whisper tiny.en, SmolLM2, hibari TTS) on the bundled barge-in recording,
  under the virtual clock (deterministic; model compute takes no virtual time).

Runs offline in about 15 seconds (``--real-clock``: about 30 s, and the waterfall then shows
the models' own latencies; the committed image uses the deterministic virtual clock).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def voice_graph_svg(target: Path) -> None:
    """The standard voice graph, drawn top to bottom."""
    from voicegraph.nodes.agent import voice_pipeline
    from voicegraph.nodes.audio import WavSource
    from voicegraph.nodes.samples import sample_path
    from voicegraph.viz import render

    pipeline = voice_pipeline(WavSource(path=sample_path("question")))
    diagram = render(pipeline.graph, "svg", rankdir="TB", title="the standard voice graph")
    if not diagram.rendered:
        raise SystemExit(f"cannot render the diagram: {diagram.message}")
    target.write_text(diagram.text, encoding="utf-8")


def session_graph() -> Any:
    """The graph an AgentSession runs on audio (what ``session.graph`` holds once started)."""
    from voicegraph.nodes.agent import AgentController, AgentToolExecutor, voice_pipeline
    from voicegraph.nodes.audio import WavSource
    from voicegraph.nodes.samples import sample_path

    return voice_pipeline(
        WavSource(path=sample_path("question")),
        controller=AgentController(),
        tools=AgentToolExecutor(),
    ).graph


def architecture_svg(target: Path) -> None:
    """The session graph: host nodes and their engines, the controller and the command node."""
    from voicegraph.viz import render

    title = "an AgentSession's graph: host nodes and their engines"
    diagram = render(session_graph(), "svg", rankdir="TB", title=title)
    if not diagram.rendered:
        raise SystemExit(f"cannot render the diagram: {diagram.message}")
    target.write_text(diagram.text, encoding="utf-8")


def timeline_png(target: Path, *, real_clock: bool = False) -> None:
    """A barge-in session with the embedded models, recorded and drawn."""
    import anyio

    from voicegraph.nodes.agent import voice_pipeline
    from voicegraph.nodes.audio import WavSource
    from voicegraph.nodes.output import AudioOutput
    from voicegraph.nodes.samples import sample_path
    from voicegraph.runner import Runner, VirtualClock
    from voicegraph.viz import SessionTrace, plot_timeline

    with tempfile.TemporaryDirectory() as tmp:
        pipeline = voice_pipeline(
            WavSource(path=sample_path("barge_in")),
            output=AudioOutput(path=str(Path(tmp) / "reply.wav")),
        )
        trace = SessionTrace()
        clock = None if real_clock else VirtualClock()
        anyio.run(Runner(pipeline.graph, clock=clock, trace=trace).run)
    title = "the barge-in sample with the embedded models, " + (
        "real clock" if real_clock else "virtual clock (model compute takes no virtual time)"
    )
    fig = plot_timeline(trace, pipeline, title=title)
    fig.savefig(target, dpi=100, metadata={"Software": None})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument(
        "--real-clock",
        action="store_true",
        help="run the session in real time (~30 s) so model latencies show in the waterfall",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.out.mkdir(parents=True, exist_ok=True)
    voice_graph_svg(args.out / "voice_graph.svg")
    print(f"wrote {args.out / 'voice_graph.svg'}")
    architecture_svg(args.out / "architecture.svg")
    print(f"wrote {args.out / 'architecture.svg'}")
    timeline_png(args.out / "timeline.png", real_clock=args.real_clock)
    print(f"wrote {args.out / 'timeline.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

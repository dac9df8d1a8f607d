"""The embedded models over a few of the real recordings (benchmarks/speech/eval.jsonl)."""

from __future__ import annotations

from pathlib import Path

from voicegraph.evals import evaluate, load_corpus, render_markdown

CORPUS = Path(__file__).parents[2] / "benchmarks" / "speech" / "eval.jsonl"
PICKED = ("61-70968-0002", "LJ001-0002", "audiomnist-5_02_10", "voicegraph-silence")


def test_the_manifest_covers_the_20_recordings_and_the_noise_clips() -> None:
    specs = load_corpus(CORPUS)
    assert len(specs) == 22 and all(Path(s.audio).is_file() for s in specs)
    assert sum(1 for s in specs if s.transcript) == 20
    assert [s.id for s in specs if s.transcript == ""] == ["voicegraph-noise", "voicegraph-silence"]


def test_the_embedded_agent_on_real_speech() -> None:
    specs = [s for s in load_corpus(CORPUS) if s.id in PICKED]
    report = evaluate(specs)  # the standard agent, the embedded models, the virtual clock
    assert [f.id for f in report.files] == [s.id for s in specs]
    assert all(f.error is None for f in report.files), [f.error for f in report.files]
    summary = report.summary()
    assert summary["wer_percent"] is not None and summary["wer_percent"] <= 15.0, report.files
    assert summary["noise_replies"] == 0 and summary["missed_turns"] == 0
    speech = [f for f in report.files if f.reference]
    assert all(f.replies for f in speech)  # the agent answered every utterance
    md = render_markdown(report)
    assert all(f"| {s.id} |" in md for s in specs)

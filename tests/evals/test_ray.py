"""voicegraph.evals on a local Ray instance (``ray.init(num_cpus=2)``): the same report as in
this process, workers that die mid-run, and the real corpus on the embedded models."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from voicegraph.evals import MAX_ATTEMPTS, EvalSettings, Report, evaluate, load_corpus
from voicegraph.graph import Clock, ConfigError
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.samples import sample_path
from voicegraph.testing import ScriptedLLM, ScriptedSTT, ScriptedTTS

ray = pytest.importorskip("ray")

CORPUS = Path(__file__).parents[2] / "benchmarks" / "speech" / "eval.jsonl"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    import ray.cloudpickle

    # The workers do not import the test modules: ship their functions by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def same(report: Report) -> list[dict[str, Any]]:
    """Everything a file's result says, but how long it took."""
    return [f.outcome() for f in report.files]


def scripted(clock: Clock) -> AgentSession[Any]:
    return AgentSession(
        stt=ScriptedSTT(texts=["what is the capital of france"]),
        llm=ScriptedLLM(replies=["Paris."]), tts=ScriptedTTS(), clock=clock,
    )  # fmt: skip


SETTINGS = EvalSettings(session=scripted)


def plain_agent() -> Agent:
    return Agent(instructions="Help.")


def corpus(folder: Path, count: int) -> Path:
    """``count`` copies of the sample question, each after a different lead-in silence."""
    question, rate = sf.read(sample_path("question"), dtype="int16")
    for i in range(count):
        lead = np.zeros(int(0.1 * i * rate), np.int16)
        sf.write(folder / f"f{i:02d}.wav", np.concatenate([lead, question]), rate)
    return folder


def dies_once(marker: str) -> Agent:
    """Kills its worker process the second time it is called there, once in the whole run
    (``marker`` records that it happened)."""
    calls = getattr(dies_once, "calls", 0) + 1
    dies_once.calls = calls  # type: ignore[attr-defined]
    if calls == 2 and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(3)
    return plain_agent()


def always_dies() -> Agent:
    os._exit(4)


def test_ray_gives_the_in_process_report(local_ray: None, tmp_path: Path) -> None:
    folder = corpus(tmp_path, 6)
    here = evaluate(folder, plain_agent, SETTINGS)
    seen: list[tuple[int, int]] = []
    there = evaluate(
        folder, plain_agent, SETTINGS, ray=True, progress=lambda i, n, r: seen.append((i, n))
    )
    assert same(there) == same(here) and all(f.error is None for f in there.files)
    assert seen == [(i, 6) for i in range(1, 7)]  # streamed back, one call per file
    assert len(there.workers) == 2 and sum(w.files for w in there.workers) == 6
    assert all(w.peak_rss_mb and w.peak_rss_mb > 50 for w in there.workers)
    assert not here.workers


def test_the_file_of_a_worker_that_died_is_retried_and_counted_once(
    local_ray: None, tmp_path: Path
) -> None:
    folder = corpus(tmp_path, 6)
    marker = tmp_path / "died"
    factory = functools.partial(dies_once, str(marker))
    seen: list[str] = []
    there = evaluate(
        folder, factory, SETTINGS, ray=True, progress=lambda i, n, r: seen.append(r.id)
    )
    assert marker.exists()  # a worker did die
    assert sorted(seen) == [f"f{i:02d}.wav" for i in range(6)]  # each file reported once
    assert same(there) == same(evaluate(folder, plain_agent, SETTINGS))
    died = [w for w in there.workers if w.died]
    assert len(died) == 1 and len(there.workers) == 3  # two alive at the end
    assert sum(w.files for w in there.workers) == 6


def test_a_file_that_kills_every_worker_is_an_error_after_the_last_attempt(
    local_ray: None, tmp_path: Path
) -> None:
    folder = corpus(tmp_path, 1)
    report = evaluate(folder, always_dies, SETTINGS, ray=True, workers=1)
    (result,) = report.files
    assert result.error is not None and f"died {MAX_ATTEMPTS} times" in result.error
    assert sum(w.died for w in report.workers) == MAX_ATTEMPTS


def test_without_ray_installed_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match=r"pip install 'voicegraph\[ray\]'"):
        evaluate(corpus(tmp_path, 1), plain_agent, SETTINGS, ray=True)


def test_the_real_corpus_on_ray_matches_the_in_process_run(local_ray: None) -> None:
    """The acceptance run: 20 real-speech recordings and 2 no-speech clips on the embedded
    models, in this process and on two Ray workers, with the same results."""
    specs = load_corpus(CORPUS)
    here = evaluate(specs)
    there = evaluate(specs, ray=True)
    assert all(f.error is None for f in here.files), [f.error for f in here.files]
    assert same(there) == same(here)
    summary = here.summary()
    assert summary["files"] == 22 and summary["wer_percent"] is not None
    noise = [(f.id, f.replies, f.decisions) for f in here.files if f.noise_replies]
    assert summary["wer_percent"] <= 12.0 and not noise, (summary, noise)
    assert summary["missed_turns"] == 0  # "six", spoken from its file's first sample, too
    assert all(f.replies for f in here.files if f.reference)  # it answered every utterance


def test_the_cli_runs_on_ray_and_says_what_the_workers_used(
    local_ray: None, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from voicegraph.cli import app

    (tmp_path / "corpus").mkdir()
    folder = corpus(tmp_path / "corpus", 1)
    out = CliRunner().invoke(app, ["eval", str(folder), "--ray", "--workers", "1",
                                   "--json", str(tmp_path / "r.json")])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "ran on 1 Ray worker(s), peak memory" in out.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert [f["id"] for f in data["files"]] == ["f00.wav"] and data["files"][0]["replies"]
    assert len(data["workers"]) == 1 and data["workers"][0]["files"] == 1

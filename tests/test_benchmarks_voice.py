"""``python -m benchmarks voice``: turns timed from synthetic audio, the statistics and tables,
the inputs' padding, and one quick real-time run on the embedded models (~15 s).

No wall-clock thresholds: the timings depend on the machine.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

from voicegraph.graph.timeline import TTSFirstAudio
from voicegraph.nodes.audio import read_mono_wav, write_wav
from voicegraph.nodes.llm import LLMMetrics
from voicegraph.nodes.turn import TurnDecision

ROOT = Path(__file__).resolve().parents[1]
RATE = 16_000


@pytest.fixture
def voice(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT))  # benchmarks/ is not part of the installed package
    from benchmarks import voice

    return voice


def tone(seconds: float, amplitude: int = 3000) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), np.int16)


def finished_run() -> tuple[SimpleNamespace, tuple[np.ndarray, int], tuple[np.ndarray, int]]:
    """What a run leaves behind, made up: the input started at clock 10.0; the user spoke
    0.5-1.5 s; the VAD ended speech at 1.6 s; the turn was decided at media 2.1 s (clock
    12.13); the LLM started at 12.131 and wrote at +0.1; the TTS took the first sentence at
    12.431 and had audio at 12.471; the reply started playing at 12.473 and is audible from
    media 2.58 s."""
    user = np.concatenate([silence(0.5), tone(1.0), silence(3.5)])
    agent = np.concatenate([silence(2.58), tone(1.0), silence(1.42)])
    first = TTSFirstAudio(0.04)
    object.__setattr__(first, "time", 12.471)  # the runner's stamp: clock time of publishing
    pipeline = SimpleNamespace(
        source=SimpleNamespace(media_to_clock=lambda pts: 10.0 + pts, config=SimpleNamespace(
            frame_ms=20.0)),
        turn=SimpleNamespace(decisions=[TurnDecision("hi", 1.6, 2.1, 0.5, 1.0, 1.6, 1.9, 12.13)]),
        llm=SimpleNamespace(metrics=deque([LLMMetrics(1, 0, 12.131, 0.1, 0.5, 10, 8, 0, False)])),
        tts=SimpleNamespace(ttfb=deque([0.04]), timeline_events=[first]),
        output=SimpleNamespace(reply_started_at=deque([12.473])),
    )  # fmt: skip
    return pipeline, (user, RATE), (agent, RATE)


def test_a_turn_is_timed_from_the_audio_and_its_parts_add_up(voice: ModuleType) -> None:
    (turn,) = voice.voice_turns(*finished_run(), input_id="q", repeat=2)
    expected = {
        "voice_to_voice": 1.08,  # speech truly ended at 1.5 s, the reply audible from 2.58 s
        "vad_lag": 0.1,
        "eou_delay": 0.5,
        "stt": 0.3,
        "llm_ttft": 0.1,
        "tts_ttfb": 0.04,
        "lead_silence": 0.107,
        "path_lag": 0.05,  # the deciding frame left the source at 12.08 (its end is 2.1 s)
        "to_llm": 0.001,
        "first_clause": 0.2,
        "to_output": 0.002,
        "source_lead": 0.02,
    }
    for name, value in expected.items():
        assert getattr(turn, name) == pytest.approx(value, abs=1e-6), name
    assert turn.framework == pytest.approx(0.053)
    assert (turn.input_id, turn.repeat, turn.turn, turn.user_text) == ("q", 2, 1, "hi")
    parts = (
        turn.vad_lag + turn.eou_delay - turn.source_lead + turn.path_lag + turn.to_llm
        + turn.llm_ttft + turn.first_clause + turn.tts_ttfb + turn.to_output + turn.lead_silence
    )  # fmt: skip
    assert parts == pytest.approx(turn.voice_to_voice)


def test_a_turn_without_a_reply_has_no_voice_to_voice(voice: ModuleType) -> None:
    pipeline, user, _ = finished_run()
    pipeline.output.reply_started_at.clear()
    pipeline.tts.timeline_events.clear()
    (turn,) = voice.voice_turns(pipeline, user, (silence(5.0), RATE))
    assert turn.voice_to_voice is None and turn.to_output is None and turn.first_clause is None
    assert turn.framework is None
    assert turn.to_llm == pytest.approx(0.001)


def test_the_summary_gives_median_p90_min_and_max_of_the_turns_that_have_each_column(
    voice: ModuleType,
) -> None:
    turns = [
        voice.VoiceTurn("q", 1, i, "", 0.1, 0.5, None, 0.1, 0.04, 0.0, i / 10, 0.001, 0.0,
                        0.2, 0.0)
        for i in range(1, 11)
    ]  # fmt: skip
    turns.append(voice.VoiceTurn("q", 1, 11, "", None, 0.5, None, None, None, None, None))
    stats = voice.summarize(turns)
    v2v = stats["voice-to-voice"]
    assert (v2v.n, v2v.median, v2v.p90, v2v.min, v2v.max) == (10, 0.5, 0.9, 0.1, 1.0)
    assert stats["EOU delay"].n == 11
    assert stats["STT"] is None
    assert stats["framework"].median == pytest.approx(0.001)

    summary = voice.render_summary(stats).splitlines()
    assert summary[2 + [n for n, _ in voice.COLUMNS].index("voice-to-voice")].split() == [
        "voice-to-voice", "10", "500", "900", "100", "1000"
    ]  # fmt: skip
    assert any(line.split()[:2] == ["STT", "0"] for line in summary)
    assert any(line.split()[:3] == ["framework", "10", "1.0"] for line in summary)
    table = voice.render_turns(turns).splitlines()
    assert len(table) == 2 + len(turns)
    assert table[0].split()[:3] == ["input", "VAD", "lag"]
    assert table[2].split()[0] == "q/1.1" and table[2].split()[-1] == "100"
    assert table[-1].split()[-1] == "-"


def test_inputs_are_padded_to_a_lead_in_and_a_tail_of_silence(voice: ModuleType) -> None:
    speech = np.concatenate([silence(0.1), tone(1.0), silence(1.0)])
    padded = voice.pad(speech, RATE, lead=0.3, tail=2.5)
    start, end = voice.audible_span(padded, RATE)
    assert start == pytest.approx(0.3) and end == pytest.approx(1.3)
    assert len(padded) / RATE == pytest.approx(3.8)
    roomy = np.concatenate([silence(0.5), tone(1.0), silence(3.0)])
    assert len(voice.pad(roomy, RATE, lead=0.3, tail=2.5)) == len(roomy)  # nothing to add
    assert voice.audible_span(silence(1.0), RATE) is None


def test_inputs_come_from_files_or_folders(voice: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    write_wav(folder / "b.wav", tone(0.5), RATE)
    write_wav(folder / "a.wav", tone(0.5), RATE)
    (folder / "notes.txt").write_text("not audio")
    work = tmp_path / "work"
    work.mkdir()
    inputs = voice.prepare_inputs([str(folder), str(folder / "a.wav")], work, tail=2.5)
    assert [i.id for i in inputs] == ["a", "b", "a#2"]
    samples, rate = read_mono_wav(inputs[0].path)
    assert rate == RATE
    start, end = voice.audible_span(samples, rate)
    assert start >= 0.3 - 1e-9 and len(samples) / rate - end >= 2.5 - 1e-9
    with pytest.raises(SystemExit, match="no such file"):
        voice.prepare_inputs([str(tmp_path / "missing.wav")], work)


def test_the_voice_mode_is_separate_and_checks_its_options(
    voice: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import main

    assert main(["voice", "--repeats", "0"]) == 2
    assert "--repeats must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--only", "hop", "--repeats", "1"])  # the suite's own options are unchanged
    assert "voice" not in main.__globals__["BENCHMARKS"]


def test_a_quick_run_on_the_embedded_models_prints_the_turn_and_the_summary(
    voice: ModuleType, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import json

    out_json = tmp_path / "voice.json"
    assert voice.main(["--quick", "--inputs", str(ROOT / "nodes/samples/question.wav"),
                       "--json", str(out_json)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "voicegraph voice-to-voice benchmark (quick run" in out
    assert "model loading and warm-up (first run's setup):" in out
    assert "capital of France" in out
    payload = json.loads(out_json.read_text())
    (run,) = payload["runs"]
    (turn,) = run["turns"]
    assert turn["voice_to_voice"] is not None and turn["voice_to_voice"] > 0
    assert not math.isnan(run["setup_seconds"])
    assert set(run["stage_setup"]) == {"vad", "stt", "turn", "llm", "tts"}
    assert "setup by stage, s: vad" in out
    assert payload["summary"]["voice-to-voice"]["n"] == 1
    assert sys.modules["benchmarks.voice"] is voice


def test_the_speech_inputs_are_the_speech_sets_utterances(
    voice: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    items = [
        SimpleNamespace(id="read-1", audio=tone(0.8), sample_rate=RATE),
        SimpleNamespace(id="read/2", audio=tone(0.6), sample_rate=RATE),
    ]
    fake = ModuleType("benchmarks.speech_set")
    fake.utterances = lambda: items  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "benchmarks.speech_set", fake)
    monkeypatch.setattr(sys.modules["benchmarks"], "speech_set", fake, raising=False)
    inputs = voice.prepare_inputs([], tmp_path, tail=2.5, which="speech")
    assert [i.id for i in inputs] == ["read-1", "read/2"]
    samples, rate = read_mono_wav(inputs[1].path)
    start, end = voice.audible_span(samples, rate)
    assert end - start == pytest.approx(0.6, abs=0.02)
    assert len(samples) / rate - end >= 2.5 - 1e-9


def test_model_loading_is_reported_apart_per_stage(voice: ModuleType) -> None:
    first = voice.RunResult("q", 1, 9.5, 15.0, [], {"stt": 5.0, "llm": 9.0, "tts": 5.5})
    later = [
        voice.RunResult("q", r, s, 6.0, [], {"stt": 0.1, "llm": s, "tts": 0.2})
        for r, s in ((2, 1.5), (3, 0.5), (4, 1.0))
    ]
    lines = voice.render_setup([first, *later]).splitlines()
    assert lines[0] == (
        "model loading and warm-up (first run's setup): 9.50 s; later runs' setup (models "
        "cached): median 1.00 s, max 1.50 s (3 runs)"
    )
    assert lines[1] == (
        "  setup by stage, s: stt 5.00 (later 0.10), llm 9.00 (later 1.00), tts 5.50 (later 0.20)"
    )
    assert "not counted in voice-to-voice" in lines[2]
    assert voice.render_setup([first]).splitlines()[0].endswith("9.50 s")


def test_the_default_inputs_are_the_questions_spoken_by_the_embedded_tts(
    voice: ModuleType, tmp_path: Path
) -> None:
    inputs = voice.prepare_inputs([], tmp_path, tail=2.5, which="questions")
    assert [i.id for i in inputs] == [f"q{n}" for n in range(1, len(voice.QUESTIONS) + 1)]
    for item in inputs:
        samples, rate = read_mono_wav(item.path)
        start, end = voice.audible_span(samples, rate)
        assert 0.8 < end - start < 4.0 and len(samples) / rate - end >= 2.5 - 1e-9

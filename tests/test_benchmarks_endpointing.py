"""``python -m benchmarks endpointing``: how decisions are judged and summed up (no models),
and one real item through VAD, Whisper and the turn detector on the virtual clock."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def ep(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT))  # benchmarks/ is not part of the installed package
    from benchmarks import endpointing

    return endpointing


def speech(*quiet: tuple[float, float]) -> np.ndarray:
    """6 s of loud noise (speech, as far as levels go), quiet in each ``(start, end)``."""
    audio = np.random.default_rng(0).integers(-3000, 3000, 16000 * 6).astype(np.int16)
    for a, b in quiet:
        audio[int(a * 16000) : int(b * 16000)] = 0
    return audio


def turn(ep: ModuleType, kind: str, **times: object) -> object:
    from benchmarks.speech_set import Turn

    defaults: dict[str, object] = {
        "id": "x", "kind": kind, "speakers": ("s",), "reference": "a b c d",
        "audio": speech((3.0, 6.0)), "sample_rate": 16000,
        "speech_start": 0.5, "speech_end": 3.0, "sentence_ends": (3.0,),
    }  # fmt: skip
    return Turn(**{**defaults, **times})  # type: ignore[arg-type]


def test_a_decision_inside_a_pause_is_a_cut_inside_a_sentence(ep: ModuleType) -> None:
    item = turn(ep, "paused", pauses=((1.5, 2.0),), audio=speech((1.5, 2.0), (3.0, 6.0)))
    out = ep._judge(item, [(1.9, "a b"), (3.6, "c d")])
    assert (out.cut_inside, out.cut_long_pause, out.cut_between, out.late) == (1, 0, 0, False)
    assert out.eou_delay == pytest.approx(0.6) and out.text == "a b c d" and out.wer == 0.0


def test_a_cut_at_a_pause_longer_than_the_spec_is_counted_apart(ep: ModuleType) -> None:
    # 0.5 s inserted next to 0.3 s of the speaker's own silence: 0.8 s heard
    item = turn(ep, "paused", pauses=((1.5, 2.0),), audio=speech((1.2, 2.0), (3.0, 6.0)))
    out = ep._judge(item, [(1.9, "a b"), (3.6, "c d")])
    assert (out.cut_inside, out.cut_long_pause) == (0, 1)
    assert ep.quiet_span(item, 1.9) == pytest.approx(0.8, abs=0.021)


def test_a_decision_between_sentences_is_counted_apart(ep: ModuleType) -> None:
    multi = turn(ep, "multi", gaps=((1.5, 2.0),), sentence_ends=(1.5, 3.0))
    assert ep._judge(multi, [(1.9, "a b"), (3.5, "c d")]).cut_between == 1
    # a sentence end inside one recording counts as "between" for 1.5 s
    two = turn(ep, "utterance", sentence_ends=(1.5, 3.0))
    out = ep._judge(two, [(2.5, "a b"), (3.5, "c d")])
    assert (out.cut_inside, out.cut_between) == (0, 1)


def test_no_decision_or_a_slow_one_is_late_and_noise_counts_replies(ep: ModuleType) -> None:
    item = turn(ep, "utterance")
    assert ep._judge(item, []).late
    assert ep._judge(item, [(5.5, "a b c d")]).late  # 2.5 s after the end of speech
    noise = turn(ep, "noise", reference="", speech_start=0.0, speech_end=0.0)
    outcomes = [ep._judge(noise, [(1.0, "you")]), ep._judge(item, [(3.4, "a b c x")])]
    s = ep.summary(outcomes)
    assert s["noise_replies"] == 1 and s["cut_inside"] == 0 and s["late"] == 0
    assert s["eou_median"] == pytest.approx(0.4) and s["wer"]["utterance"] == pytest.approx(0.25)
    table = ep.render({"after": (ep.AFTER, s)})
    assert "cut inside" in table and "25.0%" in table and "after: turn=default" in table


async def test_one_real_item_is_decided_once_after_the_speech(ep: ModuleType) -> None:
    from benchmarks import speech_set

    item = next(t for t in speech_set.utterances() if t.id == "61-70968-0002")
    (outcome,) = await ep.evaluate(ep.AFTER, [item])
    assert outcome.cut_inside == 0 and not outcome.late and outcome.eou_delay is not None
    assert outcome.wer < 0.3, outcome.text

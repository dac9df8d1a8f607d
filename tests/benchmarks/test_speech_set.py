"""The real-speech set of issue 13 (benchmarks/speech/) and the conditions built from it."""

from __future__ import annotations

import json
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "speech"
MANIFEST = json.loads((DATA / "manifest.json").read_text())


@pytest.fixture(scope="module")
def ss() -> Iterator[ModuleType]:
    sys.path.insert(0, str(ROOT))  # benchmarks/ is not part of the installed package
    try:
        from benchmarks import speech_set

        yield speech_set
    finally:
        sys.path.remove(str(ROOT))


def speech_entries() -> list[dict[str, Any]]:
    return [e for e in MANIFEST["files"] if e["kind"] == "speech"]


def test_manifest_and_files_agree() -> None:
    listed = {e["file"] for e in MANIFEST["files"]}
    stored = {p.name for p in DATA.glob("*.wav")}
    assert listed == stored
    for e in MANIFEST["files"]:
        with wave.open(str(DATA / e["file"])) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        assert e["licence"] and e["source"]["repo"] and e["source"]["path"]
    size = sum(p.stat().st_size for p in DATA.iterdir())
    assert size <= 8 * 1024 * 1024


def test_the_set_has_several_speakers_and_enough_utterances() -> None:
    entries = speech_entries()
    assert len(entries) >= 20
    assert len({e["speaker"] for e in entries}) >= 5
    assert all(e["reference"] for e in entries)


def test_stored_speech_bounds_match_the_audio(ss: ModuleType) -> None:
    for e in speech_entries():
        start, end = ss.speech_bounds(ss.read_wav(DATA / e["file"]))
        assert (start, end) == (e["speech_start"], e["speech_end"]), e["id"]
        for cut in e["word_cuts"] + e["sentence_ends"]:
            assert start < cut < end, e["id"]


def test_every_condition_loads_with_lead_in_and_tail(ss: ModuleType) -> None:
    groups = {
        "utterance": ss.utterances(),
        "paused": ss.paused_turns(),
        "multi": ss.multi_sentence_turns(),
    }
    assert len(groups["utterance"]) == len(speech_entries())
    assert len(groups["paused"]) >= 10 and len(groups["multi"]) >= 3
    for kind, turns in groups.items():
        for t in turns:
            assert t.kind == kind and t.sample_rate == 16000 and t.audio.dtype == np.int16
            assert t.reference
            assert (t.speech_start, t.speech_end) == ss.speech_bounds(t.audio)
            assert 0.4 <= t.speech_start <= 0.6, t.id
            assert t.duration - t.speech_end >= 2.9, t.id
            assert t.sentence_ends[-1] == t.speech_end
            assert list(t.sentence_ends) == sorted(t.sentence_ends)


def test_pauses_are_inside_a_sentence_quiet_and_of_the_asked_length(ss: ModuleType) -> None:
    for t in ss.paused_turns():
        assert 1 <= len(t.pauses) <= 2, t.id
        for a, b in t.pauses:
            assert 0.2 <= b - a <= 0.6
            assert t.speech_start < a < b < t.speech_end
            assert all(not a <= e <= b for e in t.sentence_ends)  # not at a sentence end
            quiet = ss.levels_db(t.audio[round(a * 16000) : round(b * 16000)])
            assert quiet.max() <= -40.0, t.id  # no 20 ms window is audible
        # the pauses hold all that was added: take them out and the utterance is back
        plain = {u.id: u for u in ss.utterances()}[t.id]
        cuts = [(round(a * 16000), round(b * 16000)) for a, b in t.pauses]
        kept = np.concatenate(
            [
                t.audio[p:q]
                for p, q in zip(
                    [0] + [b for _, b in cuts], [a for a, _ in cuts] + [None], strict=True
                )
            ]
        )
        assert len(kept) == len(plain.audio)
        assert np.array_equal(kept[: len(plain.audio) - 16000 * 3], plain.audio[: -16000 * 3])


def test_multi_sentence_turns_join_one_speaker_with_gaps(ss: ModuleType) -> None:
    for t in ss.multi_sentence_turns():
        assert len(t.speakers) == 1 and len(t.sentence_ends) >= 2
        assert len(t.gaps) == len(t.sentence_ends) - 1
        for (a, b), end in zip(t.gaps, t.sentence_ends, strict=False):
            assert a == end and b >= a
            if "+" in t.id:  # joined recordings: a gap of 0.3-0.6 s of room noise
                assert 0.25 <= b - a <= 0.65, t.id
        assert len(t.pieces()) == len(t.gaps) + 1


def test_noise_only_clips_have_no_reference(ss: ModuleType) -> None:
    clips = ss.noise_only()
    assert 3 <= len(clips) <= 6
    for c in clips:
        assert c.kind == "noise" and c.reference == "" and c.speakers == ()
        assert 2.0 <= c.duration - 0.5 - 3.0 <= 5.0


def test_conditions_are_deterministic(ss: ModuleType) -> None:
    for build in (ss.paused_turns, ss.multi_sentence_turns, ss.noise_only):
        first, second = build(), build()
        assert [t.id for t in first] == [t.id for t in second]
        assert all(np.array_equal(a.audio, b.audio) for a, b in zip(first, second, strict=True))
        assert [t.pauses for t in first] == [t.pauses for t in second]
    other = ss.paused_turns(seed=7)
    assert [t.pauses for t in other] != [t.pauses for t in ss.paused_turns()]

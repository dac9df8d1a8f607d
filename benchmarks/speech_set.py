"""The real-speech evaluation set of issue 13 (benchmarks/speech/), as test conditions.

Every condition is built deterministically from the stored 16 kHz mono WAVs and the cut
points in manifest.json (no model is needed):

* :func:`utterances`: each source utterance as recorded.
* :func:`paused_turns`: the same utterances with 1-2 silences of 0.2-0.6 s inserted at word
  boundaries inside a sentence.
* :func:`multi_sentence_turns`: 2-3 utterances of one speaker joined by 0.3-0.6 s gaps (and
  the utterances that hold two sentences already).
* :func:`noise_only`: clips with no speech.

Each speech item is padded with ``lead_in`` seconds of the recording's own room noise before
the speech and ``tail`` seconds after it, so it can be played as a conversation input and a
turn decided; all times in an item are seconds from the start of its ``audio``.
"""

from __future__ import annotations

import json
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DATA_DIR",
    "LEVEL_DB",
    "SAMPLE_RATE",
    "Turn",
    "multi_sentence_turns",
    "noise_only",
    "paused_turns",
    "levels_db",
    "read_wav",
    "room_noise",
    "speech_bounds",
    "utterances",
    "write_wav",
]

DATA_DIR = Path(__file__).resolve().with_name("speech")
SAMPLE_RATE = 16000
SEED = 13
LEVEL_DB = -40.0  # the audibility threshold: a 20 ms window above -40 dBFS
WINDOW = SAMPLE_RATE // 50  # 20 ms
MARGIN = 0.05  # s kept around the detected speech when an utterance is cut out
Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True)
class Turn:
    """One condition: what is played, and where its speech, pauses and sentence ends are.

    ``pauses`` are the inserted silences inside a sentence, ``gaps`` the silences between
    sentences of a multi-sentence turn, both as (start, end). ``sentence_ends`` lists where
    each sentence's speech ends; its last entry is ``speech_end``. A noise-only clip has no
    speech: ``reference`` is "" and speech_start == speech_end == 0.
    """

    id: str
    kind: str  # "utterance", "paused", "multi" or "noise"
    speakers: tuple[str, ...]
    reference: str
    audio: Pcm
    sample_rate: int
    speech_start: float
    speech_end: float
    pauses: tuple[tuple[float, float], ...] = ()
    gaps: tuple[tuple[float, float], ...] = ()
    sentence_ends: tuple[float, ...] = ()

    @property
    def duration(self) -> float:
        """Length of ``audio`` in seconds."""
        return len(self.audio) / self.sample_rate

    def float_audio(self) -> npt.NDArray[np.float32]:
        """``audio`` as float32 in [-1, 1) (what Whisper takes)."""
        return (self.audio / np.float32(32768)).astype(np.float32)

    def pieces(self) -> list[Pcm]:
        """The audio split in the middle of every pause and gap: what a VAD would segment."""
        cuts = sorted(round((a + b) / 2 * self.sample_rate) for a, b in self.pauses + self.gaps)
        return [p for p in np.split(self.audio, cuts) if len(p)]


def read_wav(path: Path) -> Pcm:
    """A 16 kHz mono 16-bit WAV as int16 samples."""
    with wave.open(str(path), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path}: not 16 kHz mono 16-bit")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


def write_wav(path: Path, pcm: Pcm) -> None:
    """Write int16 samples as a 16 kHz mono 16-bit WAV."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.astype("<i2").tobytes())


def levels_db(pcm: Pcm) -> npt.NDArray[np.float64]:
    """RMS level (dBFS) of each whole 20 ms window."""
    n = len(pcm) // WINDOW
    x = pcm[: n * WINDOW].astype(np.float64).reshape(n, WINDOW) / 32768
    level: npt.NDArray[np.float64] = 10 * np.log10((x**2).mean(axis=1) + 1e-12)
    return level


def speech_bounds(pcm: Pcm) -> tuple[float, float]:
    """(start, end) in s: the first window above -40 dBFS starts, the last one ends."""
    loud = np.flatnonzero(levels_db(pcm) > LEVEL_DB)
    if not len(loud):
        return 0.0, 0.0
    return float(loud[0] * WINDOW / SAMPLE_RATE), float((loud[-1] + 1) * WINDOW / SAMPLE_RATE)


@cache
def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA_DIR / "manifest.json").read_text())
    return data


def _entries(kind: str) -> list[dict[str, Any]]:
    return [e for e in _manifest()["files"] if e["kind"] == kind]


@dataclass(frozen=True)
class _Source:
    """One stored utterance, cut to its speech, with its room noise and boundaries."""

    id: str
    speaker: str
    reference: str
    speech: Pcm  # from MARGIN before the speech to MARGIN after it
    bed: Pcm  # the recording's own non-speech audio (room noise)
    cuts: tuple[float, ...]  # word boundaries, s from the start of ``speech``
    between: tuple[tuple[float, float], ...]  # the quiet spans between its own sentences

    @property
    def sentence_ends(self) -> tuple[float, ...]:
        """Where each sentence inside the utterance (not the last) ends."""
        return tuple(a for a, _ in self.between)


def _quiet_span(pcm: Pcm, t: float) -> tuple[float, float]:
    """The run of 20 ms windows at or below -40 dBFS around ``t`` s (empty if t is loud)."""
    quiet = levels_db(pcm) <= LEVEL_DB
    i = min(int(t * SAMPLE_RATE) // WINDOW, len(quiet) - 1)
    if not quiet[i]:
        return t, t
    a, b = i, i
    while a > 0 and quiet[a - 1]:
        a -= 1
    while b + 1 < len(quiet) and quiet[b + 1]:
        b += 1
    return a * WINDOW / SAMPLE_RATE, (b + 1) * WINDOW / SAMPLE_RATE


@cache
def _sources() -> tuple[_Source, ...]:
    out = []
    for e in _entries("speech"):
        pcm = read_wav(DATA_DIR / e["file"])
        start, end = speech_bounds(pcm)
        a = max(0, round((start - MARGIN) * SAMPLE_RATE))
        b = min(len(pcm), round((end + MARGIN) * SAMPLE_RATE))
        bed = np.concatenate([pcm[: max(0, a - WINDOW)], pcm[b + WINDOW :]])
        offset = a / SAMPLE_RATE
        speech = pcm[a:b]
        out.append(
            _Source(
                e["id"],
                e["speaker"],
                e["reference"],
                speech,
                bed,
                tuple(c - offset for c in e["word_cuts"]),
                tuple(_quiet_span(speech, t - offset) for t in e["sentence_ends"]),
            )
        )
    return tuple(out)


def room_noise(bed: Pcm, seconds: float) -> Pcm:
    """``seconds`` of room noise: the bed played forward and backward in turn (no clicks)."""
    n = round(seconds * SAMPLE_RATE)
    if n <= 0:
        return np.zeros(0, np.int16)
    if len(bed) < WINDOW:  # no usable noise in this recording: digital silence
        return np.zeros(n, np.int16)
    loop = np.concatenate([bed, bed[::-1]])
    return np.resize(loop, n).astype(np.int16)


class _Builder:
    """Appends speech and room noise, keeping the time of each mark."""

    def __init__(self, bed: Pcm, lead_in: float) -> None:
        self.bed = bed
        self.parts: list[Pcm] = [room_noise(bed, lead_in)]
        self.samples = len(self.parts[0])

    @property
    def now(self) -> float:
        return self.samples / SAMPLE_RATE

    def add(self, pcm: Pcm) -> float:
        """Append ``pcm``; return the time where it starts."""
        start = self.now
        self.parts.append(pcm)
        self.samples += len(pcm)
        return start

    def silence(self, seconds: float) -> tuple[float, float]:
        """Append room noise; return its (start, end)."""
        start = self.add(room_noise(self.bed, seconds))
        return start, self.now

    def audio(self) -> Pcm:
        return np.concatenate(self.parts).astype(np.int16)


def utterances(lead_in: float = 0.5, tail: float = 3.0) -> list[Turn]:
    """Each source utterance as recorded, padded with its own room noise."""
    turns = []
    for s in _sources():
        b = _Builder(s.bed, lead_in - MARGIN)
        at = b.add(s.speech)
        b.silence(tail - MARGIN)
        audio = b.audio()
        start, end = speech_bounds(audio)
        ends = (*(at + t for t in s.sentence_ends), end)
        turns.append(
            Turn(s.id, "utterance", (s.speaker,), s.reference, audio, SAMPLE_RATE, start, end,
                 sentence_ends=ends)
        )  # fmt: skip
    return turns


def _pick_cuts(s: _Source, rng: np.random.Generator) -> list[float]:
    """1-2 word boundaries inside a sentence, away from the sentence's first and last word."""
    start, end = speech_bounds(s.speech)
    edges = (start, *s.sentence_ends, end)
    usable = [
        c
        for c in s.cuts
        if all(abs(c - e) >= 0.25 for e in edges) and any(c < e for e in edges[1:])
    ]
    if not usable:
        return []
    count = 2 if len(usable) >= 4 else 1
    for _ in range(20):
        picked = sorted(rng.choice(usable, size=count, replace=False).tolist())
        if count == 1 or picked[1] - picked[0] >= 0.3:
            return [float(p) for p in picked]
    return [float(rng.choice(usable))]


def _after_pauses(
    t: float, first: float, cuts: list[float], pauses: list[tuple[float, float]]
) -> float:
    """Where time ``t`` of an utterance's speech lands once the pauses are inserted."""
    return first + t + sum(p1 - p0 for c, (p0, p1) in zip(cuts, pauses, strict=True) if c <= t)


def paused_turns(lead_in: float = 0.5, tail: float = 3.0, seed: int = SEED) -> list[Turn]:
    """The utterances with 1-2 silences of 0.2-0.6 s inserted at word boundaries.

    Utterances of a single word (no boundary inside a sentence) are left out. The inserted
    silence is the recording's own room noise.
    """
    rng = np.random.default_rng(seed)
    turns = []
    for s in _sources():
        cuts = _pick_cuts(s, rng)
        if not cuts:
            continue
        b = _Builder(s.bed, lead_in - MARGIN)
        first = b.now
        pauses: list[tuple[float, float]] = []
        previous = 0
        for c in cuts:
            q = round(c * SAMPLE_RATE)
            b.add(s.speech[previous:q])
            pauses.append(b.silence(float(rng.uniform(0.2, 0.6))))
            previous = q
        b.add(s.speech[previous:])
        b.silence(tail - MARGIN)

        audio = b.audio()
        start, end = speech_bounds(audio)
        ends = (*(_after_pauses(t, first, cuts, pauses) for t in s.sentence_ends), end)
        turns.append(
            Turn(s.id, "paused", (s.speaker,), s.reference, audio, SAMPLE_RATE, start, end,
                 pauses=tuple(pauses), sentence_ends=ends)
        )  # fmt: skip
    return turns


def _groups() -> list[list[_Source]]:
    """Speakers' utterances in twos and threes, then the utterances that hold two sentences."""
    by_speaker: dict[str, list[_Source]] = {}
    for s in _sources():
        by_speaker.setdefault(s.speaker, []).append(s)
    groups: list[list[_Source]] = []
    for items in by_speaker.values():
        i = 0
        while len(items) - i >= 2:
            size = 3 if len(items) - i in (3, 5) or len(items) - i >= 6 else 2
            groups.append(items[i : i + size])
            i += size
    groups += [[s] for s in _sources() if s.sentence_ends]
    return groups


def multi_sentence_turns(lead_in: float = 0.5, tail: float = 3.0, seed: int = SEED) -> list[Turn]:
    """Turns of two or three sentences by one speaker, 0.3-0.6 s of room noise between them.

    A gap is measured from one sentence's last loud window to the next one's first.
    """
    rng = np.random.default_rng(seed + 1)
    turns = []
    for group in _groups():
        b = _Builder(group[0].bed, lead_in - MARGIN)
        ends: list[float] = []
        gaps: list[tuple[float, float]] = []
        for i, s in enumerate(group):
            if i:
                b.silence(float(rng.uniform(0.3, 0.6)) - 2 * MARGIN)
            at = b.add(s.speech)
            s_start, s_end = (at + t for t in speech_bounds(s.speech))
            if i:
                gaps.append((ends[-1], s_start))
            gaps += [(at + x, at + y) for x, y in s.between]
            ends += [at + t for t in s.sentence_ends] + [s_end]
        b.silence(tail - MARGIN)
        audio = b.audio()
        start, end = speech_bounds(audio)
        turns.append(
            Turn("+".join(s.id for s in group), "multi", (group[0].speaker,),
                 " ".join(s.reference for s in group), audio, SAMPLE_RATE, start, end,
                 gaps=tuple(gaps), sentence_ends=(*ends[:-1], end))
        )  # fmt: skip
    return turns


def noise_only(lead_in: float = 0.5, tail: float = 3.0) -> list[Turn]:
    """Clips without speech: room noise of the recordings, stored noise, the repo's sample.

    Each is ``lead_in`` s of digital silence, 3-4 s of noise, then ``tail`` s of silence.
    """
    from voicegraph.nodes.samples import sample_path

    sources = {s.id: s for s in _sources()}
    clips: list[tuple[str, Pcm]] = []
    for sid in ("2412-153948-0000", "ami-ES2011a-40s", "jfk"):
        if sid in sources:
            clips.append((f"room-{sid}", room_noise(sources[sid].bed, 4.0)))
    for e in _entries("noise"):
        clips.append((e["id"], np.resize(read_wav(DATA_DIR / e["file"]), 3 * SAMPLE_RATE)))
    clips.append(("voicegraph-noise", read_wav(sample_path("noise"))))
    silence = np.zeros(round(lead_in * SAMPLE_RATE), np.int16)
    after = np.zeros(round(tail * SAMPLE_RATE), np.int16)
    return [
        Turn(cid, "noise", (), "", np.concatenate([silence, pcm, after]), SAMPLE_RATE, 0.0, 0.0)
        for cid, pcm in clips
    ]

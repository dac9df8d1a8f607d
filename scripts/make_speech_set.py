"""Rebuild benchmarks/speech/: the real-speech evaluation set and its manifest.json (issue 13).

Two steps, both offline:

* ``--convert``: read each source file from a bare git mirror of its public repository
  (``--mirror DIR``, one ``owner+name/repo`` git dir per repository), decode it with PyAV,
  downmix to mono, resample to 16 kHz, trim and normalise as listed in SOURCES, and write
  ``benchmarks/speech/<id>.wav`` (16-bit PCM).
* always: find each utterance's speech start/end from the audio level, run the bundled
  Whisper (faster-whisper, ``word_timestamps=True``) once to find the word boundaries, and
  store the cut points (the quietest 10 ms between two words, in seconds) and the ends of
  the sentences inside the utterance in manifest.json, so loading needs no model.

With ``--wer`` it only measures Whisper's word error rate on each condition, transcribing
each VAD-like piece on its own (split in the middle of every pause and gap) and the whole
turn at once: the baseline issue 13 asks to close.

Usage: ``python scripts/make_speech_set.py [--convert --mirror /work/.mirror] [--wer]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import speech_set  # noqa: E402
from benchmarks.speech_set import (  # noqa: E402
    DATA_DIR,
    SAMPLE_RATE,
    read_wav,
    speech_bounds,
    write_wav,
)

LIBRI = "CC BY 4.0 (LibriSpeech, V. Panayotov et al., from LibriVox public-domain audiobooks)"
LJ = "Public domain (LJ Speech 1.1, K. Ito and L. Johnson, LibriVox recordings)"
AMI = "CC BY 4.0 (AMI Meeting Corpus, University of Edinburgh and partners)"
AUDIO_MNIST = "MIT (AudioMNIST, S. Becker et al.)"
JFK = "Public domain (U.S. Government work: J. F. Kennedy's inaugural address, 1961)"
PICO = "Apache-2.0 (Picovoice cheetah repository)"


@dataclass(frozen=True)
class Source:
    """One stored file: where it comes from, and how it is converted."""

    id: str
    speaker: str
    reference: str
    repo: str
    commit: str
    path: str
    licence: str
    transcript_from: str = ""
    trim: tuple[float, float] | None = None  # seconds of the source to keep
    kind: str = "speech"


SB = "speechbrain/speechbrain"
LH = "lhotse-speech/lhotse"
CQ = "coqui-ai/TTS"
SB_HEAD = "9c826ef3937bac885c8a6ca86c6889a30f256fb5"
LH_HEAD = "a79cc864e4275f6342bb94261313526a14d385fb"
CQ_HEAD = "dbf1a08a0d4e47fdad6172e433eeb34bc6b13b4e"
SB_MNIST = "089e7f3e09eaabebcd2199a4f95f581e2ab26969"
SB_LJ = "82d46f0996610c0396eba5bbdd4da0fe3df33834"
MNIST_SPEAKERS = (
    ("0", "01", "0", "ZERO"),
    ("5", "02", "10", "FIVE"),
    ("2", "08", "8", "TWO"),
    ("9", "42", "10", "NINE"),
    ("3", "51", "37", "THREE"),
    ("6", "56", "49", "SIX"),
)

SOURCES: tuple[Source, ...] = (
    Source(
        "jfk",
        "jfk",
        "And so my fellow Americans, ask not what your country can do for you, "
        "ask what you can do for your country.",
        "openai/whisper",
        "c0d2f624c09dc18e709e37c2ad90c039a4eb72a2",
        "tests/jfk.flac",
        JFK,
        "SYSTRAN/faster-whisper@65882eee9f5cdbeeb2d877f1131d48cf241b327d tests/test_transcribe.py",
    ),
    Source(
        "61-70968-0002",
        "librispeech-61",
        "A GOLDEN FORTUNE AND A HAPPY LIFE",
        "mozilla/DeepSpeech",
        "0ddba0fe3023f44255f50c3ba14e6648d360b7b6",
        "util/spec_augment/61-70968-0002.wav",
        LIBRI,
        "LibriSpeech test-clean 61/70968/61-70968.trans.txt",
    ),
    Source(
        "1089-134686-0001",
        "librispeech-1089",
        "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM",
        "Mega-Gorilla/livecap-core",
        "88986ea5a5001a540c80daa37e32c430fa814bff",
        "tests/assets/audio/en/librispeech_1089-134686-0001.wav",
        LIBRI,
        "tests/assets/audio/en/librispeech_1089-134686-0001.txt (same commit)",
    ),
    Source(
        "2412-153948-0000",
        "librispeech-2412",
        "IF THE READER WILL EXCUSE ME I WILL SAY NOTHING OF MY ANTECEDENTS NOR OF THE "
        "CIRCUMSTANCES WHICH LED ME TO LEAVE MY NATIVE COUNTRY THE NARRATIVE WOULD BE "
        "TEDIOUS TO HIM AND PAINFUL TO MYSELF",
        LH,
        LH_HEAD,
        "test/fixtures/mix_cut_test/audio/storage/2412-153948-0000.flac",
        LIBRI,
        "test/fixtures/mix_cut_test/offseted_audio_cut_manifest.json (same commit)",
    ),
    Source(
        "ami-ES2011a-40s",
        "ami-FEE041",
        "I'M ABIGAIL CLAFLIN YOU CAN CALL ME ABBIE",
        LH,
        LH_HEAD,
        "test/fixtures/ami/ES2011a.Headset-0-40s-46s.wav",
        AMI,
        "test/fixtures/ami/cuts.json (same commit): two supervisions, joined with a space",
        trim=(1.0, 6.0),
    ),
    Source(
        "cheetah-test_en",
        "picovoice-en",
        "Today only platforms one and three are used.",
        "Picovoice/cheetah",
        "83c2b51ae8648d21bb3abdb7fa18045a6bf1216d",
        "resources/audio_samples/test_en.wav",
        PICO,
        "resources/.test/test_data.json (same commit)",
    ),
    Source(
        "LJ002-0020",
        "ljspeech",
        "IN EIGHTEEN THIRTEEN",
        LH,
        LH_HEAD,
        "test/fixtures/ljspeech/storage/LJ002-0020.wav",
        LJ,
        "test/fixtures/ljspeech/cuts.json (same commit)",
    ),
    Source(
        "LJ002-0035",
        "ljspeech",
        "EIGHT THE PRESS YARD",
        LH,
        LH_HEAD,
        "test/fixtures/ljspeech/storage/LJ002-0035.wav",
        LJ,
        "test/fixtures/ljspeech/cuts.json (same commit)",
    ),
    Source(
        "LJ050-0075",
        "ljspeech",
        "the commission shares this concern.",
        SB,
        SB_LJ,
        "tests/samples/TTS/LJ050-0075.wav",
        LJ,
        "tests/samples/annotation/TTS_train.json (same commit)",
    ),
    Source(
        "LJ050-0115",
        "ljspeech",
        "this is especially necessary with regard to the fbi and cia,",
        SB,
        SB_LJ,
        "tests/samples/TTS/LJ050-0115.wav",
        LJ,
        "tests/samples/annotation/TTS_train.json (same commit)",
    ),
    Source(
        "LJ050-0131",
        "ljspeech",
        "unless a system is established for the frequent formal review of activities "
        "thereunder. in this regard",
        SB,
        SB_HEAD,
        "tests/samples/TTS/LJ050-0131.wav",
        LJ,
        "tests/samples/annotation/TTS_train.json (same commit)",
    ),
    Source(
        "LJ001-0002",
        "ljspeech",
        "in being comparatively modern.",
        CQ,
        CQ_HEAD,
        "tests/data/ljspeech/wavs/LJ001-0002.wav",
        LJ,
        "tests/data/ljspeech/metadata.csv (same commit)",
    ),
    Source(
        "LJ001-0005",
        "ljspeech",
        "the invention of movable metal letters in the middle of the fifteenth century may "
        "justly be considered as the invention of the art of printing.",
        CQ,
        CQ_HEAD,
        "tests/data/ljspeech/wavs/LJ001-0005.wav",
        LJ,
        "tests/data/ljspeech/metadata.csv (same commit)",
    ),
    Source(
        "LJ001-0008",
        "ljspeech",
        "has never been surpassed.",
        CQ,
        CQ_HEAD,
        "tests/data/ljspeech/wavs/LJ001-0008.wav",
        LJ,
        "tests/data/ljspeech/metadata.csv (same commit)",
    ),
    *(
        Source(
            f"audiomnist-{d}_{s}_{i}",
            f"audiomnist-{s}",
            word,
            SB,
            SB_MNIST,
            f"tests/samples/AudioMNIST/data/{s}/{d}_{s}_{i}.wav",
            AUDIO_MNIST,
            "the digit in the file name; its word from tests/samples/AudioMNIST/digits.csv",
        )
        for d, s, i, word in MNIST_SPEAKERS
    ),
)

QUIET_PEAK_DB = -12.0  # a source whose peak is below this is raised to TARGET_PEAK_DB
TARGET_PEAK_DB = -3.0
CUT_LEVEL_DB = -35.0  # a word boundary is a usable cut point only where it is this quiet


def decode(data: bytes, suffix: str) -> npt.NDArray[np.int16]:
    """Any audio file's bytes as 16 kHz mono int16 (PyAV's swresample)."""
    import av

    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        tmp.write(data)
        tmp.flush()
        container: Any = av.open(tmp.name)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks = [
            frame.to_ndarray().reshape(-1)
            for decoded in container.decode(audio=0)
            for frame in resampler.resample(decoded)
        ]
        chunks += [frame.to_ndarray().reshape(-1) for frame in resampler.resample(None)]
        container.close()
    return np.concatenate(chunks).astype(np.int16)


def source_bytes(src: Source, mirror: Path, deb_root: Path) -> bytes:
    """The source file's bytes, from the git mirror (or the unpacked Debian package)."""
    if src.kind == "noise":
        return (deb_root / src.path.lstrip("/")).read_bytes()
    git_dir = mirror / src.repo.replace("/", "+") / "repo"
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{src.commit}:{src.path}"],
        check=True,
        capture_output=True,
    ).stdout


def convert(src: Source, mirror: Path, deb_root: Path) -> dict[str, Any]:
    """Write ``<id>.wav``; return the conversion notes for the manifest."""
    pcm = decode(source_bytes(src, mirror, deb_root), Path(src.path).suffix)
    notes = ["decoded with PyAV, downmixed to mono, resampled to 16 kHz (swresample), 16-bit"]
    if src.trim is not None:
        a, b = (round(t * SAMPLE_RATE) for t in src.trim)
        pcm = pcm[a:b]
        notes.append(f"kept {src.trim[0]:g}-{src.trim[1]:g} s of the source")
    peak_db = 20 * np.log10(max(int(np.abs(pcm.astype(np.int32)).max()), 1) / 32768)
    gain_db = 0.0
    if src.kind == "speech" and peak_db < QUIET_PEAK_DB:
        gain_db = round(TARGET_PEAK_DB - float(peak_db), 1)
        pcm = np.clip(pcm * 10 ** (gain_db / 20), -32768, 32767).astype(np.int16)
        notes.append(f"gain +{gain_db:g} dB (the source peaks at {peak_db:.1f} dBFS)")
    write_wav(DATA_DIR / f"{src.id}.wav", pcm)
    return {"conversion": "; ".join(notes), "gain_db": gain_db}


def quietest(energy: npt.NDArray[np.float64], a: float, b: float) -> float:
    """The centre (s) of the quietest 10 ms frame between a and b seconds."""
    lo, hi = int(a * 100), max(int(b * 100), int(a * 100) + 1)
    frame = lo + int(np.argmin(energy[lo:hi]))
    return round((frame + 0.5) / 100, 3)


def plain(text: str) -> list[str]:
    """Lower-case words without punctuation."""
    return "".join(c if c.isalnum() or c in " '" else " " for c in text.lower()).split()


def splits_cleanly(
    model: Any, pcm: npt.NDArray[np.int16], point: float, k: int, words: list[str]
) -> bool:
    """Whether Whisper hears word k last before ``point`` and word k+1 first after it.

    Whisper's word times are coarse (tens of ms), so a boundary it reports can fall inside a
    word (a stop closure in "com|paratively"); transcribing both sides catches that.
    """
    cut = round(point * SAMPLE_RATE)
    left, right = plain(transcribe(model, pcm[:cut])), plain(transcribe(model, pcm[cut:]))
    return bool(left) and bool(right) and left[-1] == words[k] and right[0] == words[k + 1]


def boundaries(model: Any, pcm: npt.NDArray[np.int16]) -> tuple[list[float], list[float], int]:
    """Word-boundary cut points, ends of sentences inside the utterance (s), rejected count.

    A cut point is the quietest 10 ms between two words Whisper reports; it is kept only if
    that frame is at or below CUT_LEVEL_DB and both sides transcribe to whole words.
    """
    audio = pcm.astype(np.float32) / 32768
    segments, _ = model.transcribe(audio, language="en", beam_size=1, word_timestamps=True)
    words = [w for s in segments for w in (s.words or [])]
    texts = [(plain(w.word) or [""])[-1] for w in words]
    x = pcm.astype(np.float64) / 32768
    frames = len(x) // 160
    energy = (x[: frames * 160].reshape(frames, 160) ** 2).mean(axis=1)
    cuts: list[float] = []
    sentence_ends: list[float] = []
    rejected = 0
    for k, (left, right) in enumerate(itertools.pairwise(words)):
        a, b = float(left.end), float(right.start)
        if b - a < 0.02:  # touching words: look a little either side
            a, b = a - 0.03, b + 0.03
        point = quietest(energy, max(a, 0.0), min(b, frames / 100))
        text = left.word.strip()
        if text.endswith((".", "?", "!")) and any(ch.isalpha() for ch in text):
            sentence_ends.append(point)
        elif 10 * np.log10(energy[int(point * 100)] + 1e-12) <= CUT_LEVEL_DB and splits_cleanly(
            model, pcm, point, k, texts
        ):
            cuts.append(point)
        else:
            rejected += 1
    return cuts, sentence_ends, rejected


def transcribe(model: Any, pcm: npt.NDArray[np.int16]) -> str:
    """Whisper's text for one piece of audio (greedy, English)."""
    audio = pcm.astype(np.float32) / 32768
    segments, _ = model.transcribe(audio, language="en", beam_size=1)
    return " ".join(s.text.strip() for s in segments)


def measure_wer(model: Any) -> None:
    """Print pooled WER (word errors / reference words) of each condition, pieces vs whole."""
    from voicegraph.testing import word_error_rate

    paused = speech_set.paused_turns()
    ids = {t.id for t in paused}
    conditions = {
        "utterances": speech_set.utterances(),
        "  the paused ones": [t for t in speech_set.utterances() if t.id in ids],
        "paused turns": paused,
        "multi-sentence turns": speech_set.multi_sentence_turns(),
    }
    print(f"{'condition':22s} {'turns':>5s} {'words':>5s} {'pieces':>7s} {'whole':>6s}")
    for name, turns in conditions.items():
        words = errors_pieces = errors_whole = 0.0
        for t in turns:
            n = len(t.reference.split())
            whole = transcribe(model, t.audio)
            pieces = " ".join(transcribe(model, p) for p in t.pieces())
            words += n
            errors_pieces += word_error_rate(t.reference, pieces) * n
            errors_whole += word_error_rate(t.reference, whole) * n
            if pieces != whole and t.kind != "utterance":
                print(f"  {t.id}: pieces {pieces!r} / whole {whole!r}")
        print(
            f"{name:22s} {len(turns):5d} {int(words):5d} {errors_pieces / words:7.1%} "
            f"{errors_whole / words:6.1%}"
        )


def main(argv: list[str] | None = None) -> int:
    """Convert the sources (optional) and recompute the cut points in manifest.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convert", action="store_true", help="re-extract and convert")
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument(
        "--deb-root",
        type=Path,
        default=Path("/"),
        help="unpacked Debian packages (no source uses one now)",
    )
    parser.add_argument("--wer", action="store_true", help="only measure Whisper's WER")
    args = parser.parse_args(argv)

    from voicegraph.nodes.stt._whisper import load_model

    if args.wer:
        measure_wer(load_model(None, "int8", 2))
        return 0

    manifest_path = DATA_DIR / "manifest.json"
    old: dict[str, Any] = {}
    if manifest_path.exists():
        old = {e["id"]: e for e in json.loads(manifest_path.read_text())["files"]}
    model = load_model(None, "int8", 2)
    entries = []
    for src in SOURCES:
        extra = convert(src, args.mirror, args.deb_root) if args.convert else {}
        entry: dict[str, Any] = {
            "id": src.id,
            "file": f"{src.id}.wav",
            "kind": src.kind,
            "speaker": src.speaker,
            "reference": src.reference,
            "source": {"repo": src.repo, "commit": src.commit, "path": src.path},
            "transcript_from": src.transcript_from,
            "licence": src.licence,
            "conversion": old.get(src.id, {}).get("conversion", ""),
            "gain_db": old.get(src.id, {}).get("gain_db", 0.0),
        }
        entry.update(extra)
        if src.kind == "speech":
            pcm = read_wav(DATA_DIR / entry["file"])
            start, end = speech_bounds(pcm)
            cuts, ends, rejected = boundaries(model, pcm)
            inside = [c for c in cuts if start < c < end]
            entry.update(
                speech_start=start,
                speech_end=end,
                word_cuts=inside,
                sentence_ends=[e for e in ends if start < e < end - 0.05],
                rejected_cuts=rejected,
            )
            print(f"{src.id}: {end - start:.2f} s, cuts {inside}, ends {ends}, rejected {rejected}")
        entries.append(entry)
    manifest = {
        "about": "Real-speech evaluation set for issue 13; see README.md. Times in seconds.",
        "sample_rate": SAMPLE_RATE,
        "files": entries,
    }
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m benchmarks endpointing``: end-of-turn decisions and word error rate on real speech.

Plays every condition of the real-speech set (:mod:`benchmarks.speech_set`: utterances, the
same with pauses of 0.2-0.6 s inside a sentence, multi-sentence turns, noise-only clips)
through VAD -> STT -> turn detector on the virtual clock, with the embedded models, and
counts what a user would notice:

* **cut inside a sentence**: a turn decided while the user paused inside a sentence, at a
  pause of at most :data:`LONG_PAUSE` seconds (the silence around the decision as heard:
  20 ms windows at or below -40 dBFS or 25 dB under the recording's loudest; an inserted
  pause next to the reader's own pause is longer than the inserted part);
* **cut at a long pause**: the same at a longer pause (e.g. JFK's 1 s pauses for effect);
* **cut between sentences**: a turn decided between two sentences of one turn (in a gap of a
  multi-sentence turn, or within :data:`BETWEEN` seconds of a sentence's end);
* **replies to noise**: a turn decided on a clip with no speech;
* **late**: no turn decided within 2 s of the end of speech;
* **EOU delay**: true end of speech (the last 20 ms window above -40 dBFS) to the decision,
  for turns decided after the speech ended;
* **WER** of the committed text against the reference, per condition.

On the virtual clock model compute takes no time, so transcripts arrive as early as they
can: a decision can only come earlier than it would live, so cut-offs are not undercounted.
Configurations: ``before`` (the defaults before issue 13: VAD silence 0.55 s, endpointing
0.5/3.0 s, heuristic turn engine, Whisper on its 30 s window, each VAD segment on its own)
and ``after`` (today's defaults); ``--turn``, ``--vad-silence``, ``--min-delay`` and
``--max-delay`` try others.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio

from voicegraph.graph import Graph
from voicegraph.nodes.audio import MemorySource
from voicegraph.nodes.stt import STTNode, WhisperSTT
from voicegraph.nodes.turn import HeuristicTurn, LlamaTurn, SmartTurn, TurnDetector, TurnEngine
from voicegraph.nodes.vad import SileroVAD, VADNode
from voicegraph.runner import Runner, VirtualClock
from voicegraph.testing import word_error_rate

from . import speech_set
from .report import machine

__all__ = ["Config", "Outcome", "evaluate", "main"]

LATE = 2.0
"""A turn not decided within this many seconds of the end of speech is late."""
BETWEEN = 1.5
"""A decision this soon after a sentence ended inside an utterance is between sentences."""
LONG_PAUSE = 0.6
"""The longest pause the issue asks to wait through (0.2-0.6 s inside a sentence)."""


@dataclass(frozen=True)
class Config:
    """One set of settings to evaluate (``None``: today's default)."""

    name: str
    vad_silence: float | None = None
    min_delay: float | None = None
    max_delay: float | None = None
    turn: str = "default"  # "default", "heuristic", "llama" or "smart"
    threshold: float | None = None
    legacy: bool = False  # Whisper's 30 s window, each segment on its own, no quick delay

    def describe(self) -> str:
        parts = [f"turn={self.turn}"]
        for key in ("vad_silence", "min_delay", "max_delay", "threshold"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key}={value}")
        if self.legacy:
            parts.append("stt=per-segment, 30 s window, no quick delay")
        return ", ".join(parts)


BEFORE = Config("before", 0.55, 0.5, 3.0, "heuristic", 0.15, legacy=True)
AFTER = Config("after")


@dataclass
class Outcome:
    """What happened on one item."""

    id: str
    kind: str
    reference: str
    text: str
    decisions: list[float] = field(default_factory=list)  # media times
    cut_inside: int = 0
    cut_long_pause: int = 0
    cut_between: int = 0
    eou_delay: float | None = None
    late: bool = False

    @property
    def wer(self) -> float:
        return word_error_rate(self.reference, self.text)


def _turn_engine(name: str) -> TurnEngine | None:
    if name == "default":
        return None
    engines: dict[str, type[TurnEngine]] = {
        "heuristic": HeuristicTurn, "llama": LlamaTurn, "smart": SmartTurn,
    }  # fmt: skip
    return engines[name]()


def _graph(item: speech_set.Turn, cfg: Config) -> tuple[Graph, TurnDetector]:
    g = Graph("endpointing")
    src = g.add(MemorySource(pcm=item.audio, sample_rate=item.sample_rate, realtime=True))
    vad_settings: dict[str, Any] = {}
    if cfg.vad_silence is not None:
        vad_settings["min_silence_duration"] = cfg.vad_silence
    vad = g.add(VADNode(engine=SileroVAD(**vad_settings)))
    if cfg.legacy:
        stt = g.add(
            STTNode(engine=WhisperSTT(window="full"), turn_context=False, transcribe_ahead=False)
        )
    else:
        stt = g.add(STTNode(engine=WhisperSTT()))
    turn_settings: dict[str, Any] = {"quick_endpointing_delay": None} if cfg.legacy else {}
    for key, value in (
        ("min_endpointing_delay", cfg.min_delay),
        ("max_endpointing_delay", cfg.max_delay),
        ("unlikely_threshold", cfg.threshold),
    ):
        if value is not None:
            turn_settings[key] = value
    turn = g.add(TurnDetector(engine=_turn_engine(cfg.turn), **turn_settings))
    g.connect(src.audio, vad.audio)
    g.connect(vad.segments, stt.speech)
    g.connect(vad.audio_out, stt.audio)
    g.connect(vad.audio_out, turn.audio)
    g.connect(stt.transcripts, turn.transcripts)
    g.connect(turn.boundaries, stt.boundaries, feedback=True)
    return g, turn


def _judge(item: speech_set.Turn, decided: list[tuple[float, str]]) -> Outcome:
    out = Outcome(item.id, item.kind, item.reference, " ".join(t for _, t in decided))
    out.decisions = [t for t, _ in decided]
    if item.kind == "noise":
        return out
    end = item.speech_end
    for t, _ in decided:
        if t >= end:
            continue
        if any(a <= t <= b + 0.1 for a, b in item.gaps) or any(
            e <= t <= e + BETWEEN for e in item.sentence_ends[:-1]
        ):
            out.cut_between += 1
        elif quiet_span(item, t) > LONG_PAUSE + 0.02:
            out.cut_long_pause += 1
        else:
            out.cut_inside += 1
    after = [t for t, _ in decided if t >= end]
    if after:
        out.eou_delay = after[0] - end
    out.late = not after or after[0] - end > LATE
    return out


def quiet_span(item: speech_set.Turn, t: float) -> float:
    """Seconds of silence around media time ``t`` (or, if the user is speaking again at
    ``t``, of the silence that ended within 0.3 s before it): quiet windows are at or below
    -40 dBFS or 25 dB under the recording's loudest."""
    levels = speech_set.levels_db(item.audio)
    # quiet: at or below -40 dBFS, or 25 dB under the loudest window (a noisy recording)
    quiet = levels <= max(speech_set.LEVEL_DB, float(levels.max()) - 25.0)
    i = min(int(t * 50), len(quiet) - 1)
    back = i - 15  # speech that came back just before the decision: the pause before it
    while i > max(back, 0) and not quiet[i]:
        i -= 1
    if i < 0 or not quiet[i]:
        return 0.0
    a = b = i
    while a > 0 and quiet[a - 1]:
        a -= 1
    while b + 1 < len(quiet) and quiet[b + 1]:
        b += 1
    return (b + 1 - a) * 0.02


async def _run_item(item: speech_set.Turn, cfg: Config) -> Outcome:
    g, turn = _graph(item, cfg)
    await Runner(g, clock=VirtualClock()).run()
    return _judge(item, [(d.decided_at, d.text) for d in turn.decisions])


def items() -> list[speech_set.Turn]:
    """Every condition of the real-speech set."""
    return [
        *speech_set.utterances(),
        *speech_set.paused_turns(),
        *speech_set.multi_sentence_turns(),
        *speech_set.noise_only(),
    ]


async def evaluate(cfg: Config, conditions: list[speech_set.Turn]) -> list[Outcome]:
    """Run every item with ``cfg``."""
    return [await _run_item(item, cfg) for item in conditions]


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """The figures of one configuration."""
    speech = [o for o in outcomes if o.kind != "noise"]
    delays = sorted(o.eou_delay for o in speech if o.eou_delay is not None)
    wer: dict[str, float] = {}
    for kind in ("utterance", "paused", "multi"):
        chosen = [o for o in speech if o.kind == kind]
        if chosen:  # word-weighted
            words = sum(len(o.reference.split()) for o in chosen)
            wer[kind] = sum(o.wer * len(o.reference.split()) for o in chosen) / words
    return {
        "items": len(outcomes),
        "cut_inside": sum(o.cut_inside for o in speech),
        "cut_long_pause": sum(o.cut_long_pause for o in speech),
        "cut_between": sum(o.cut_between for o in speech),
        "noise_replies": sum(len(o.decisions) for o in outcomes if o.kind == "noise"),
        "late": sum(o.late for o in speech),
        "eou_median": statistics.median(delays) if delays else None,
        "eou_p90": delays[int(0.9 * (len(delays) - 1))] if delays else None,
        "wer": wer,
    }


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.0f}"


def render(results: dict[str, tuple[Config, dict[str, Any]]]) -> str:
    """A table: one row per configuration."""
    head = (
        f"{'config':<8}{'cut inside':>11}{'long pause':>11}{'cut between':>12}{'noise':>7}"
        f"{'late':>6}"
        f"{'EOU med':>9}{'EOU p90':>9}{'WER plain':>10}{'WER paused':>11}{'WER multi':>10}"
    )
    lines = [head, "-" * len(head)]
    for name, (_cfg, s) in results.items():
        w = s["wer"]
        lines.append(
            f"{name:<8}{s['cut_inside']:>11}{s['cut_long_pause']:>11}{s['cut_between']:>12}"
            f"{s['noise_replies']:>7}{s['late']:>6}{_ms(s['eou_median']):>9}{_ms(s['eou_p90']):>9}"
            f"{w.get('utterance', 0) * 100:>9.1f}%{w.get('paused', 0) * 100:>10.1f}%"
            f"{w.get('multi', 0) * 100:>9.1f}%"
        )
    lines.append("")
    for name, (cfg, _s) in results.items():
        lines.append(f"{name}: {cfg.describe()}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks endpointing", description=__doc__)
    p.add_argument("--configs", default="before,after", help="before, after, and/or custom")
    p.add_argument("--turn", default="default", choices=["default", "heuristic", "llama", "smart"])
    p.add_argument("--vad-silence", type=float)
    p.add_argument("--min-delay", type=float)
    p.add_argument("--max-delay", type=float)
    p.add_argument("--threshold", type=float)
    p.add_argument("--only", default="", help="item kinds: utterance,paused,multi,noise")
    p.add_argument("--verbose", action="store_true", help="print every item's outcome")
    p.add_argument("--json", type=Path)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    custom = Config(
        "custom", args.vad_silence, args.min_delay, args.max_delay, args.turn, args.threshold
    )
    known = {"before": BEFORE, "after": AFTER, "custom": custom}
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    if any(n not in known for n in names):
        print(f"unknown config; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    conditions = items()
    if args.only:
        kinds = set(args.only.split(","))
        conditions = [c for c in conditions if c.kind in kinds]
    results: dict[str, tuple[Config, dict[str, Any]]] = {}
    details: dict[str, list[dict[str, Any]]] = {}
    started = time.perf_counter()
    for name in names:
        cfg = known[name]
        print(f"{name}: {cfg.describe()} ...", file=sys.stderr, flush=True)
        outcomes = anyio.run(evaluate, cfg, conditions)
        results[name] = (cfg, summary(outcomes))
        details[name] = [{**asdict(o), "wer": o.wer} for o in outcomes]
        if args.verbose:
            for o in outcomes:
                flag = (
                    "CUT" if o.cut_inside
                    else "long" if o.cut_long_pause
                    else "between" if o.cut_between
                    else ""
                )  # fmt: skip
                print(
                    f"  {o.id:<24}{o.kind:<10}{flag:<8} eou {_ms(o.eou_delay):>5}  "
                    f"wer {o.wer * 100:5.1f}%  {o.text!r}",
                    file=sys.stderr,
                )
    took = time.perf_counter() - started
    print(f"endpointing on real speech ({len(conditions)} items, {took:.0f} s)")
    print(f"machine: {machine()}")
    print(render(results))
    if args.json is not None:
        args.json.write_text(json.dumps({"summary": {k: v[1] for k, v in results.items()},
                                         "items": details}, indent=2))  # fmt: skip
    return 0

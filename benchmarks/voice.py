"""``python -m benchmarks voice``: voice-to-voice latency of the embedded stack, as heard.

Plays each spoken question through the standard voice graph in real time (the wall clock,
exactly as ``voicegraph run`` does: ``voice_pipeline(WavSource, AudioOutput, ConversationLog)``
run by a ``Runner``), then times every turn **from the files alone**: the true end of the
user's speech (last 20 ms window above -40 dBFS of the input) to the first audible agent
audio (first such window of the reply, aligned with the input), with
:func:`voicegraph.nodes.agent.turn_metrics`. Each run is a fresh session (a new graph and
``Runner``); the models are cached per process, so only the first run loads them. The time
from starting a run to its first input frame (node setup: loading and warming the models) is
reported on its own and never counted in voice-to-voice.

Besides the stage columns ``voicegraph run`` prints, each turn's clock timeline is split into
hops that belong to the framework: ``path lag`` (the source emitting the audio frame the turn
was decided on, to the decision: the resampler, the VAD and the edges on the way, Silero's
compute on that frame included), ``to LLM`` (decision to the generation starting) and ``to
output`` (the TTS's first frame to the reply starting to play). ``first clause`` (the LLM's
first text to the TTS taking the first sentence) mixes model compute (generating the rest of
the first sentence) with the splitter's and the edges' hops: the nodes do not record when the
splitter emitted the sentence, so it is shown apart and not counted in ``framework``.

A ``WavSource`` emits each frame when its first sample is due, where a microphone delivers it
when its last sample is: the graph hears the file one frame (20 ms) ahead of a live input, so
voice-to-voice from a file is one frame shorter than the same graph on a microphone. With that
frame (``source lead``), by construction::

    voice-to-voice = VAD lag + EOU delay - source lead + path lag + to LLM + LLM TTFT
                     + first clause + TTS TTFB + to output + lead silence
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .common import median, percentile
from .report import machine

__all__ = [
    "COLUMNS",
    "Input",
    "RunResult",
    "Stats",
    "VoiceTurn",
    "audible_span",
    "main",
    "pad",
    "render_summary",
    "render_turns",
    "summarize",
    "voice_turns",
]

RATE = 16_000
LEAD_IN = 0.3
"""Seconds of silence each input starts with, at least."""
TAIL = 3.0
"""Seconds of silence after each input's last audible window, at least: the reply (today
~1.5 s after the end of speech) must start before the input ends."""
WINDOW = 0.02
"""Seconds per level window (as ``voicegraph run`` measures)."""
THRESHOLD_DBFS = -40.0
"""A window above this RMS level is audible (as ``voicegraph run`` measures)."""
STAGES = ("vad", "stt", "turn", "llm", "tts")
"""The stages whose setup (model loading, warm-up) is timed on its own."""

Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class Input:
    """One spoken input: an id for the table and a WAV file (already padded)."""

    id: str
    path: Path


@dataclass(frozen=True, slots=True)
class VoiceTurn:
    """One user turn and the reply to it, in seconds (``None``: not measured)."""

    input_id: str
    repeat: int
    turn: int
    user_text: str
    vad_lag: float | None
    eou_delay: float | None
    stt: float | None
    llm_ttft: float | None
    tts_ttfb: float | None
    lead_silence: float | None
    voice_to_voice: float | None
    path_lag: float | None = None
    to_llm: float | None = None
    first_clause: float | None = None
    to_output: float | None = None
    source_lead: float = 0.0

    @property
    def framework(self) -> float | None:
        """The framework's own hops: path lag + to LLM + to output (``None`` if any is:
        path lag is not measured on a turn decided by a transcript's arrival, which waited
        for the STT's compute)."""
        hops = (self.path_lag, self.to_llm, self.to_output)
        return None if any(h is None for h in hops) else sum(h for h in hops if h is not None)


COLUMNS: tuple[tuple[str, Callable[[VoiceTurn], float | None]], ...] = (
    ("VAD lag", lambda t: t.vad_lag),
    ("EOU delay", lambda t: t.eou_delay),
    ("STT", lambda t: t.stt),
    ("LLM TTFT", lambda t: t.llm_ttft),
    ("TTS TTFB", lambda t: t.tts_ttfb),
    ("lead silence", lambda t: t.lead_silence),
    ("path lag", lambda t: t.path_lag),
    ("to LLM", lambda t: t.to_llm),
    ("first clause", lambda t: t.first_clause),
    ("to output", lambda t: t.to_output),
    ("framework", lambda t: t.framework),
    ("voice-to-voice", lambda t: t.voice_to_voice),
)
"""The per-turn columns, in table order, and how to read each from a turn."""


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of one column over the turns that have it (seconds)."""

    n: int
    median: float
    p90: float
    min: float
    max: float


@dataclass(slots=True)
class RunResult:
    """One run of one input: its turns and how long node setup took (model loading)."""

    input_id: str
    repeat: int
    setup_seconds: float
    wall_seconds: float
    turns: list[VoiceTurn]
    stage_setup: dict[str, float] = dataclasses.field(default_factory=dict)


# ------------------------------------------------------------------------ measuring a run


def voice_turns(
    pipeline: Any,
    user: tuple[Samples, int],
    agent: tuple[Samples, int],
    *,
    input_id: str = "",
    repeat: int = 0,
) -> list[VoiceTurn]:
    """Every turn of a finished run of ``pipeline`` (a ``VoicePipeline``), timed from the audio.

    ``user`` is the input and ``agent`` the played audio aligned with it (sample ``i`` of both
    is the same moment). The stage columns come from :func:`turn_metrics`; the hops from the
    stages' records (turn decisions, LLM metrics, the TTS's ``TTSFirstAudio`` events, the
    output's reply starts), matched to turns as ``turn_metrics`` matches them.
    """
    from voicegraph.graph.timeline import TTSFirstAudio
    from voicegraph.nodes.agent import match_replies, turn_metrics

    rows = turn_metrics(pipeline, user_audio=user, agent_audio=agent)
    to_clock = getattr(pipeline.source, "media_to_clock", None)
    origin = to_clock(0.0) if to_clock is not None else None
    firsts = [e for e in pipeline.tts.timeline_events if isinstance(e, TTSFirstAudio)]
    frame_ms = getattr(getattr(pipeline.source, "config", None), "frame_ms", None)
    lead = frame_ms / 1000 if isinstance(frame_ms, int | float) and origin is not None else 0.0
    turns = []
    for i, (match, row) in enumerate(zip(match_replies(pipeline), rows, strict=True), 1):
        decision, gen, start = match.decision, match.generation, match.reply_start
        decided = decision.clock
        index = match.reply_index
        first = firsts[index] if index is not None and index < len(firsts) else None
        path_lag = to_llm = clause = to_output = None
        timer = decision.transcript_at is None or decision.transcript_at < decision.decided_at
        if origin is not None and timer:  # the deciding frame left the source one frame
            # before its end; a turn decided by a transcript's arrival waited for the STT
            path_lag = decided - (origin + decision.decided_at - lead)
        if gen is not None:  # generated ahead: no hop between the decision and the LLM
            to_llm = max(0.0, gen.started - decided)
        if gen is not None and gen.ttft is not None and first is not None:
            clause = (first.time - first.ttfb) - (gen.started + gen.ttft)
        if first is not None and start is not None:
            to_output = start - first.time
        turns.append(
            VoiceTurn(
                input_id, repeat, i, row.user_text, row.vad_lag, row.end_of_utterance_delay,
                row.stt_latency, row.llm_ttft, row.tts_ttfb, row.leading_silence,
                row.voice_to_voice, path_lag, to_llm, clause, to_output, lead,
            )
        )  # fmt: skip
    return turns


def run_input(item: Input, repeat: int, workdir: Path) -> RunResult:
    """Play ``item`` through a fresh standard voice graph in real time and time its turns."""
    import anyio

    from voicegraph.nodes.agent import AgentController, ConversationLog, voice_pipeline
    from voicegraph.nodes.audio import WavSource, read_mono_wav
    from voicegraph.nodes.output import AudioOutput
    from voicegraph.runner import Runner

    reply = workdir / f"{item.id}-{repeat}-reply.wav"
    pipeline = voice_pipeline(
        WavSource(path=str(item.path)),
        output=AudioOutput(path=str(reply)),
        log=ConversationLog(echo=False),
        controller=AgentController(),  # as voicegraph run and an AgentSession run it
    )
    stage_setup = _time_setups(pipeline)
    runner = Runner(pipeline.graph)
    began = runner.clock.now()
    wall = time.perf_counter()
    anyio.run(runner.run)
    wall = time.perf_counter() - wall
    origin = pipeline.input_origin()
    user = read_mono_wav(item.path)
    agent = pipeline.aligned_recording()
    if agent is None:
        raise SystemExit(f"error: {item.id}: the run wrote no reply audio ({reply})")
    turns = voice_turns(pipeline, user, agent, input_id=item.id, repeat=repeat)
    setup = (origin - began) if origin is not None else math.nan
    return RunResult(item.id, repeat, setup, wall, turns, stage_setup)


def _time_setups(pipeline: Any) -> dict[str, float]:
    """Wrap the model stages' ``setup`` so each records its seconds (they run concurrently,
    so each figure includes waiting for the cores the others use)."""
    seconds: dict[str, float] = {}
    for stage in STAGES:
        node = getattr(pipeline, stage)
        setup = node.setup

        async def timed(setup: Callable[[], Any] = setup, stage: str = stage) -> None:
            t0 = time.perf_counter()
            try:
                await setup()
            finally:
                seconds[stage] = time.perf_counter() - t0

        node.setup = timed
    return seconds


# ------------------------------------------------------------------------ inputs


def audible_span(samples: Samples, rate: int) -> tuple[float, float] | None:
    """Start of the first and end of the last audible 20 ms window (RMS above -40 dBFS,
    windows from time 0: the definition ``turn_metrics`` uses), or ``None`` if silent."""
    from voicegraph.nodes.agent import audible_windows

    n = max(1, round(rate * WINDOW))
    loud = np.flatnonzero(
        audible_windows(samples, rate, window=WINDOW, threshold_dbfs=THRESHOLD_DBFS)
    )
    if not len(loud):
        return None
    return int(loud[0]) * n / rate, min((int(loud[-1]) + 1) * n, len(samples)) / rate


def pad(samples: Samples, rate: int, *, lead: float = LEAD_IN, tail: float = TAIL) -> Samples:
    """``samples`` with silence added so at least ``lead`` seconds precede the first audible
    window and ``tail`` seconds follow the last one (silence already there counts)."""
    x = np.asarray(samples, dtype=np.int16).reshape(-1)
    seconds = len(x) / rate
    start, end = audible_span(x, rate) or (seconds, seconds)
    before = max(0.0, lead - start)
    after = max(0.0, tail - (seconds - end))
    return np.concatenate(
        [np.zeros(round(before * rate), np.int16), x, np.zeros(round(after * rate), np.int16)]
    )


def _wav_files(specs: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".wav")
            if not found:
                raise SystemExit(f"error: no .wav files in {spec}")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise SystemExit(f"error: no such file or folder: {spec}")
    return files


QUESTIONS = (
    "What is the capital of France?",
    "How far away is the moon?",
    "Who wrote Romeo and Juliet?",
    "How many legs does a spider have?",
    "What is the weather like in London today?",
    "Can you recommend a good book?",
    "How do I make a cup of tea?",
    "What time does the museum open tomorrow?",
)
"""The spoken questions of ``--set questions``: one-sentence requests a voice agent gets."""


def _questions() -> list[tuple[str, Samples, int]]:
    """:data:`QUESTIONS`, spoken by the embedded TTS (hibari; deterministic).

    No recorded questions with a licence that allows shipping them were found among the
    public sources here (the real-speech set is read and spontaneous statements), so the
    questions are synthesized; ``--set speech`` plays the real recordings."""
    import anyio

    from voicegraph.nodes.tts import HibariTTS

    async def speak() -> list[tuple[str, Samples, int]]:
        engine = HibariTTS()
        out = []
        async with engine:
            for n, text in enumerate(QUESTIONS, 1):
                parts = await engine.synthesize(text)
                audio = np.concatenate([np.asarray(p, np.float32) for p in parts])
                pcm = np.clip(audio * 32767, -32768, 32767).astype(np.int16)
                out.append((f"q{n}", pcm, engine.sample_rate))
        return out

    return anyio.run(speak)


def _speech_set() -> list[tuple[str, Samples, int]] | None:
    """The utterances of the real-speech set (``benchmarks.speech_set``), or ``None``."""
    try:
        from . import speech_set  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return None
    items = []
    for n, item in enumerate(speech_set.utterances(), 1):
        audio = _first_attr(item, ("audio", "pcm", "samples"))
        ident = _first_attr(item, ("id", "name", "key"))
        rate = _first_attr(item, ("sample_rate", "rate")) or RATE
        if audio is None:
            raise SystemExit(f"error: benchmarks.speech_set item {item!r} has no audio")
        items.append((str(ident) if ident is not None else f"q{n}", np.asarray(audio), int(rate)))
    return items


def _first_attr(item: Any, names: Sequence[str]) -> Any:
    for name in names:
        value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
        if value is not None:
            return value
    return None


def prepare_inputs(
    specs: Sequence[str], workdir: Path, tail: float = TAIL, which: str = "speech"
) -> list[Input]:
    """The inputs as padded WAVs in ``workdir``: the given files or folders, else the set
    ``which`` names: ``"questions"`` (:data:`QUESTIONS`, synthesized) or ``"speech"`` (the
    real-speech set's utterances; the bundled ``question.wav`` if the set is missing)."""
    from voicegraph.nodes.audio import read_mono_wav, write_wav
    from voicegraph.nodes.samples import sample_path

    sources: list[tuple[str, Samples, int]] = []
    if specs:
        sources = [(p.stem, *read_mono_wav(p)) for p in _wav_files(specs)]
    elif which == "questions":
        sources = _questions()
    else:
        sources = _speech_set() or [("question", *read_mono_wav(sample_path("question")))]
    inputs: list[Input] = []
    seen: dict[str, int] = {}
    for ident, samples, rate in sources:
        seen[ident] = seen.get(ident, 0) + 1
        name = ident if seen[ident] == 1 else f"{ident}#{seen[ident]}"
        path = workdir / f"{len(inputs):03d}-{_safe(name)}.wav"
        write_wav(path, pad(samples, rate, tail=tail), rate)
        inputs.append(Input(name, path))
    return inputs


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40]


# ------------------------------------------------------------------------ statistics, tables


def summarize(turns: Sequence[VoiceTurn]) -> dict[str, Stats | None]:
    """Median, p90 (nearest rank), min and max of every column over the turns that have it."""
    out: dict[str, Stats | None] = {}
    for name, get in COLUMNS:
        values = [v for v in (get(t) for t in turns) if v is not None and not math.isnan(v)]
        out[name] = (
            Stats(len(values), median(values), percentile(values, 90.0), min(values), max(values))
            if values
            else None
        )
    return out


def _ms(x: float | None) -> str:
    """Milliseconds: whole ones, with a decimal under 10 ms (the framework's hops)."""
    if x is None or math.isnan(x):
        return "-"
    return f"{x * 1000:.1f}" if abs(x) < 0.00995 else f"{x * 1000:.0f}"


def _width(name: str) -> int:
    return max(len(name), 5) + 2


def render_turns(turns: Sequence[VoiceTurn]) -> str:
    """One line per turn (milliseconds)."""
    ident = max([len("input"), *(len(f"{t.input_id}/{t.repeat}.{t.turn}") for t in turns)]) + 2
    head = f"{'input':<{ident}}" + "".join(f"{n:>{_width(n)}}" for n, _ in COLUMNS) + "  user"
    lines = [head, "-" * len(head)]
    for t in turns:
        cells = "".join(f"{_ms(get(t)):>{_width(n)}}" for n, get in COLUMNS)
        lines.append(f"{f'{t.input_id}/{t.repeat}.{t.turn}':<{ident}}{cells}  {t.user_text[:40]}")
    return "\n".join(lines)


def render_summary(stats: dict[str, Stats | None]) -> str:
    """One line per column: n, median, p90, min, max (milliseconds)."""
    head = f"{'':<16}{'n':>4}{'median':>9}{'p90':>9}{'min':>9}{'max':>9}"
    lines = [head, "-" * len(head)]
    for name, _ in COLUMNS:
        s = stats.get(name)
        if s is None:
            lines.append(f"{name:<16}{0:>4}{'-':>9}{'-':>9}{'-':>9}{'-':>9}")
        else:
            lines.append(
                f"{name:<16}{s.n:>4}{_ms(s.median):>9}{_ms(s.p90):>9}{_ms(s.min):>9}{_ms(s.max):>9}"
            )
    return "\n".join(lines)


def render_setup(runs: Sequence[RunResult]) -> str:
    """Model loading (the first run's setup, per stage) and the later runs' setup, where the
    process caches keep the models: what remains there is each session's warm-up."""
    if not runs:
        return "no runs"
    first, later = runs[0], runs[1:]
    lines = [f"model loading and warm-up (first run's setup): {first.setup_seconds:.2f} s"]
    if later:
        times = [r.setup_seconds for r in later]
        lines[0] += (
            f"; later runs' setup (models cached): median {median(times):.2f} s, "
            f"max {max(times):.2f} s ({len(later)} runs)"
        )
    parts = []
    for stage in STAGES:
        if stage in first.stage_setup:
            text = f"{stage} {first.stage_setup[stage]:.2f}"
            again = [r.stage_setup[stage] for r in later if stage in r.stage_setup]
            parts.append(text + (f" (later {median(again):.2f})" if again else ""))
    if parts:
        lines.append("  setup by stage, s: " + ", ".join(parts))
    lines.append("  (not counted in voice-to-voice: the input starts once every stage is set up)")
    return "\n".join(lines)


# ------------------------------------------------------------------------ command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks voice",
        description="Voice-to-voice latency of the standard voice graph on the embedded models, "
        "played in real time and measured from the audio (true end of speech to the first "
        "audible reply). Takes minutes; needs the embedded models.",
    )
    parser.add_argument(
        "--inputs",
        nargs="+",
        default=[],
        metavar="DIR_OR_WAV",
        help="WAV files or folders of them (default: the set named by --set)",
    )
    parser.add_argument(
        "--set",
        dest="which",
        choices=["questions", "speech"],
        default="questions",
        help="questions: eight one-sentence questions spoken by the embedded TTS (default); "
        "speech: the real-speech set's recorded utterances (statements)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per input (default 3)")
    parser.add_argument(
        "--tail",
        type=float,
        default=TAIL,
        help=f"seconds of silence after each input's speech, at least (default {TAIL})",
    )
    parser.add_argument("--quick", action="store_true", help="one input, once (a smoke run)")
    parser.add_argument("--json", type=Path, help="also write every turn and the summary here")
    return parser


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="vg-voice-bench-") as name:
        yield Path(name)


def main(argv: list[str] | None = None) -> int:
    """Run the voice benchmark, print the turns and the summary, return the exit status."""
    args = _parser().parse_args(argv)
    if args.repeats < 1:
        print("error: --repeats must be at least 1", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with _workdir() as workdir:
        inputs = prepare_inputs(args.inputs, workdir, args.tail, args.which)
        repeats = args.repeats
        if args.quick:
            inputs, repeats = inputs[:1], 1
        runs: list[RunResult] = []
        total = len(inputs) * repeats
        for repeat in range(1, repeats + 1):
            for item in inputs:
                print(
                    f"[{len(runs) + 1}/{total}] {item.id} (repeat {repeat}) ...",
                    file=sys.stderr,
                    flush=True,
                )
                runs.append(run_input(item, repeat, workdir))
    turns = [t for r in runs for t in r.turns]
    stats = summarize(turns)
    mode = "quick run" if args.quick else f"{len(inputs)} inputs x {repeats} runs"
    print(f"voicegraph voice-to-voice benchmark ({mode}, {time.perf_counter() - started:.0f} s)")
    print(f"machine: {machine()}")
    print(render_setup(runs))
    print()
    print(render_turns(turns))
    print()
    print(render_summary(stats))
    heard = stats["voice-to-voice"]
    unheard = sum(1 for t in turns if t.voice_to_voice is None)
    print()
    if heard is not None:
        print(
            f"voice-to-voice: median {_ms(heard.median)} ms, p90 {_ms(heard.p90)} ms "
            f"over {heard.n} turns"
            + (f" ({unheard} turns without a heard reply)" if unheard else "")
        )
    else:
        print(f"voice-to-voice: no reply heard in {len(turns)} turns")
    print(
        "(milliseconds; voice-to-voice: true end of speech to first audible reply, from the "
        "audio; framework = path lag + to LLM + to output; first clause = LLM first text to "
        "TTS start, model and framework mixed)"
    )
    if args.json is not None:
        payload = {
            "machine": machine(),
            "runs": [
                {**dataclasses.asdict(r), "turns": [_turn_dict(t) for t in r.turns]} for r in runs
            ],
            "summary": {k: (dataclasses.asdict(v) if v else None) for k, v in stats.items()},
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 0 if turns else 1


def _turn_dict(turn: VoiceTurn) -> dict[str, Any]:
    return {**dataclasses.asdict(turn), "framework": turn.framework}

"""Evaluate one recording: run the agent's voice graph on it and measure what happened.

:func:`evaluate_file` is a pure function of picklable inputs with a picklable result, so a
process pool or a Ray task can call it; the embedded models are loaded once per process
(the engines' process-wide caches), not once per file.

Definitions (media time: seconds into the recording):

* **audible**: a 20 ms window whose RMS is above -40 dBFS; **speech** is a run of audible
  windows at least 0.1 s long.
* **premature cut-off**: an end-of-turn decision while speech is still to come in the same
  file (a speech run ends after the decision), judged only when the reference transcript is
  one sentence (non-empty, no ``.``/``?``/``!`` followed by more words): between two
  sentences a decision is a legitimate turn.
* **missed turn**: a non-empty reference and no end-of-turn decision at all.
* **reply to noise**: each agent reply on a file whose reference transcript is empty.
* **WER**: the committed user text (the decisions' texts, joined) against the reference.
* **voice-to-voice**: per turn, the true end of the user's speech to the first audible agent
  audio (:func:`voicegraph.nodes.agent.turn_metrics`); meaningful in realtime mode only (on
  the virtual clock model compute takes no time).
* **timeline** (what :func:`voicegraph.evals.render_timeline` draws from a report alone): the
  speech runs of the input (``user_speech``) and of the agent's audio as played, aligned
  with the input (``agent_audio``), beside the decisions and cut-offs; ``interrupted`` says
  per reply whether the user cut it off.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voicegraph.graph import Clock
from voicegraph.nodes.agent import Agent, AgentSession, audible_windows

from ._agents import standard_session

__all__ = [
    "EvalSettings",
    "FileResult",
    "Judge",
    "Verdict",
    "evaluate_file",
    "one_sentence",
    "speech_runs",
]

WINDOW = 0.02
"""Seconds per level window."""
THRESHOLD_DBFS = -40.0
"""A window above this RMS level is audible."""
MIN_SPEECH = 0.1
"""Seconds of consecutive audible windows that count as speech."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A judge's verdict on a reply."""

    passed: bool
    reason: str = ""


Judge = Callable[[str, str, str], "Verdict | bool"]
"""``judge(reply_intent, user_transcript, reply_text) -> Verdict | bool``: a module-level
function (picklable), e.g. one asking an LLM whether the reply does what the intent says."""


@dataclass(frozen=True, slots=True)
class EvalSettings:
    """How to run each file (picklable: callables must be module-level).

    Attributes:
        realtime: run on the real clock (latency figures) instead of the virtual clock.
        judge: called for files with a ``reply_intent`` (default: no judge).
        session: builds the session on a clock (default :func:`standard_session`: the
            embedded models); give one to evaluate with other engines.
        timeout: real seconds a file may take before its run is stopped and reported as an
            error (default ``None``: 60 s plus 3 times the recording's length).
    """

    realtime: bool = False
    judge: Judge | None = None
    session: Callable[[Clock], AgentSession[Any]] | None = None
    timeout: float | None = None

    def deadline(self, duration: float) -> float:
        """The real seconds a recording of ``duration`` seconds may take."""
        return self.timeout if self.timeout is not None else 60.0 + 3.0 * duration


@dataclass(slots=True)
class FileResult:
    """What happened on one recording (plain data: JSON and pickle friendly).

    ``None`` means "not measured" (e.g. no reference to compare with); see the module
    docstring for the definitions. ``error`` is set when the file could not be evaluated.
    """

    id: str
    audio: str
    mode: str
    error: str | None = None
    seconds: float = 0.0
    duration: float = 0.0
    reference: str | None = None
    transcript: str = ""
    wer: float | None = None
    reference_words: int = 0
    decisions: list[float] = field(default_factory=list)
    cutoffs: list[float] = field(default_factory=list)
    cutoffs_judged: bool = False
    missed_turn: bool | None = None
    replies: list[str] = field(default_factory=list)
    noise_replies: int | None = None
    tool_calls: list[str] = field(default_factory=list)
    expected_tools: list[str] | None = None
    tools_ok: bool | None = None
    voice_to_voice: list[float] = field(default_factory=list)
    judge_passed: bool | None = None
    judge_reason: str = ""
    user_speech: list[tuple[float, float]] | None = None
    agent_audio: list[tuple[float, float]] | None = None
    interrupted: list[bool] | None = None

    def outcome(self) -> dict[str, Any]:
        """Everything the result says but how long the file took (``seconds``): what two
        runs of the same file must agree on (in-process and on Ray, say)."""
        return {k: v for k, v in asdict(self).items() if k != "seconds"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileResult:
        """Read one back from a report's JSON (unknown keys ignored; a report written before
        a field existed leaves it at its default)."""
        names = set(cls.__dataclass_fields__)
        fields = {k: v for k, v in data.items() if k in names}
        for key in ("user_speech", "agent_audio"):  # JSON has no tuples
            if fields.get(key) is not None:
                fields[key] = [(float(a), float(b)) for a, b in fields[key]]
        return cls(**fields)


def evaluate_file(
    spec: Any, agent_factory: Callable[[], Agent], settings: EvalSettings | None = None
) -> FileResult:
    """Run a new agent (``agent_factory()``) in a new session on one recording (a
    :class:`FileSpec`) and measure it. Never raises for a bad file or a failed run: the
    result's ``error`` says what went wrong."""
    from voicegraph.nodes.audio import read_mono_wav
    from voicegraph.nodes.tts import normalize_words

    settings = settings or EvalSettings()
    mode = "realtime" if settings.realtime else "virtual"
    result = FileResult(spec.id, spec.audio, mode, reference=spec.transcript)
    if spec.error is not None:
        result.error = spec.error
        return result
    began = time.perf_counter()
    try:
        if not Path(spec.audio).is_file():
            raise _FileProblem(f"no such file: {spec.audio}")
        try:
            user = read_mono_wav(spec.audio)
        except Exception as exc:  # soundfile's errors: RuntimeError, LibsndfileError, ...
            raise _FileProblem(f"not a readable WAV file ({exc})") from None
        if len(user[0]) == 0:
            raise _FileProblem("the WAV file holds no audio")
        result.duration = len(user[0]) / user[1]
        _run(spec, agent_factory, settings, user, result)
    except _FileProblem as exc:
        result.error = str(exc)
    except Exception as exc:
        result.error = f"the run failed: {type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - began
    if result.error is None and spec.transcript is not None:
        from voicegraph.nodes.tts import word_error_rate

        result.reference_words = len(normalize_words(spec.transcript))
        if result.reference_words:
            result.wer = word_error_rate(spec.transcript, result.transcript)
    return result


class _FileProblem(Exception):
    """The file cannot be evaluated (the message says why)."""


def _run(
    spec: Any,
    agent_factory: Callable[[], Agent],
    settings: EvalSettings,
    user: tuple[npt.NDArray[np.int16], int],
    result: FileResult,
) -> None:
    import anyio

    from voicegraph.nodes.audio import WavSource
    from voicegraph.nodes.llm import ChatMessage, FunctionCall
    from voicegraph.nodes.output import AudioOutput
    from voicegraph.runner import RealClock, VirtualClock

    make_session = settings.session or standard_session
    with tempfile.TemporaryDirectory(prefix="voicegraph-eval-") as folder:
        reply = Path(folder) / "reply.wav"

        async def go() -> Any:
            clock: Clock = RealClock() if settings.realtime else VirtualClock()
            session = make_session(clock)
            agent = agent_factory()
            if not isinstance(agent, Agent):
                raise TypeError(f"the agent factory returned a {type(agent).__name__}, "
                                "not an Agent")  # fmt: skip
            limit = settings.deadline(result.duration)
            async with session:
                source = WavSource(path=spec.audio)
                await session.start(agent, audio=source, output=AudioOutput(path=str(reply)))
                with anyio.move_on_after(limit) as scope:
                    await session.wait()
            if scope.cancelled_caught:  # the session was closed on leaving the block
                raise _FileProblem(f"the run did not end within {limit:.0f} s (a node or the "
                                   "agent hangs?); raise EvalSettings.timeout if it is just "
                                   "slow")  # fmt: skip
            return session

        session = anyio.run(go)
        pipeline = session.pipeline
        decisions = list(pipeline.turn.decisions)
        rows = pipeline.turn_metrics()  # from the input and the recording, aligned
        played = pipeline.aligned_recording()  # sample i is the same moment as input sample i
        if played is not None:
            result.agent_audio = speech_runs(*played)
    result.decisions = [round(d.decided_at, 3) for d in decisions]
    result.transcript = " ".join(d.text.strip() for d in decisions if d.text.strip())
    items = session.history.items
    said = [i for i in items if isinstance(i, ChatMessage) and i.role == "assistant" and i.text]
    result.replies = [i.text for i in said]
    result.interrupted = [i.interrupted for i in said]
    result.tool_calls = [i.name for i in items if isinstance(i, FunctionCall)]
    result.voice_to_voice = [round(r.voice_to_voice, 3) for r in rows if r.voice_to_voice]
    result.user_speech = speech_runs(*user)
    _judge_turns(spec, result, result.user_speech)
    if spec.tool_calls is not None:
        result.expected_tools = list(spec.tool_calls)
        result.tools_ok = sorted(result.tool_calls) == sorted(spec.tool_calls)
    if settings.judge is not None and spec.reply_intent:
        verdict = settings.judge(spec.reply_intent, result.transcript, " ".join(result.replies))
        if isinstance(verdict, Verdict):
            result.judge_passed, result.judge_reason = verdict.passed, verdict.reason
        else:
            result.judge_passed = bool(verdict)


def _judge_turns(spec: Any, result: FileResult, runs: list[tuple[float, float]]) -> None:
    """Cut-offs, missed turns and replies to noise (see the module docstring)."""
    reference = spec.transcript
    if reference is None:
        return
    if not reference.strip():
        result.noise_replies = len(result.replies)
        return
    result.missed_turn = not result.decisions
    if one_sentence(reference):
        result.cutoffs_judged = True
        result.cutoffs = [d for d in result.decisions if any(end > d for _, end in runs)]


def one_sentence(text: str) -> bool:
    """Whether ``text`` is one sentence: no ``.``, ``?`` or ``!`` followed by more words."""
    return re.search(r"[.?!]+[\"')\]]*\s+\S", text.strip()) is None


def speech_runs(pcm: npt.NDArray[np.int16], rate: int) -> list[tuple[float, float]]:
    """``(start, end)`` media times of the runs of audible 20 ms windows at least
    :data:`MIN_SPEECH` s long."""
    whole = len(pcm) // round(WINDOW * rate)  # a last partial window is not counted
    loud = audible_windows(pcm, rate, window=WINDOW, threshold_dbfs=THRESHOLD_DBFS)[:whole]
    runs: list[tuple[float, float]] = []
    start = None
    for i, on in enumerate([*loud.tolist(), False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            if (i - start) * WINDOW >= MIN_SPEECH - 1e-9:
                runs.append((round(start * WINDOW, 3), round(i * WINDOW, 3)))
            start = None
    return runs

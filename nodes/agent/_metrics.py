"""Per-turn voice metrics, computed from what the pipeline's stages recorded during a run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ._latency import heard_latency

if TYPE_CHECKING:
    from voicegraph.nodes.llm import LLMMetrics
    from voicegraph.nodes.turn import TurnDecision

    from ._voice import VoicePipeline

Audio = tuple[npt.NDArray[np.integer] | npt.NDArray[np.floating], int]
"""Mono samples and their rate."""

__all__ = ["TurnMetrics", "TurnReply", "format_turn_metrics", "match_replies", "turn_metrics"]


@dataclass(frozen=True, slots=True)
class TurnReply:
    """What answered one end-of-turn decision in a run (see :func:`match_replies`).

    Attributes:
        decision: the turn detector's decision.
        generation: the LLM generation whose reply was played (``None``: none found).
        reply_start: clock time the reply started playing (``None``: no reply played).
        reply_index: the reply's index in the output's ``reply_started_at`` (the TTS's
            first-audio records share it), or ``None``.
        next_reply: clock time the following reply started playing (``None``: none did).
    """

    decision: TurnDecision
    generation: LLMMetrics | None
    reply_start: float | None
    reply_index: int | None
    next_reply: float | None


def match_replies(p: VoicePipeline) -> list[TurnReply]:
    """Match each turn decision of the last run with the generation and playout that
    answered it.

    Playout starts are matched to decisions in order (the first reply that started at or
    after the decision); the generation is the last one not cut off that started after the
    previous decision and before the reply played (it may have started before the decision:
    preemptive generation), else the first one started at the decision.
    """
    step0 = [m for m in p.llm.metrics if m.step == 0]
    replies = list(p.output.reply_started_at)
    matched: list[TurnReply] = []
    after = float("-inf")  # clock time of the previous decision
    first = 0  # the first reply not matched yet
    for d in p.turn.decisions:
        decided: float | None = d.clock
        index = next(
            (
                i
                for i in range(first, len(replies))
                if decided is None or replies[i] >= decided - 1e-6
            ),
            None,
        )
        start = replies[index] if index is not None else None
        gen = _generation(step0, decided, start, after)
        if gen is not None:
            step0 = [m for m in step0 if m.started > gen.started]
        following = None
        if index is not None:
            first = index + 1
            following = replies[first] if first < len(replies) else None
        matched.append(TurnReply(d, gen, start, index, following))
        after = d.clock
    return matched


@dataclass(frozen=True, slots=True)
class TurnMetrics:
    """Latencies of one user turn and the agent's reply, in seconds.

    Attributes:
        user_text: what the user said.
        end_of_utterance_delay: end of the user's speech to the end-of-turn decision (media
            time; includes the VAD's silence hangover and the endpointing delay).
        stt_latency: the VAD reporting the end of speech to the final transcript arriving.
        llm_ttft: the LLM starting on the turn to its first reply text.
        tts_ttfb: the TTS taking the reply's first sentence to its first audio frame.
        voice_to_voice_from_vad: the VAD's end of speech to the start of the reply audio
            (clock time; ``None`` if no reply played). It hides the VAD's lag behind the true
            end of speech and any leading silence in the reply.
        voice_to_voice: what a listener hears: the true end of the user's speech (last 20 ms
            window above -40 dBFS of the input before the decision) to the first audible
            agent audio (first such window of the reply), measured from the audio itself;
            ``None`` without the audio (see :func:`turn_metrics`) or if either was silent.
        vad_lag: the true end of speech to the VAD's end of speech (part of ``voice_to_voice``).
        leading_silence: the reply audio starting to it becoming audible (ditto).
    """

    user_text: str
    end_of_utterance_delay: float
    stt_latency: float | None
    llm_ttft: float | None
    tts_ttfb: float | None
    voice_to_voice_from_vad: float | None
    voice_to_voice: float | None = None
    vad_lag: float | None = None
    leading_silence: float | None = None


def turn_metrics(
    p: VoicePipeline, *, user_audio: Audio | None = None, agent_audio: Audio | None = None
) -> list[TurnMetrics]:
    """Match each turn decision with the generation, synthesis and playout that answered it.

    Generations are matched to turns by the clock time they started; TTS first-byte times and
    playout starts are matched to replies in order. With ``user_audio`` (the input) and
    ``agent_audio`` (what was played, aligned with the input: sample ``i`` of both is the same
    moment), each turn's ``voice_to_voice`` is measured from the audio (see
    :mod:`voicegraph.nodes.agent._latency`).
    """
    to_clock = getattr(p.source, "media_to_clock", None)
    origin = to_clock(0.0) if to_clock else None  # clock time of the input's sample 0
    ttfbs = list(p.tts.ttfb)
    results = []
    previous = 0.0  # input time of the previous decision: the next turn's speech starts after
    for match in match_replies(p):
        d, gen, start = match.decision, match.generation, match.reply_start
        speech_end = to_clock(d.speech_end) if to_clock else None
        ttft = None
        if gen is not None:
            later = [m for m in p.llm.metrics if m.started >= gen.started and m.ttft is not None]
            ttft = (later[0].started + later[0].ttft - gen.started) if later else None  # type: ignore[operator]
        v2v = tts = None
        if start is not None and match.reply_index is not None:
            index = match.reply_index
            tts = ttfbs[index] if index < len(ttfbs) else None
            v2v = start - speech_end if speech_end is not None else None
        row = TurnMetrics(d.text, d.end_of_utterance_delay, d.stt_latency, ttft, tts, v2v)
        if (
            user_audio is not None
            and agent_audio is not None
            and start is not None
            and origin is not None
        ):
            at = start - origin
            until = match.next_reply - origin if match.next_reply is not None else None
            heard = heard_latency(
                *user_audio, *agent_audio, decided=d.decided_at, reply_start=at,
                turn_start=previous, reply_end=until,
            )  # fmt: skip
            if heard is not None:
                row = replace(
                    row,
                    voice_to_voice=heard.latency,
                    vad_lag=d.speech_end - heard.speech_end,
                    leading_silence=heard.first_audio - at,
                )
        previous = d.decided_at
        results.append(row)
    return results


def _generation(
    step0: list[LLMMetrics], decided: float | None, reply: float | None, after: float
) -> LLMMetrics | None:
    """The generation that answered a turn decided at clock time ``decided``.

    With the reply's playout start known: the last generation not cut off that started
    after the previous decision and before the reply played (it may have started before
    the decision: preemptive generation). Otherwise the first one started at the decision.
    """
    if reply is not None:
        made = [m for m in step0 if after - 1e-6 <= m.started <= reply + 1e-6 and not m.cancelled]
        if made:
            return made[-1]
    return next((m for m in step0 if decided is None or m.started >= decided - 1e-6), None)


def format_turn_metrics(rows: list[TurnMetrics]) -> str:
    """The metrics as a table (milliseconds): the stages, then the honest voice-to-voice.

    ``VAD lag`` + ``v2v from VAD end`` + ``lead silence`` make up ``voice-to-voice`` (to a
    20 ms window); ``EOU delay``, ``STT``, ``LLM TTFT`` and ``TTS TTFB`` break down
    ``v2v from VAD end``.
    """

    def ms(x: float | None) -> str:
        return "-" if x is None else f"{x * 1000:.0f}"

    head = (
        f"{'turn':<5}{'EOU delay':>11}{'STT':>7}{'LLM TTFT':>10}{'TTS TTFB':>10}"
        f"{'VAD lag':>9}{'v2v from VAD end':>18}{'lead silence':>14}{'voice-to-voice':>16}  user"
    )
    lines = [head, "-" * len(head)]
    for i, r in enumerate(rows, 1):
        lines.append(
            f"{i:<5}{ms(r.end_of_utterance_delay):>11}{ms(r.stt_latency):>7}{ms(r.llm_ttft):>10}"
            f"{ms(r.tts_ttfb):>10}{ms(r.vad_lag):>9}{ms(r.voice_to_voice_from_vad):>18}"
            f"{ms(r.leading_silence):>14}{ms(r.voice_to_voice):>16}  {r.user_text[:40]}"
        )
    lines.append(
        "(milliseconds; voice-to-voice: true end of speech to first audible reply, from the audio)"
    )
    return "\n".join(lines)

"""Per-turn voice metrics, computed from what the pipeline's stages recorded during a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._voice import VoicePipeline

__all__ = ["TurnMetrics", "format_turn_metrics", "turn_metrics"]


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
        voice_to_voice: end of the user's speech to the first reply audio played (clock
            time; ``None`` if no reply played).
    """

    user_text: str
    end_of_utterance_delay: float
    stt_latency: float | None
    llm_ttft: float | None
    tts_ttfb: float | None
    voice_to_voice: float | None


def turn_metrics(p: VoicePipeline) -> list[TurnMetrics]:
    """Match each turn decision with the generation, synthesis and playout that answered it.

    Generations are matched to turns by the clock time they started; TTS first-byte times and
    playout starts are matched to replies in order.
    """
    to_clock = getattr(p.source, "media_to_clock", None)
    step0 = [m for m in p.llm.metrics if m.step == 0]
    replies = list(p.output.reply_started_at)
    ttfbs = list(p.tts.ttfb)
    results = []
    for d in p.turn.decisions:
        decided: float | None = d.clock
        speech_end = to_clock(d.speech_end) if to_clock else None
        gen = next((m for m in step0 if decided is None or m.started >= decided - 1e-6), None)
        ttft = None
        if gen is not None:
            step0.remove(gen)
            later = [m for m in p.llm.metrics if m.started >= gen.started and m.ttft is not None]
            ttft = (later[0].started + later[0].ttft - gen.started) if later else None  # type: ignore[operator]
        v2v = None
        if speech_end is not None and replies:
            start = next((r for r in replies if decided is None or r >= decided - 1e-6), None)
            if start is not None:
                index = replies.index(start)
                replies = replies[index + 1 :]
                tts = ttfbs[index] if index < len(ttfbs) else None
                ttfbs = ttfbs[index + 1 :]
                v2v = start - speech_end
            else:
                tts = None
        else:
            tts = None
        results.append(TurnMetrics(d.text, d.end_of_utterance_delay, d.stt_latency, ttft, tts, v2v))
    return results


def format_turn_metrics(rows: list[TurnMetrics]) -> str:
    """The metrics as a table (milliseconds)."""

    def ms(x: float | None) -> str:
        return "-" if x is None else f"{x * 1000:.0f}"

    head = (
        f"{'turn':<5}{'EOU delay':>11}{'STT':>8}{'LLM TTFT':>10}{'TTS TTFB':>10}"
        f"{'voice-to-voice':>16}  user"
    )
    lines = [head, "-" * len(head)]
    for i, r in enumerate(rows, 1):
        lines.append(
            f"{i:<5}{ms(r.end_of_utterance_delay):>11}{ms(r.stt_latency):>8}{ms(r.llm_ttft):>10}"
            f"{ms(r.tts_ttfb):>10}{ms(r.voice_to_voice):>16}  {r.user_text[:40]}"
        )
    lines.append("(milliseconds)")
    return "\n".join(lines)

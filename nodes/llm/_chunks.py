"""What an LLM engine streams (:class:`LLMChunk`) and what a node measures (:class:`LLMMetrics`)."""

from __future__ import annotations

from dataclasses import dataclass

from ._chat import FunctionCall

__all__ = ["LLMChunk", "LLMMetrics"]


@dataclass(frozen=True, slots=True)
class LLMChunk:
    """One piece of a streamed model response: a text delta and/or a complete tool call.

    Attributes:
        text: new reply text (may be ``""``).
        tool_call: a complete tool call the model requests, or ``None``.
        prompt_tokens: prompt tokens this chunk accounts for (engines that know report them
            once; default 0).
        completion_tokens: generated tokens this chunk accounts for (default 0).
    """

    text: str = ""
    tool_call: FunctionCall | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class LLMMetrics:
    """Measurements of one generation (one reply, or one step of a reply with tool calls).

    Times are on the run's clock (virtual seconds under ``VirtualClock``).

    Attributes:
        epoch: the turn generation the reply belonged to.
        step: the tool round (0 for the generation that answers the user turn directly).
        started: clock time the generation started.
        ttft: seconds from ``started`` to the first text delta; ``None`` if there was none.
        duration: seconds from ``started`` to the last chunk (or the cancellation).
        prompt_tokens: prompt tokens, when the engine reports them (else 0).
        completion_tokens: generated tokens.
        tool_calls: tool calls the model requested.
        cancelled: ``True`` if an interrupt cut the generation off.
    """

    epoch: int
    step: int
    started: float
    ttft: float | None
    duration: float
    prompt_tokens: int
    completion_tokens: int
    tool_calls: int
    cancelled: bool

    @property
    def tokens_per_second(self) -> float | None:
        """Generated tokens per clock second after the first one, if measurable."""
        if self.ttft is None or self.completion_tokens < 2:
            return None
        span = self.duration - self.ttft
        return (self.completion_tokens - 1) / span if span > 0 else None

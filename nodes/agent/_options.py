""":class:`SessionOptions`: turn taking and reply settings, with LiveKit Agents' defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voicegraph.graph import ConfigError

__all__ = ["SessionOptions", "UserTurnLimit"]


class UserTurnLimit(BaseModel):
    """When a user turn counts as too long (LiveKit's ``user_turn_limit``).

    Attributes:
        max_words: transcribed words in one turn (default ``None``: no limit).
        max_duration: seconds from the turn's first speech (default ``None``: no limit).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_words: int | None = Field(None, ge=1)
    max_duration: float | None = Field(None, gt=0.0)


class SessionOptions(BaseModel):
    """The options of an :class:`AgentSession`, with LiveKit Agents 1.x defaults and meaning.

    Pass them as keyword arguments, ``AgentSession(min_endpointing_delay=0.8, ...)``, or as
    ``AgentSession(options=SessionOptions(...))``.

    Attributes:
        allow_interruptions: the user's speech may cut the agent off (default ``True``).
            Per reply: ``say(..., allow_interruptions=False)``; per agent:
            ``Agent(allow_interruptions=False)``.
        min_interruption_duration: seconds of user speech (VAD) before it interrupts the
            agent (default 0.5).
        min_interruption_words: transcribed words needed as well before it interrupts
            (default 0: the duration alone decides).
        min_endpointing_delay: seconds of silence after the VAD reports the end of the
            user's speech before the turn ends, when the transcript looks finished (default
            0.45; LiveKit's 0.5 counts from its Silero VAD's 0.55 s silence, ours from
            0.2 s: a statement ends 0.65 s into the silence, enough for the 0.2-0.6 s
            pauses people make inside a sentence).
        max_endpointing_delay: seconds of silence to wait when the transcript looks
            unfinished ("... and", "um,"; default 3.0).
        quick_endpointing_delay: the delay when the turn engine is sure the turn is over
            (a question, with the default engine; default 0.05; ``None``: no such tier).
        resume_false_interruption: when the user's speech paused the agent but brought no
            words within ``false_interruption_timeout``, resume the agent's speech where it
            stopped (default ``True``).
        false_interruption_timeout: seconds after the user stops speaking to decide that an
            interruption was false (default 2.0; ``None`` disables: every interruption is a
            real one).
        preemptive_generation: start the LLM on the user's final transcript before the end
            of turn is decided; its reply is kept if the turn ends with the same words, else
            discarded (default ``True``).
        max_tool_steps: most rounds of tool calls in one reply (default 3).
        user_away_timeout: seconds of silence on both sides before the user's state becomes
            ``"away"`` (default 15.0; ``None`` disables).
        tool_timeout: seconds a tool call may take unless the tool sets its own timeout
            (default 10.0; voicegraph's, not LiveKit's).
        min_consecutive_speech_delay: seconds of quiet the agent leaves between two of its
            replies (default 0.0).
        aec_warmup_duration: seconds of the agent's first speech in the session during which
            the user's speech cannot interrupt it, while echo cancellation converges
            (default ``None``: never; LiveKit's default is 3.0 s, see docs/agents.md).
        user_turn_limit: a :class:`UserTurnLimit` (or a dict with ``max_words`` /
            ``max_duration``); a turn past it emits ``user_turn_exceeded`` (default ``None``).
        transcription_timeout: seconds after the user stops speaking within which a
            transcript must come, else ``user_transcription_timeout`` is emitted (default
            ``None``: no check).
        tts_text_transforms: the filters applied to the text before the TTS (LiveKit's
            names; default both, ``()`` none).

    ``AgentSession`` also takes LiveKit 1.8's grouped ``turn_handling=`` and its other
    keywords (see ``voicegraph.nodes.agent.TurnHandlingOptions``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_interruptions: bool = True
    min_interruption_duration: float = Field(0.5, ge=0.0)
    min_interruption_words: int = Field(0, ge=0)
    min_endpointing_delay: float = Field(0.45, ge=0.0)
    max_endpointing_delay: float = Field(3.0, ge=0.0)
    quick_endpointing_delay: float | None = Field(0.05, ge=0.0)
    resume_false_interruption: bool = True
    false_interruption_timeout: float | None = Field(2.0, gt=0.0)
    preemptive_generation: bool = True
    max_tool_steps: int = Field(3, ge=0)
    user_away_timeout: float | None = Field(15.0, gt=0.0)
    tool_timeout: float = Field(10.0, gt=0.0)
    min_consecutive_speech_delay: float = Field(0.0, ge=0.0)
    aec_warmup_duration: float | None = Field(None, gt=0.0)
    user_turn_limit: UserTurnLimit | None = None
    transcription_timeout: float | None = Field(None, gt=0.0)
    tts_text_transforms: tuple[Literal["filter_markdown", "filter_emoji"], ...] = (
        "filter_markdown",
        "filter_emoji",
    )

    @model_validator(mode="after")
    def _delays_in_order(self) -> SessionOptions:
        if self.max_endpointing_delay < self.min_endpointing_delay:
            raise ConfigError(
                f"max_endpointing_delay ({self.max_endpointing_delay}) must not be less than "
                f"min_endpointing_delay ({self.min_endpointing_delay}); raise the maximum or lower "
                "the minimum"
            )
        return self

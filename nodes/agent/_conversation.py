"""ConversationLog: what each side said, as heard — the transcript of a voice session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voicegraph.graph import Control, Event, In, Node, NodeConfig, PlayoutMark, UserTurn

__all__ = ["ConversationLog", "Utterance"]


@dataclass(frozen=True, slots=True)
class Utterance:
    """One line of the conversation.

    Attributes:
        role: ``"user"`` or ``"agent"``.
        text: what was said; for the agent, only what was actually played.
        at: clock time it was logged.
        interrupted: the agent was cut off (its text is what played before the cut).
    """

    role: str
    text: str
    at: float
    interrupted: bool = False

    def line(self) -> str:
        """``[  2.31s] user: ...`` as printed while a session runs."""
        cut = " [interrupted]" if self.interrupted else ""
        return f"[{self.at:7.2f}s] {self.role:>5}: {self.text}{cut}"


class ConversationLog(Node):
    """Record user turns and the agent's *played* replies, optionally printing them live.

    Connect ``turn_detector.turns >> log.user`` and ``audio_output.marks >> log.agent``; the
    agent's line is taken from the final or interrupted :class:`PlayoutMark`, so it holds what
    the listener heard, not what the LLM wrote.
    """

    class Config(NodeConfig):
        echo: bool = False
        """Print each line as it is logged (progress for the command line)."""

    config: Config
    user: In[UserTurn]
    agent: In[Control] = In(required=False)
    forward_events = False

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self.utterances: list[Utterance] = []

    async def on_user(self, frame: UserTurn) -> None:
        self._add(Utterance("user", frame.text, self.clock.now()))

    async def on_event(self, event: Event) -> None:
        if isinstance(event, PlayoutMark) and (event.final or event.interrupted):
            self._add(Utterance("agent", event.text, self.clock.now(), event.interrupted))

    def _add(self, utterance: Utterance) -> None:
        self.utterances.append(utterance)
        if self.config.echo:
            print(utterance.line(), flush=True)

    def transcript(self) -> str:
        """The whole conversation, one line per utterance."""
        return "\n".join(u.line() for u in self.utterances)

""":class:`ReplyRequest`: ask an LLM node for a reply that no user turn started."""

from __future__ import annotations

from dataclasses import dataclass

from voicegraph.graph import Frame

from ._chat import AnyChatItem

__all__ = ["ReplyRequest"]


@dataclass(frozen=True, slots=True)
class ReplyRequest(Frame):
    """A request for a reply, sent to an LLM node's ``requests`` input.

    The agent layer sends these for ``session.say()`` and ``session.generate_reply()``;
    replies to them stream out on ``text`` exactly like replies to user turns (ending with
    ``LLMText("", final=True)``) and are truncated the same way on barge-in.

    Attributes:
        user_input: a user message to add before replying (default ``""``: none).
        instructions: extra instructions for this reply only, appended to the system message
            of the context the model sees (default ``""``: none), as LiveKit's
            ``generate_reply(instructions=...)``.
        say: speak this text verbatim instead of generating (default ``None``: generate).
        add_to_chat: with ``say``, record the text as an assistant message (default ``True``).
        allow_tools: offer the tools for this reply (default ``True``; ``False`` is LiveKit's
            ``tool_choice="none"``).
        context: items the model sees before ``user_input`` for this reply only (its tool
            rounds included), not kept in the conversation (default none): what an agent's
            ``on_user_turn_completed`` adds to its ``turn_ctx``.
    """

    user_input: str = ""
    instructions: str = ""
    say: str | None = None
    add_to_chat: bool = True
    allow_tools: bool = True
    context: tuple[AnyChatItem, ...] = ()

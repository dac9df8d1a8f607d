"""The :class:`LLMEngine` interface: stream a model's response to a chat context and tools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import ClassVar

from voicegraph.graph import Engine
from voicegraph.nodes.tools import FunctionTool

from ._chat import ChatContext
from ._chunks import LLMChunk

__all__ = ["LLMEngine"]


class LLMEngine(Engine):
    """A language model as an :class:`~voicegraph.nodes.llm.LLMNode` calls it.

    Implement :meth:`generate` as an async generator. The host node owns the conversation,
    the tool rounds, interrupts and metrics; the engine only streams one response.
    """

    kind: ClassVar[str] = "LLM"

    async def prewarm(self, chat: ChatContext) -> None:
        """Get ready to answer ``chat`` fast (optional; default nothing to do).

        The host calls it once it has entered the engine in ``setup``, with a copy of its
        conversation (the system prompt, and any history it was built with): a local model
        evaluates that prefix so the first reply starts at once.
        """

    def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        """Stream the model's response to ``chat``: text deltas and/or complete tool calls.

        Args:
            chat: the conversation so far (a copy: do not keep it; the host updates its own).
            tools: the tools the model may call (empty: answer without calling any).
            step: the tool round of the reply (0: a new reply; n: after n rounds of results).

        The host closes the generator when the user interrupts: stop the model promptly in a
        ``finally`` block. Blocking work goes through ``await self.clock.run_sync(...)``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")

"""Tool results that carry more than the graph's :class:`~voicegraph.graph.ToolResult`."""

from __future__ import annotations

from dataclasses import dataclass

from voicegraph.graph import ToolResult

__all__ = ["SilentToolResult"]


@dataclass(frozen=True, slots=True)
class SilentToolResult(ToolResult):
    """A tool result the LLM records without replying to it.

    Produced for a tool that raised :class:`~voicegraph.nodes.tools.StopResponse` (and by the
    agent layer for a tool that handed off to another agent). An LLM node appends it to its
    chat context like any result; when *every* result of a tool round is silent, it ends the
    reply (``LLMText("", final=True)``) instead of generating again.
    """

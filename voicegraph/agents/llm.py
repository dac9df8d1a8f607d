"""``livekit.agents.llm``'s names that voicegraph has (``from voicegraph.agents import llm``).

``llm.LLM`` is voicegraph's :class:`~voicegraph.nodes.llm.LLMEngine` (the interface every
model implements); ``llm.AgentHandoff`` is the handoff record in a chat context, as in
LiveKit (voicegraph's own name: ``AgentHandoffItem``).

Not provided: ``ChatChunk`` / ``LLMStream`` / ``ChoiceDelta`` (an engine streams
:class:`~voicegraph.nodes.llm.LLMChunk` objects), ``RealtimeModel`` and its events (see
``voicegraph.nodes.realtime``), ``FallbackAdapter`` (``voicegraph.nodes.fallback.FallbackLLM``
takes ``providers=``), ``RawFunctionTool`` / ``ProviderTool`` / ``Toolset`` / ``ToolContext``,
``CacheBreakpoint``, ``AgentConfigUpdate`` items, ``MetricsReport``, the decision / duplex
models: voicegraph has no such objects.
"""

from voicegraph.nodes.llm import AgentHandoffItem as AgentHandoff
from voicegraph.nodes.llm import AudioContent as AudioContent
from voicegraph.nodes.llm import ChatContent as ChatContent
from voicegraph.nodes.llm import ChatContext as ChatContext
from voicegraph.nodes.llm import ChatItem as ChatItem
from voicegraph.nodes.llm import ChatMessage as ChatMessage
from voicegraph.nodes.llm import ChatRole as ChatRole
from voicegraph.nodes.llm import FunctionCall as FunctionCall
from voicegraph.nodes.llm import FunctionCallOutput as FunctionCallOutput
from voicegraph.nodes.llm import ImageContent as ImageContent
from voicegraph.nodes.llm import LLMEngine as LLM
from voicegraph.nodes.tools import FunctionTool as FunctionTool
from voicegraph.nodes.tools import StopResponse as StopResponse
from voicegraph.nodes.tools import ToolError as ToolError
from voicegraph.nodes.tools import function_tool as function_tool

__all__ = [
    "LLM",
    "AgentHandoff",
    "AudioContent",
    "ChatContent",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
    "FunctionTool",
    "ImageContent",
    "StopResponse",
    "ToolError",
    "function_tool",
]

"""The LLM stage: the :class:`LLMNode` host, the :class:`LLMEngine` interface, its engines,
and the chat context.

:class:`LLMNode` is the host node (chat context, streaming, tool rounds, barge-in
truncation); it calls an engine: :class:`LlamaLLM` runs the bundled SmolLM2-135M with
llama.cpp, :class:`ScriptedLLM` plays fixed replies for tests (``GeminiLLM`` is in
``voicegraph.nodes.google``)::

    llm = LLMNode(engine=LlamaLLM(), tools=[get_weather], instructions="Be brief.")
"""

from voicegraph.graph import rehome

from ._chat import AgentHandoffItem as AgentHandoffItem
from ._chat import AudioContent as AudioContent
from ._chat import ChatContent as ChatContent
from ._chat import ChatContext as ChatContext
from ._chat import ChatItem as ChatItem
from ._chat import ChatMessage as ChatMessage
from ._chat import ChatRole as ChatRole
from ._chat import FunctionCall as FunctionCall
from ._chat import FunctionCallOutput as FunctionCallOutput
from ._chat import ImageContent as ImageContent
from ._chat import ReadOnlyChatContext as ReadOnlyChatContext
from ._chunks import LLMChunk as LLMChunk
from ._chunks import LLMMetrics as LLMMetrics
from ._engine import LLMEngine as LLMEngine
from ._llama import LlamaLLM as LlamaLLM
from ._llama_probe import CPUUnsupportedError as CPUUnsupportedError
from ._llama_runtime import bundled_model_path as bundled_model_path
from ._node import DEFAULT_INSTRUCTIONS as DEFAULT_INSTRUCTIONS
from ._node import LLMNode as LLMNode
from ._request import ReplyRequest as ReplyRequest
from ._scripted import ScriptedLLM as ScriptedLLM
from ._scripted import ScriptedReply as ScriptedReply
from ._scripted import ScriptedStep as ScriptedStep
from ._scripted import ScriptedToolCall as ScriptedToolCall

__all__ = [
    "AgentHandoffItem",
    "AudioContent",
    "CPUUnsupportedError",
    "ChatContent",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "DEFAULT_INSTRUCTIONS",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageContent",
    "LLMChunk",
    "LLMEngine",
    "LLMMetrics",
    "LLMNode",
    "LlamaLLM",
    "ReadOnlyChatContext",
    "ReplyRequest",
]

rehome(__name__, globals(), __all__)
# test doubles: their public home is voicegraph.testing
rehome(
    "voicegraph.testing",
    globals(),
    ["ScriptedLLM", "ScriptedReply", "ScriptedStep", "ScriptedToolCall"],
)

"""Test helpers: scripted engines, session-run expectations, a loopback LiveKit server.

Everything a test of a voicegraph agent needs, in one place (as ``livekit.agents`` keeps its
test helpers apart from the API agents are built with):

>>> from voicegraph.testing import ScriptedLLM, ScriptedReply, ScriptedToolCall
>>> lookup = ScriptedToolCall(name="lookup", arguments={"city": "Paris"})
>>> llm = ScriptedLLM(replies=[ScriptedReply(tool_calls=[lookup], text="Sunny."), "Bye."])
>>> type(llm).__module__
'voicegraph.testing'

* Scripted engines, fast and deterministic under a ``VirtualClock``: :class:`ScriptedLLM`
  (:class:`ScriptedReply`, :class:`ScriptedStep`: each tool round scripted on its own,
  possibly computed from the chat; :class:`ScriptedToolCall`), :class:`ScriptedSTT`,
  :class:`ScriptedTTS`.
* What ``await session.run(user_input=...)`` returns and its fluent expectations:
  :class:`RunResult` (``result.expect``: :class:`RunAssert`, :class:`EventAssert`), the run
  events (:class:`ChatMessageEvent`, :class:`FunctionCallEvent`,
  :class:`FunctionCallOutputEvent`, :class:`AgentHandoffEvent`) and the LLM judge's
  instructions (``JUDGE_INSTRUCTIONS``).
* :class:`FakeLiveKitServer` (with :class:`FakeWorker`, :class:`DispatchedJob`): a loopback
  server speaking the agent worker protocol, to test an ``AgentServer`` without LiveKit.
* :func:`mock_tools`: replace an agent class's tools within a ``with`` block (LiveKit's).
* :func:`word_error_rate`: how far a transcript is from the text that was spoken.

The names load on first use, so importing this module costs only what a test uses. Until the
next release they also stay importable from the packages that define them
(``voicegraph.nodes.llm.ScriptedLLM``, ...), but are no longer listed in those packages'
``__all__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicegraph.graph import lazy_exports

if TYPE_CHECKING:
    from voicegraph.nodes.agent import JUDGE_INSTRUCTIONS as JUDGE_INSTRUCTIONS
    from voicegraph.nodes.agent import AgentHandoffEvent as AgentHandoffEvent
    from voicegraph.nodes.agent import ChatMessageEvent as ChatMessageEvent
    from voicegraph.nodes.agent import EventAssert as EventAssert
    from voicegraph.nodes.agent import FunctionCallEvent as FunctionCallEvent
    from voicegraph.nodes.agent import FunctionCallOutputEvent as FunctionCallOutputEvent
    from voicegraph.nodes.agent import RunAssert as RunAssert
    from voicegraph.nodes.agent import RunEvent as RunEvent
    from voicegraph.nodes.agent import RunResult as RunResult
    from voicegraph.nodes.agent import mock_tools as mock_tools
    from voicegraph.nodes.llm import ScriptedLLM as ScriptedLLM
    from voicegraph.nodes.llm import ScriptedReply as ScriptedReply
    from voicegraph.nodes.llm import ScriptedStep as ScriptedStep
    from voicegraph.nodes.llm import ScriptedToolCall as ScriptedToolCall
    from voicegraph.nodes.stt import ScriptedSTT as ScriptedSTT
    from voicegraph.nodes.tts import ScriptedTTS as ScriptedTTS
    from voicegraph.nodes.tts import word_error_rate as word_error_rate
    from voicegraph.runner.worker import DispatchedJob as DispatchedJob
    from voicegraph.runner.worker import FakeLiveKitServer as FakeLiveKitServer
    from voicegraph.runner.worker import FakeWorker as FakeWorker

_LAZY = {
    "AgentHandoffEvent": "voicegraph.nodes.agent",
    "ChatMessageEvent": "voicegraph.nodes.agent",
    "DispatchedJob": "voicegraph.runner.worker",
    "EventAssert": "voicegraph.nodes.agent",
    "FakeLiveKitServer": "voicegraph.runner.worker",
    "FakeWorker": "voicegraph.runner.worker",
    "FunctionCallEvent": "voicegraph.nodes.agent",
    "FunctionCallOutputEvent": "voicegraph.nodes.agent",
    "JUDGE_INSTRUCTIONS": "voicegraph.nodes.agent",
    "RunAssert": "voicegraph.nodes.agent",
    "RunEvent": "voicegraph.nodes.agent",
    "RunResult": "voicegraph.nodes.agent",
    "ScriptedLLM": "voicegraph.nodes.llm",
    "ScriptedReply": "voicegraph.nodes.llm",
    "ScriptedSTT": "voicegraph.nodes.stt",
    "ScriptedStep": "voicegraph.nodes.llm",
    "ScriptedTTS": "voicegraph.nodes.tts",
    "ScriptedToolCall": "voicegraph.nodes.llm",
    "mock_tools": "voicegraph.nodes.agent",
    "word_error_rate": "voicegraph.nodes.tts",
}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)


__all__ = [
    "JUDGE_INSTRUCTIONS",
    "AgentHandoffEvent",
    "ChatMessageEvent",
    "DispatchedJob",
    "EventAssert",
    "FakeLiveKitServer",
    "FakeWorker",
    "FunctionCallEvent",
    "FunctionCallOutputEvent",
    "RunAssert",
    "RunEvent",
    "RunResult",
    "ScriptedLLM",
    "ScriptedReply",
    "ScriptedSTT",
    "ScriptedStep",
    "ScriptedTTS",
    "ScriptedToolCall",
    "mock_tools",
    "word_error_rate",
]

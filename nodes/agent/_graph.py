"""The graphs an :class:`AgentSession` runs: the standard voice graph, or LLM and tools only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voicegraph.graph import ConfigError, Graph, Node
from voicegraph.nodes.llm import LLMNode
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.turn import TurnDetector

from ._controller import AgentController
from ._executor import AgentToolExecutor
from ._voice import VoicePipeline, voice_pipeline

if TYPE_CHECKING:
    from ._session import AgentSession

__all__ = ["build_graph"]


def build_graph(
    session: AgentSession[Any],
    controller: AgentController,
    llm: LLMNode,
    executor: AgentToolExecutor,
    *,
    audio: Node | None,
    output: AudioOutput | None,
) -> tuple[Graph, VoicePipeline | None]:
    """The session's graph: the voice graph around ``audio``, or (without audio) just::

    agent ─(user_turns, requests)─> llm ─(text, feedback)─> agent
                                    llm ─> tools ─(results, feedback)─> llm
    """
    if audio is None:
        g = Graph("agent_session")
        agent = g.add(controller, name="agent")
        llm_node = g.add(llm, name="llm")
        tools = g.add(executor, name="tools")
        g.connect(agent.user_turns, llm_node.turn)
        g.connect(agent.requests, llm_node.requests)
        g.connect(llm_node.text, agent.llm_text, feedback=True)
        g.connect(llm_node.tool_calls, tools.calls)
        g.connect(tools.results, llm_node.tool_results, feedback=True)
        g.check()
        return g, None
    vad = session._vad
    if vad is not None and not (
        "audio" in vad.inputs and {"audio_out", "segments"} <= set(vad.outputs)
    ):
        raise ConfigError(
            f"AgentSession: vad= must be a VAD node with an 'audio' input and 'audio_out' and "
            f"'segments' outputs (like SileroVAD), got a {type(vad).__name__}"
        )
    opts = session.options
    turn = session._turn or TurnDetector(
        min_endpointing_delay=opts.min_endpointing_delay,
        max_endpointing_delay=opts.max_endpointing_delay,
        allow_interruptions=opts.allow_interruptions,
        min_interruption_duration=opts.min_interruption_duration,
        min_interruption_words=opts.min_interruption_words,
        false_interruption_timeout=(
            opts.false_interruption_timeout if opts.resume_false_interruption else None
        ),
    )
    pipeline = voice_pipeline(
        audio,
        vad=session._vad,  # type: ignore[arg-type]
        stt=session._stt,
        turn=turn,
        llm=llm,
        tts=session._tts,
        output=output,
        controller=controller,
        tools=executor,
        name="agent_session",
    )
    return pipeline.graph, pipeline

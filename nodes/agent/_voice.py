"""The standard voice graph: input audio to a spoken reply, with barge-in and playout marks.

::

    source ─> resampler ─> vad ─┬─(audio)──────────> turn ─> llm ─> splitter ─> tts ─> output
                                ├─(segments)─> stt ──┘  ▲     ▲ │                       │
                                └─(audio)────> stt      │     │ │                       │
                                                         │     │ └─> tools ─┐ (feedback) │
                                                         │     └────────────┘            │
                                                         └──── playout marks (feedback) ─┘

With an :class:`AgentController` (what ``AgentSession`` builds), the controller sits between
the turn detector and the LLM and relays the LLM's text to the splitter::

    commands ─> agent    (the session's say / generate_reply / interrupt / update_agent)
    commands ─> turn     (commit_user_turn / clear_user_turn, barge-in allowed per reply)
    turn ─> agent ─(user_turns, requests)─> llm ─(text, feedback)─> agent ─(text)─> splitter
    stt ─(transcripts)─> agent      vad ─(segments)─> agent      output ─(marks)─> agent

The STT node takes the VAD's ``audio_out`` too: a streaming engine (``ElevenLabsRealtimeSTT``)
transcribes it live, a batch engine ignores it. That edge drops its oldest frame when full
for a live input (as the input edge does: a busy STT never stalls the VAD and the turn
detector) and blocks for a file read as fast as possible (nothing lost).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from voicegraph.graph import Graph, Node, Policy
from voicegraph.nodes.audio import Resampler
from voicegraph.nodes.llm import LLMEngine, LLMNode
from voicegraph.nodes.output import AudioOutput, BackgroundAudio
from voicegraph.nodes.stt import STTEngine, STTNode
from voicegraph.nodes.tools import ToolExecutor
from voicegraph.nodes.tts import SentenceSplitter, TTSEngine, TTSNode
from voicegraph.nodes.turn import TurnDetector, TurnEngine
from voicegraph.nodes.vad import VADEngine, VADNode

from ._commands import SessionCommands
from ._conversation import ConversationLog
from ._metrics import TurnMetrics, turn_metrics
from ._stages import as_host

if TYPE_CHECKING:
    from ._controller import AgentController

__all__ = ["MIC_CAPACITY", "VoicePipeline", "voice_pipeline"]

MIC_CAPACITY = 50
"""Frames (1 s of 20 ms audio) the input edge holds before dropping the oldest."""


@dataclass
class VoicePipeline:
    """The standard voice graph and its named stages (see :func:`voice_pipeline`)."""

    graph: Graph
    source: Node
    resampler: Resampler
    vad: VADNode
    stt: STTNode
    turn: TurnDetector
    llm: LLMNode
    splitter: SentenceSplitter
    tts: TTSNode
    output: AudioOutput
    log: ConversationLog
    tools: ToolExecutor | None = None
    extra: dict[str, Node] = field(default_factory=dict)
    controller: AgentController | None = None
    commands: SessionCommands | None = None
    background: BackgroundAudio | None = None

    def turn_metrics(self) -> list[TurnMetrics]:
        """Per-turn latencies of the last run (see :class:`TurnMetrics`).

        With a WAV file as the source and a recording at the output's ``path``, the
        voice-to-voice latency is measured from the audio, as ``voicegraph run`` prints it
        (the recording aligned with the input); otherwise it is left ``None``.
        """
        from voicegraph.nodes.audio import read_mono_wav

        source = getattr(getattr(self.source, "config", None), "path", None)
        agent = self.aligned_recording() if self.input_origin() is not None else None
        if not source or agent is None:
            return turn_metrics(self)
        return turn_metrics(self, user_audio=read_mono_wav(Path(source)), agent_audio=agent)

    def input_origin(self) -> float | None:
        """The clock time of the input's media time 0 (``None``: the source has no media
        time, or has not started)."""
        to_clock = getattr(self.source, "media_to_clock", None)
        origin = to_clock(0.0) if to_clock is not None else None
        return float(origin) if origin is not None else None

    def aligned_recording(self) -> tuple[npt.NDArray[np.int16], int] | None:
        """The output's recording (mono) aligned with the input: sample *i* is the same
        moment as sample *i* of the input (from the input's start when :meth:`input_origin`
        is unknown); ``None`` if the output wrote no recording."""
        from voicegraph.nodes.audio import align_recording, read_mono_wav

        recording = self.output.config.path
        if not recording or not Path(recording).is_file():
            return None
        played, rate = read_mono_wav(Path(recording))
        return align_recording(played, rate, self.input_origin() or 0.0), rate


def voice_pipeline(
    source: Node,
    *,
    vad: VADNode | VADEngine | None = None,
    stt: STTNode | STTEngine | None = None,
    turn: TurnDetector | TurnEngine | None = None,
    llm: LLMNode | LLMEngine | None = None,
    tts: TTSNode | TTSEngine | None = None,
    output: AudioOutput | None = None,
    splitter: SentenceSplitter | None = None,
    log: ConversationLog | None = None,
    sample_rate: int = 16000,
    name: str = "voice",
    controller: AgentController | None = None,
    tools: ToolExecutor | None = None,
    background: BackgroundAudio | None = None,
) -> VoicePipeline:
    """Build the standard voice graph around ``source`` (a node with an ``audio`` output).

    Every stage defaults to the embedded offline model: Silero VAD, Whisper tiny.en, the
    heuristic turn detector, SmolLM2 via llama.cpp, hibari TTS, and an :class:`AudioOutput`.
    Pass an engine to replace a stage's model (``llm=ScriptedLLM(...)`` is wrapped in an
    ``LLMNode``), or a host node for its settings too (``tts=TTSNode(engine=..., frame_ms=10)``;
    ``llm=LLMNode(engine=..., tools=[...])``). When the LLM has tools, a
    :class:`ToolExecutor` is added with a feedback edge back to the LLM (pass ``tools`` to
    choose the executor; it is then added even if the LLM has no tools yet). The input edge
    drops its oldest frame when full (a realtime input never stalls); every other edge
    blocks. With a ``controller`` (an :class:`AgentController`, as ``AgentSession`` builds
    it), the controller is wired between the turn detector, the LLM and the splitter (see
    the module docstring) and applies the playout marks to the LLM's context itself. With
    a ``background`` (a :class:`BackgroundAudio`, as ``AgentSession`` adds), it sits between
    the TTS and the output and mixes background sounds into the agent's audio.

    >>> from voicegraph.nodes.audio import WavSource          # doctest: +SKIP
    >>> p = voice_pipeline(WavSource(path="question.wav"))     # doctest: +SKIP
    >>> await Runner(p.graph).run()                            # doctest: +SKIP
    """
    who = "voice_pipeline"
    g = Graph(name)
    src = g.add(source, name="source")
    # soxr's "quick" quality: no buffering (medium holds 20-100 ms back), and the VAD and the
    # STT hear no difference in 8 kHz of speech band
    quick = Resampler(rate=sample_rate, channels=1, quality="quick")
    resampler = g.add(quick, name="resampler")
    vad_node = g.add(as_host(vad, VADNode, who, "vad") or _default_vad(), name="vad")
    stt_node = g.add(as_host(stt, STTNode, who, "stt") or _default_stt(), name="stt")
    turn_host = as_host(turn, TurnDetector, who, "turn")
    turn_node = g.add(turn_host or TurnDetector(), name="turn")
    llm_node = g.add(as_host(llm, LLMNode, who, "llm") or _default_llm(), name="llm")
    split = g.add(splitter or SentenceSplitter(), name="splitter")
    tts_node = g.add(as_host(tts, TTSNode, who, "tts") or _default_tts(), name="tts")
    out = g.add(output or AudioOutput(), name="output")
    log_node = g.add(log or ConversationLog(), name="log")

    # A live (or paced) input must never stall: drop its oldest audio when the edge is full.
    # A file read as fast as possible is not live: there, dropping would lose speech.
    live = getattr(src.config, "realtime", True)
    policy: Policy = "drop_oldest" if live else "block"
    g.connect(src.audio, resampler.audio, capacity=MIC_CAPACITY, policy=policy)
    g.connect(resampler.audio_out, vad_node.audio)
    g.connect(vad_node.audio_out, turn_node.audio)
    g.connect(vad_node.segments, stt_node.speech)
    g.connect(vad_node.audio_out, stt_node.audio, capacity=MIC_CAPACITY, policy=policy)
    g.connect(stt_node.transcripts, turn_node.transcripts)
    g.connect(turn_node.boundaries, stt_node.boundaries, feedback=True)
    if controller is None:
        g.connect(turn_node.turns, llm_node.turn)
        g.connect(llm_node.text, split.text)
        g.connect(out.marks, llm_node.playout, feedback=True)
    else:
        agent = g.add(controller, name="agent")
        commands = g.add(SessionCommands(), name="commands")
        g.connect(commands.commands, agent.commands, feedback=True)
        g.connect(commands.turn, turn_node.commands, feedback=True)
        g.connect(turn_node.turns, agent.turns)
        g.connect(turn_node.preflight, agent.preflight)
        g.connect(stt_node.transcripts, agent.transcripts)
        g.connect(vad_node.segments, agent.speech)
        g.connect(agent.user_turns, llm_node.turn)
        g.connect(agent.requests, llm_node.requests)
        g.connect(llm_node.text, agent.llm_text, feedback=True)
        g.connect(agent.text, split.text)
        g.connect(out.marks, agent.playout, feedback=True)
    g.connect(split.sentences, tts_node.sentences)
    bg = None
    if background is None:
        g.connect(tts_node.audio, out.audio)
    else:
        bg = g.add(background, name="background")
        like_tts = {"sample_rate": tts_node.sample_rate, "frame_ms": tts_node.config.frame_ms}
        unset = {k: v for k, v in like_tts.items() if k not in bg.config.model_fields_set}
        bg.config = bg.config.model_copy(update=unset)
        g.connect(tts_node.audio, bg.audio)
        # one frame: speech is mixed just before it plays, so a sound stopped now is gone
        # from the speech within a frame or two (not after a queue of it)
        g.connect(bg.audio_out, out.audio, capacity=1)
    g.connect(out.marks, turn_node.playout, feedback=True)
    g.connect(turn_node.playout_control, out.control)
    g.connect(turn_node.turns, log_node.user)
    g.connect(out.marks, log_node.agent)
    executor = None
    if tools is not None or llm_node.tools:
        executor = g.add(tools or ToolExecutor(tools=list(llm_node.tools.values())), name="tools")
        g.connect(llm_node.tool_calls, executor.calls)
        g.connect(executor.results, llm_node.tool_results, feedback=True)
    g.check()
    return VoicePipeline(
        g, src, resampler, vad_node, stt_node, turn_node, llm_node, split, tts_node, out,
        log_node, executor, controller=controller,
        commands=commands if controller is not None else None, background=bg,
    )  # fmt: skip


def _default_vad() -> VADNode:
    from voicegraph.nodes.vad import SileroVAD

    return VADNode(engine=SileroVAD())


def _default_stt() -> STTNode:
    from voicegraph.nodes.stt import WhisperSTT

    return STTNode(engine=WhisperSTT())


def _default_llm() -> LLMNode:
    from voicegraph.nodes.llm import LlamaLLM

    return LLMNode(engine=LlamaLLM())


def _default_tts() -> TTSNode:
    from voicegraph.nodes.tts import HibariTTS

    return TTSNode(engine=HibariTTS())

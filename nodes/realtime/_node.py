"""The :class:`RealtimeNode` host: a realtime engine's session as ports, frames and interrupts."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import Field

from voicegraph.graph import (
    AudioFrame,
    ConfigError,
    In,
    InputError,
    LLMText,
    NodeConfig,
    Out,
    SpeechAudio,
    ToolCall,
    ToolResult,
    Transcript,
    first_error,
)
from voicegraph.nodes._host import EngineHost, EngineSlot
from voicegraph.nodes.llm import DEFAULT_INSTRUCTIONS
from voicegraph.nodes.tools import FunctionTool, ToolLike, load_tools, resolve_tools

from ._engine import (
    AudioDelta,
    InputTranscript,
    RealtimeEngine,
    RealtimeSession,
    ResponseInterrupted,
    TextDelta,
    ToolCallRequest,
    TurnComplete,
)

__all__ = ["MAX_REPLY_WAIT", "RealtimeNode"]

log = logging.getLogger(__name__)

MAX_REPLY_WAIT = 30.0
"""Seconds a reply in progress is awaited after the input ended, at most."""

_Inbox = MemoryObjectReceiveStream[tuple[int, SpeechAudio]]  # (epoch, frame) to emit
_Outbox = MemoryObjectSendStream[tuple[int, SpeechAudio]]


class RealtimeNode(EngineHost[RealtimeEngine]):
    """The realtime (speech-to-speech) stage: a :class:`RealtimeEngine`'s session in a graph.

    ``RealtimeNode(engine=GeminiLive(), tools=[get_weather], instructions="Be brief.")``: the
    engine talks to the model; this node owns the graph side. One session is opened per run
    (with the node's instructions and tools) and closed at its end.

    Ports:
        audio (in): the user's mono audio at the engine's ``input_rate`` (16 kHz for Gemini;
            put a ``Resampler`` before it), streamed as it comes; the model's own voice
            activity detection decides the turns.
        tool_results (in, optional): results of the tool calls, from a ``ToolExecutor``
            (``feedback=True`` edge); required when the node has tools.
        speech (out): the reply's audio at the engine's ``output_rate`` as
            :class:`~voicegraph.graph.SpeechAudio` frames of at most ``frame_ms`` (into an
            :class:`~voicegraph.nodes.output.AudioOutput`); a silent ``frame_ms`` frame with
            ``final=True`` ends each reply. Each audio piece's frames carry the reply text
            that arrived before it (``text``, ``offset`` into the piece, ``text_duration`` the
            piece's length), so playout marks tell (approximately) what was heard. Models
            speak faster than real time: up to ``buffer_seconds`` of audio wait in the node
            for the output, so the engine's events (an interruption above all) are read
            while the reply plays.
        text (out): the reply's words as :class:`~voicegraph.graph.LLMText` deltas,
            ``LLMText("", final=True)`` at the end of a reply.
        transcripts (out): the user's words: interim :class:`~voicegraph.graph.Transcript`
            frames (the whole text so far), then a final one when the engine says the turn is
            over.
        tool_calls (out): the model's calls as :class:`~voicegraph.graph.ToolCall` (with the
            provider's ids; results go back by id).

    Events map to voicegraph's control flow: on the engine's :class:`ResponseInterrupted` the
    node interrupts everything downstream (``self.interrupt("barge-in")``): the audio output
    stops at once and the cut-off reply's audio still in the node or on the edges is dropped
    (the provider cuts the reply on its side); tool calls still pending are forgotten.
    :class:`TurnComplete` ends the reply (the final frames). ``pts`` counts seconds since the
    reply's first frame.

    An interrupt that reaches the node from the graph (an upstream node's barge-in, the
    runner's ``interrupt``) cuts the reply the same way: the queued audio (frames are
    queued with the epoch they belong to, so none of them goes out in the new epoch), the
    reply's text and the pending tool calls are dropped, and the session is asked to stop
    the reply (:meth:`RealtimeSession.cancel_response`). Until the engine ends that reply
    (:class:`TurnComplete` or :class:`ResponseInterrupted`) its further audio and text are
    dropped too, so an engine that cannot cancel (Gemini Live) is muted instead.

    End of the run: once the audio input has ended (and no tool result is due), the node
    waits until the model has been quiet for ``end_wait`` seconds, counted from the end of
    the input or the last event, whichever is later; a reply in progress is awaited to its
    end, for at most :data:`MAX_REPLY_WAIT` seconds. Then the session closes.

    Reconnecting is the engine's job (it is provider-specific: Gemini resumes its session
    with a handle); an error it cannot recover from fails the node with the engine's
    :class:`~voicegraph.graph.ProviderError`.

    **Engines.** :attr:`engine` is the engine in use; :meth:`set_engine` swaps it for the
    next session (the next run: the conversation lives on the provider's side, so it is not
    switched mid-run). The rates are fixed when the node is built (the ports' rates, checked
    before the run), so another engine must use the same rates. The built-with engine is
    entered in :meth:`setup`, others on first use; all are closed with the node. A graph file
    stores the built-with engine (type and config; never an API key) under ``parts``.

    Args:
        engine: the realtime model (a :class:`RealtimeEngine`, e.g. ``GeminiLive``).
        tools: FunctionTools, functions or import paths offered to the model.

    Config:
        instructions: the system instruction (default: the LLM nodes' brief spoken style).
        tools: import paths of the tools (the constructor also takes FunctionTools/functions).
        frame_ms: longest output frame in milliseconds (default 20).
        buffer_seconds: reply audio held for the output, at most (default 60; when it is
            full, reading the engine's events waits).
        end_wait: seconds of quiet to wait for after the input ended (default 1.0).

    Raises:
        ConfigError: ``engine`` is not a :class:`RealtimeEngine`, or a tool cannot be loaded.
    """

    class Config(NodeConfig):
        instructions: str = DEFAULT_INSTRUCTIONS
        tools: list[str] = []
        frame_ms: int = Field(20, ge=5, le=200)
        buffer_seconds: float = Field(60.0, gt=0.0, le=600.0)
        end_wait: float = Field(1.0, ge=0.0)

    config: Config
    restart_on_interrupt = False
    audio: In[AudioFrame]
    tool_results: In[ToolResult] = In(required=False)
    speech: Out[SpeechAudio]
    text: Out[LLMText]
    transcripts: Out[Transcript]
    tool_calls: Out[ToolCall]

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        engine: RealtimeEngine,
        tools: Sequence[ToolLike] | None = None,
        **settings: Any,
    ) -> None:
        extra: list[FunctionTool] = []
        if tools is not None:
            paths, extra = resolve_tools(tools)
            settings["tools"] = paths
        super().__init__(config, **settings)
        self._slot: EngineSlot[RealtimeEngine] = EngineSlot(
            self, RealtimeEngine, engine, "GeminiLive"
        )
        self._tools = load_tools(self.config.tools, extra)
        self.audio.sample_rate = engine.input_rate
        self.speech.sample_rate = engine.output_rate
        self._pending: set[str] = set()  # ids of tool calls whose results are due
        self._said = ""  # reply text not yet attached to audio
        self._pts = 0.0
        self._in_reply = False  # the model is sending a reply
        self._playing = 0  # frames queued for the output, or being emitted
        self._inbox: _Inbox | None = None  # the queued frames, while a session runs
        self._session: RealtimeSession | None = None
        self._muted = False  # the graph cut the reply: drop its rest until the engine ends it
        self._last_event = 0.0

    @property
    def tools(self) -> dict[str, FunctionTool]:
        """The tools offered to the model, by name (a copy)."""
        return dict(self._tools)

    def default_name(self) -> str:
        """``"realtime"``."""
        return "realtime"

    # ------------------------------------------------------------------ engines

    def check_fit(self, engine: RealtimeEngine) -> None:
        """Refuse an engine whose rates are not this node's (the ports' rates are fixed when
        the node is built)."""
        name = self.name or type(self).__name__
        rates = (engine.input_rate, engine.output_rate)
        if rates != (self.audio.sample_rate, self.speech.sample_rate):
            raise ConfigError(
                f"{name}: {engine.label()} takes {rates[0]} Hz and speaks at {rates[1]} Hz; "
                f"this node was built for {self.audio.sample_rate} Hz in and "
                f"{self.speech.sample_rate} Hz out (build another RealtimeNode for it)"
            )

    # ------------------------------------------------------------------ lifecycle

    async def setup(self) -> None:
        """Check that tool calls can come back, then enter the engine (no session yet)."""
        if self._tools and not self.connected(self.tool_results):
            raise ConfigError(
                f"realtime node {self.name!r} has tools but its tool_results input is not "
                "connected; add a ToolExecutor: g.connect(node.tool_calls, executor.calls) and "
                "g.connect(executor.results, node.tool_results, feedback=True)"
            )
        await self._slot.ready()

    async def aclose(self) -> None:
        """Close every engine this node entered."""
        await self._slot.aclose()
        await super().aclose()

    def awaiting_feedback(self) -> bool:
        """Keep running at the end of the input while tool results are due."""
        return bool(self._pending)

    # ------------------------------------------------------------------ the session

    async def run(self) -> None:
        """Open a session, stream the audio up, turn the engine's events into frames."""
        engine = await self._slot.ready()
        self._reset_reply()
        self._pending.clear()
        self._playing = 0
        self._muted = False
        frames = math.ceil(self.config.buffer_seconds * 1000 / self.config.frame_ms) + 1
        outbox, inbox = anyio.create_memory_object_stream[tuple[int, SpeechAudio]](frames)
        session = await engine.connect(self.config.instructions, list(self._tools.values()))
        self._last_event = self.clock.now()
        self._inbox, self._session = inbox, session
        try:
            async with session, outbox, inbox, anyio.create_task_group() as tg:
                tg.start_soon(self._play, inbox)
                tg.start_soon(self._receive, session, outbox)
                async for _port, frame in self.frames():
                    if isinstance(frame, AudioFrame):
                        await session.push_audio(self._samples(frame, engine))
                    elif isinstance(frame, ToolResult):
                        self._pending.discard(frame.call_id)
                        await session.send_tool_result(
                            frame.call_id, frame.name, frame.output, is_error=frame.is_error
                        )
                await self._wait_for_answers()
                tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        finally:
            self._inbox = self._session = None

    async def on_interrupt(self, event: Any) -> None:
        """The graph cut the reply (not the engine): drop its queued audio, text and tool
        calls, ask the session to stop it and drop the rest of it until the engine ends it."""
        reply = self._in_reply or bool(self._said)  # the engine has not ended it
        self._drop_reply()
        session = self._session
        if session is None or not reply:
            return
        self._muted = True
        try:
            await session.cancel_response()
        except Exception as exc:  # the reply is muted anyway; the iteration reports failures
            log.warning("%s: cancelling the reply failed: %r", self.name, exc)

    def _samples(self, frame: AudioFrame, engine: RealtimeEngine) -> npt.NDArray[np.int16]:
        rate = self.audio.sample_rate
        if frame.sample_rate != rate or frame.channels != 1:
            raise InputError(
                f"{self.name}: {engine.label()} needs {rate} Hz mono audio, got "
                f"{frame.sample_rate} Hz with {frame.channels} channel(s); put a Resampler "
                "before it"
            )
        return frame.pcm

    async def _wait_for_answers(self) -> None:
        """After the input ended: let a reply in progress (or about to start) finish."""
        wait = self.config.end_wait
        now = self.clock.now()
        self._last_event = max(self._last_event, now)
        give_up = now + MAX_REPLY_WAIT
        while self.clock.now() < give_up:
            quiet = self.clock.now() - self._last_event
            if not self._in_reply and not self._playing and quiet >= wait:
                return
            await self.clock.sleep(min(0.05, wait) or 0.01)

    async def _play(self, inbox: _Inbox) -> None:
        """Emit the queued reply audio (at the output's pace: the edge pushes back); frames
        queued before an interrupt (an older epoch) are dropped."""
        async for epoch, frame in inbox:
            if epoch == self.epoch:
                await self.emit(self.speech, frame)
            self._playing -= 1

    async def _receive(self, session: RealtimeSession, outbox: _Outbox) -> None:
        async for event in session:
            self._last_event = self.clock.now()
            if self._muted:
                if isinstance(event, TurnComplete | ResponseInterrupted):
                    self._muted = False
                    self._reset_reply()
                if not isinstance(event, InputTranscript | ToolCallRequest):
                    continue  # the rest of the reply the graph cut off
            if isinstance(event, AudioDelta):
                for frame in self._frames(event.pcm):
                    self._playing += 1
                    await outbox.send((self.epoch, frame))
            elif isinstance(event, TextDelta):
                self._said += event.text
                await self.emit(self.text, LLMText(event.text))
            elif isinstance(event, InputTranscript):
                await self.emit(self.transcripts, Transcript(event.text, final=event.final))
            elif isinstance(event, ToolCallRequest):
                self._pending.add(event.call_id)
                await self.emit(
                    self.tool_calls, ToolCall(event.call_id, event.name, event.arguments)
                )
            elif isinstance(event, ResponseInterrupted):
                self._drop_reply()
                self.interrupt("barge-in")
            elif isinstance(event, TurnComplete):
                self._playing += 1
                await outbox.send((self.epoch, self._final_frame()))
                await self.emit(self.text, LLMText("", final=True))
                self._reset_reply()

    def _frames(self, pcm: npt.NDArray[np.int16]) -> list[SpeechAudio]:
        """One audio piece as frames of at most ``frame_ms``, tagged with the text before it."""
        rate = self.speech.sample_rate or RealtimeEngine.output_rate
        step = max(1, rate * self.config.frame_ms // 1000)
        pcm = pcm.reshape(-1, 1)
        text, self._said = self._said.strip(), ""
        duration = len(pcm) / rate
        self._in_reply = True
        frames = []
        for start in range(0, len(pcm), step):
            chunk = pcm[start : start + step]
            frames.append(SpeechAudio(chunk, rate, pts=self._pts, text=text, offset=start / rate,
                                      text_duration=duration))  # fmt: skip
            self._pts += len(chunk) / rate
        return frames

    def _final_frame(self) -> SpeechAudio:
        rate = self.speech.sample_rate or RealtimeEngine.output_rate
        samples = max(1, rate * self.config.frame_ms // 1000)
        text, self._said = self._said.strip(), ""
        silence = np.zeros((samples, 1), np.int16)
        return SpeechAudio(silence, rate, pts=self._pts, text=text, offset=0.0,
                           text_duration=samples / rate, final=True)  # fmt: skip

    def _drop_reply(self) -> None:
        """Forget the reply in progress: its queued audio, its text, its pending tool calls."""
        inbox = self._inbox
        while inbox is not None:
            try:
                inbox.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
            self._playing -= 1
        self._reset_reply()
        self._pending.clear()

    def _reset_reply(self) -> None:
        self._said = ""
        self._pts = 0.0
        self._in_reply = False

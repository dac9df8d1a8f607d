"""Pipeline hooks: an agent's ``llm_node``, ``tts_node``, ``stt_node`` and
``transcription_node`` overrides (LiveKit's), as the behaviour of the graph's stages.

The graph keeps its host nodes; what an override replaces is the host's call to its engine,
for as long as the agent that overrides it is active (:func:`apply_pipeline_hooks` runs at
every agent switch, and clears what the new agent does not override):

* ``llm_node(chat_ctx, tools, model_settings)`` generates instead of the LLM engine
  (``LLMNode.generate_hook``): it yields ``str`` or :class:`LLMChunk` (or LiveKit-style
  chunks with a ``delta``), or returns one of those. The host still owns the history, the tool
  rounds, interrupts and metrics.
* ``tts_node(text, model_settings)`` speaks a reply (``TTSNode.stream_hook``): it receives
  the reply's sentences as they come and yields audio frames.
* ``stt_node(audio, model_settings)`` transcribes one VAD segment (``STTNode.transcribe_hook``):
  it receives the segment's audio and yields ``str`` (or LiveKit-style final transcript
  events).
* ``transcription_node(text, model_settings)`` rewrites the text the history records for
  each generation step (``LLMNode.transcription_hook``).

``Agent.default.<hook>(agent, ...)`` is the stage's own behaviour, to call from an override.
An exception in an override is reported as an ``error`` session event and ends that piece
of work (the reply, the transcript) as if the override had produced nothing more.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import numpy as np

from voicegraph.graph import AudioFrame, Node, SpeechAudio, SpeechSegment, UsageError
from voicegraph.nodes._closing import close_stream
from voicegraph.nodes.llm import ChatContext, FunctionCall, LLMChunk, LLMEngine, LLMNode
from voicegraph.nodes.stt import STTEngine, STTNode
from voicegraph.nodes.tools import FunctionTool
from voicegraph.nodes.tts import (
    SpeechPiece,
    TTSEngine,
    TTSNode,
    TTSStream,
    resample_linear,
    trim_silence,
)

from ._events import ErrorEvent, SessionEvent

if TYPE_CHECKING:
    from ._agent import Agent

__all__ = ["DefaultNodes", "ModelSettings", "PipelineHooks", "apply_pipeline_hooks"]

log = logging.getLogger(__name__)

_TEXT_BUFFER = 64  # sentences a hooked TTS reply holds before the host waits


@dataclass
class ModelSettings:
    """Settings a pipeline hook is called with (LiveKit's ``ModelSettings``).

    Attributes:
        tool_choice: ``"auto"`` when tools are offered to this generation, ``"none"`` when
            not (``None``: not given, for the stages without tools).
    """

    tool_choice: str | None = None


@dataclass
class _Stages:
    """What the stages of one agent work with right now (read by ``Agent.default``)."""

    llm: tuple[LLMEngine, int] | None = None
    tts: tuple[TTSEngine, int, int] | None = None  # engine, frame samples, the host's rate
    stt: STTEngine | None = None
    report: Callable[[SessionEvent], None] = field(default=lambda event: None)


_STAGES: weakref.WeakKeyDictionary[Any, _Stages] = weakref.WeakKeyDictionary()

_HOOKS = ("llm_node", "tts_node", "stt_node", "transcription_node")


def _stages(agent: Any, hook: str) -> _Stages:
    stages = _STAGES.get(agent)
    if stages is None:
        raise UsageError(
            f"Agent.default.{hook}({agent!r}, ...) runs inside the agent's own {hook} while "
            "the agent is active in a session; start it with session.start(agent)"
        )
    return stages


def overrides(agent: Any, hook: str) -> bool:
    """Whether ``agent``'s class overrides the pipeline hook ``hook``."""
    return getattr(type(agent), hook, None) is not getattr(PipelineHooks, hook)


# ---------------------------------------------------------------------- the defaults


class DefaultNodes:
    """The stages' own behaviour, as ``Agent.default.<hook>(agent, ...)`` (LiveKit's
    ``Agent.default``): call it from an override to run the stage as it would run without it.
    """

    @staticmethod
    async def llm_node(
        agent: Agent,
        chat_ctx: ChatContext,
        tools: Sequence[FunctionTool],
        model_settings: ModelSettings,
    ) -> AsyncIterator[LLMChunk]:
        """Stream the LLM stage's engine (the agent's own ``llm=`` or the session's)."""
        stages = _stages(agent, "llm_node")
        if stages.llm is None:
            raise UsageError(
                f"Agent.default.llm_node({agent!r}, ...) is called from the agent's llm_node "
                "while it generates; the session's LLM has not asked it for a reply yet"
            )
        engine, step = stages.llm
        offered = [] if model_settings.tool_choice == "none" else list(tools)
        stream = engine.generate(chat_ctx, offered, step=step)
        try:
            async for chunk in stream:
                yield chunk
        finally:
            await close_stream(stream, engine.label(), clock=engine.clock)

    @staticmethod
    async def tts_node(
        agent: Agent, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[SpeechAudio]:
        """Speak ``text`` (the reply's sentences) with the TTS stage's engine: one
        :class:`SpeechAudio` per sentence, tagged with its words, at the host's rate."""
        stages = _stages(agent, "tts_node")
        if stages.tts is None:
            raise UsageError(
                f"Agent.default.tts_node({agent!r}, ...) is called from the agent's tts_node "
                "while it speaks; the session has no TTS stage, or it has not spoken yet"
            )
        engine, samples, rate = stages.tts
        async for sentence in text:
            words = sentence.strip()
            if not words:
                continue
            pcm = await _speak(engine, words, samples, rate)
            if len(pcm):
                yield SpeechAudio(pcm, rate, text=words, text_duration=len(pcm) / rate)

    @staticmethod
    async def stt_node(
        agent: Agent, audio: AsyncIterable[AudioFrame], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        """Transcribe ``audio`` (a speech segment) with the STT stage's engine; yields its
        words (nothing if there are none)."""
        stages = _stages(agent, "stt_node")
        if stages.stt is None:
            raise UsageError(
                f"Agent.default.stt_node({agent!r}, ...) is called from the agent's stt_node "
                "while it transcribes; the session has no STT stage, or it has not heard speech"
            )
        engine = stages.stt
        segment = _segment([frame async for frame in audio])
        if segment is None:
            return
        if engine.streaming:  # a live session for this one segment: no interim words
            session = await engine.stream()
            try:
                await session.push(segment.pcm[:, 0])
                words = await session.commit()
            finally:
                await session.aclose()
        else:
            words = await engine.transcribe(segment)
        if words.strip():
            yield words.strip()

    @staticmethod
    async def transcription_node(
        agent: Agent, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterator[str]:
        """The text as generated."""
        async for delta in text:
            yield delta


async def _speak(engine: TTSEngine, text: str, samples: int, rate: int) -> np.ndarray[Any, Any]:
    """``text`` spoken by ``engine`` as int16 samples ``(n, 1)`` at ``rate``, silence trimmed."""
    if engine.streaming:  # one stream per sentence (sent whole, then read out)
        stream = await engine.stream(samples)
        try:
            await stream.send(text, final=True)
            pieces = [piece.pcm.reshape(-1) async for batch in stream for piece in batch]
        finally:
            await stream.aclose()
        audio = np.concatenate(pieces) if pieces else np.zeros(0, np.int16)
        return audio.astype(np.int16).reshape(-1, 1)
    parts = await engine.synthesize(text)
    floats = [
        trim_silence(resample_linear(np.asarray(part, np.float32), engine.sample_rate, rate), rate)
        for part in parts
    ]
    audio = np.concatenate(floats) if floats else np.zeros(0, np.float32)
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16).reshape(-1, 1)


def _segment(frames: list[AudioFrame]) -> SpeechSegment | None:
    """The speech segment ``frames`` make up (the one given, if passed through unchanged)."""
    if not frames:
        return None
    if len(frames) == 1 and isinstance(frames[0], SpeechSegment):
        return frames[0]
    first, last = frames[0], frames[-1]
    pcm = np.concatenate([f.pcm[:, :1] for f in frames])
    end = last.pts + len(last.pcm) / last.sample_rate
    return SpeechSegment(pcm, first.sample_rate, pts=first.pts, speech_start=first.pts,
                         speech_end=end)  # fmt: skip


# ---------------------------------------------------------------------- the overridable hooks


class PipelineHooks:
    """The pipeline hooks of :class:`~voicegraph.nodes.agent.Agent` (override them in a
    subclass, as in LiveKit). Each default runs ``Agent.default.<hook>(self, ...)``."""

    default = DefaultNodes
    """The stages' own behaviour (``Agent.default.llm_node(self, chat_ctx, tools, settings)``)."""

    def llm_node(
        self, chat_ctx: ChatContext, tools: list[FunctionTool], model_settings: ModelSettings
    ) -> Any:
        """Generate the reply to ``chat_ctx``: yield ``str`` or ``LLMChunk`` (or return one).

        Override it to filter or rewrite what the model says, or to answer without it; call
        ``Agent.default.llm_node(self, chat_ctx, tools, model_settings)`` for the model's own
        stream. It runs for every generation step (tool rounds included).
        """
        return DefaultNodes.llm_node(self, chat_ctx, tools, model_settings)  # type: ignore[arg-type]

    def tts_node(self, text: AsyncIterable[str], model_settings: ModelSettings) -> Any:
        """Speak a reply: ``text`` yields its sentences, yield audio frames.

        Override it to change what is spoken (pronunciations) or the audio; pass the text on
        to ``Agent.default.tts_node(self, text, model_settings)`` for the engine's audio.
        Frames of the default (``SpeechAudio``) carry the words they speak; plain audio
        frames are played too, but an interruption cannot tell which of their words were
        heard.
        """
        return DefaultNodes.tts_node(self, text, model_settings)  # type: ignore[arg-type]

    def stt_node(self, audio: AsyncIterable[AudioFrame], model_settings: ModelSettings) -> Any:
        """Transcribe one speech segment: ``audio`` yields its audio, yield its words (``str``).

        ``Agent.default.stt_node(self, audio, model_settings)`` runs the STT engine.
        """
        return DefaultNodes.stt_node(self, audio, model_settings)  # type: ignore[arg-type]

    def transcription_node(self, text: AsyncIterable[str], model_settings: ModelSettings) -> Any:
        """Rewrite the reply's text as the conversation records it (the spoken text stays).

        ``text`` yields one generation step's text deltas; yield the text to record.
        """
        return DefaultNodes.transcription_node(self, text, model_settings)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- into the hosts


def apply_pipeline_hooks(
    agent: Agent, llm: LLMNode, stages: dict[str, Node], emit: Callable[[SessionEvent], None]
) -> None:
    """Set the hosts' hooks to ``agent``'s overrides (and clear the ones it does not override).

    Args:
        agent: the agent becoming active.
        llm: the session's LLM node.
        stages: the session's other stages by kind (``"stt"``, ``"tts"``...).
        emit: reports a hook's failure (an ``error`` session event).
    """
    state = _STAGES.setdefault(agent, _Stages())
    state.report = _weakly(emit)  # the table is keyed weakly by the agent: hold no session
    llm.generate_hook = _llm_hook(agent, state) if overrides(agent, "llm_node") else None
    llm.transcription_hook = (
        _transcription_hook(agent, state) if overrides(agent, "transcription_node") else None
    )
    tts, stt = stages.get("tts"), stages.get("stt")
    if isinstance(tts, TTSNode):
        tts.stream_hook = _tts_hook(agent, state, tts) if overrides(agent, "tts_node") else None
    if isinstance(stt, STTNode):
        stt.transcribe_hook = _stt_hook(agent, state) if overrides(agent, "stt_node") else None


def _weakly(emit: Callable[[SessionEvent], None]) -> Callable[[SessionEvent], None]:
    """``emit`` without a strong reference to its object (a bound method's session): the
    session references the agent, and ``_STAGES`` must not keep the agent alive."""
    if not inspect.ismethod(emit):
        return emit
    method = weakref.WeakMethod(emit)

    def report(event: SessionEvent) -> None:
        target = method()
        if target is not None:
            target(event)

    return report


def _report(state: _Stages, agent: Any, hook: str, exc: Exception) -> None:
    log.error("%s.%s failed: %s", agent.id, hook, exc, exc_info=exc)
    state.report(ErrorEvent(error=exc, source=f"{agent.id}.{hook}"))


async def _items(result: Any, hook: str) -> AsyncGenerator[Any, None]:
    """What a hook produced, item by item: it may be an async iterable, or a coroutine
    returning one, a single item or ``None``."""
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        return
    if isinstance(result, AsyncIterable):
        iterator = aiter(result)
        try:
            async for item in iterator:
                yield item
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()
        return
    if isinstance(result, str | LLMChunk | AudioFrame):
        yield result
        return
    raise UsageError(
        f"{hook} returned a {type(result).__name__}; return an async iterable (an async "
        "generator), one item, or None"
    )


async def _from_list(values: Sequence[Any]) -> AsyncIterator[Any]:
    for value in values:
        yield value


# -- LLM


def _llm_hook(agent: Any, state: _Stages) -> Any:
    def generate(
        engine: LLMEngine, chat: ChatContext, tools: list[FunctionTool], step: int
    ) -> AsyncIterator[LLMChunk]:
        return _generate(agent, state, engine, chat, tools, step)

    return generate


async def _generate(
    agent: Any,
    state: _Stages,
    engine: LLMEngine,
    chat: ChatContext,
    tools: list[FunctionTool],
    step: int,
) -> AsyncIterator[LLMChunk]:
    state.llm = (engine, step)
    settings = ModelSettings(tool_choice="auto" if tools else "none")
    try:
        result = agent.llm_node(chat, list(tools), settings)
        async with aclosing(_items(result, f"{agent.id}.llm_node")) as items:
            async for item in items:
                for chunk in _chunks(item, agent):
                    yield chunk
    except Exception as exc:  # the reply ends here; the session goes on
        _report(state, agent, "llm_node", exc)


def _chunks(item: Any, agent: Any) -> list[LLMChunk]:
    """``item`` (``str``, ``LLMChunk``, or a LiveKit-style chunk with a ``delta``) as chunks."""
    if isinstance(item, LLMChunk):
        return [item]
    if isinstance(item, str):
        return [LLMChunk(text=item)] if item else []
    delta = getattr(item, "delta", None)
    if delta is None:
        raise UsageError(
            f"{agent.id}.llm_node yielded a {type(item).__name__}; yield str or LLMChunk"
        )
    chunks = [LLMChunk(text=delta.content)] if getattr(delta, "content", None) else []
    for call in getattr(delta, "tool_calls", None) or ():
        tool = FunctionCall(call_id=call.call_id, name=call.name, arguments=call.arguments)
        chunks.append(LLMChunk(tool_call=tool))
    return chunks


def _transcription_hook(agent: Any, state: _Stages) -> Any:
    async def transcribe(deltas: list[str]) -> str | None:
        hook = f"{agent.id}.transcription_node"
        try:
            result = agent.transcription_node(_from_list(deltas), ModelSettings())
            async with aclosing(_items(result, hook)) as items:
                return "".join([str(item) async for item in items])
        except Exception as exc:  # the text stays as generated
            _report(state, agent, "transcription_node", exc)
            return None

    return transcribe


# -- STT


def _stt_hook(agent: Any, state: _Stages) -> Any:
    async def transcribe(engine: STTEngine, segment: SpeechSegment) -> str:
        state.stt = engine
        hook = f"{agent.id}.stt_node"
        try:
            result = agent.stt_node(_from_list([segment]), ModelSettings())
            async with aclosing(_items(result, hook)) as items:
                words = [_words(item, hook) async for item in items]
        except Exception as exc:  # no transcript for this segment
            _report(state, agent, "stt_node", exc)
            return ""
        return " ".join(w.strip() for w in words if w.strip())

    return transcribe


def _words(item: Any, hook: str) -> str:
    """The final words in ``item``: a ``str``, or a LiveKit-style final transcript event."""
    if isinstance(item, str):
        return item
    kind = getattr(item, "type", None)
    alternatives = getattr(item, "alternatives", None)
    if kind is None:
        raise UsageError(f"{hook} yielded a {type(item).__name__}; yield str")
    if str(getattr(kind, "value", kind)) == "final_transcript" and alternatives:
        return str(alternatives[0].text)
    return ""  # interim, start or end of speech: no final words


# -- TTS


def _tts_hook(agent: Any, state: _Stages, host: TTSNode) -> Any:
    async def open_stream(engine: TTSEngine, samples: int) -> TTSStream:
        state.tts = (engine, samples, host.sample_rate)
        return _HookedSpeech(agent, state, samples, host.sample_rate)

    return open_stream


class _HookedSpeech(TTSStream):
    """A reply spoken by an agent's ``tts_node``, as a stream the TTS host reads.

    The host sends sentences and reads pieces from one task, and closes the stream from
    another on an interrupt: the override runs one step at a time inside ``__anext__``,
    under a cancel scope that :meth:`aclose` cancels, so it stops at once.
    """

    def __init__(self, agent: Any, state: _Stages, samples: int, rate: int) -> None:
        self._agent, self._state = agent, state
        self._samples, self._rate = samples, rate
        self._send, self._receive = anyio.create_memory_object_stream[str](_TEXT_BUFFER)
        self._frames: AsyncGenerator[Any, None] | None = None
        self._scope: anyio.CancelScope | None = None
        self._closed = False

    async def send(self, text: str, *, final: bool = False) -> None:
        if self._closed:
            return
        if text:
            try:
                await self._send.send(text)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the override stopped reading
        if final:
            self._send.close()

    def __aiter__(self) -> AsyncIterator[Sequence[SpeechPiece]]:
        return self

    async def __anext__(self) -> Sequence[SpeechPiece]:
        if self._frames is None:
            self._frames = self._run()
        while not self._closed:
            with anyio.CancelScope() as scope:
                self._scope = scope
                try:
                    frame = await anext(self._frames)
                except StopAsyncIteration:
                    self._closed = True
                    self._receive.close()  # the override is done: sends return at once
                    break
                finally:
                    self._scope = None
            if scope.cancel_called:  # closed meanwhile (it yielded despite the cancel)
                self._closed = True
                await self._frames.aclose()
                break
            pieces = self._pieces(frame)
            if pieces:
                return pieces
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._send.close()
        self._receive.close()  # a send waiting for room fails (and returns) at once
        closed, self._closed = self._closed, True
        if self._scope is not None:  # the override is running: stop it where it is
            self._scope.cancel()
        elif not closed and self._frames is not None:
            await self._frames.aclose()

    async def _texts(self) -> AsyncIterator[str]:
        async with self._receive:
            async for text in self._receive:
                yield text

    async def _run(self) -> AsyncGenerator[Any, None]:
        agent, hook = self._agent, f"{self._agent.id}.tts_node"
        try:
            result = agent.tts_node(self._texts(), ModelSettings())
            async with aclosing(_items(result, hook)) as frames:
                async for frame in frames:
                    yield frame
        except Exception as exc:  # the reply ends here; the session goes on
            _report(self._state, agent, "tts_node", exc)

    def _pieces(self, frame: Any) -> list[SpeechPiece]:
        """``frame`` (an ``AudioFrame``, or a ``livekit.rtc.AudioFrame``) as pieces at the
        host's rate, each at most a host frame long."""
        if not isinstance(frame, AudioFrame):
            if not hasattr(frame, "samples_per_channel"):
                raise UsageError(
                    f"{self._agent.id}.tts_node yielded a {type(frame).__name__}; yield audio "
                    "frames (voicegraph AudioFrame or livekit.rtc.AudioFrame)"
                )
            from voicegraph.nodes.audio import from_rtc

            frame = from_rtc(frame)
        pcm = frame.pcm.astype(np.float32).mean(axis=1) / 32768.0
        if frame.sample_rate != self._rate:
            pcm = resample_linear(pcm, frame.sample_rate, self._rate)
        audio = (np.clip(pcm, -1.0, 1.0) * 32767.0).astype(np.int16)
        text, offset, whole = "", 0.0, len(audio) / self._rate
        if isinstance(frame, SpeechAudio):
            text, offset, whole = frame.text, frame.offset, frame.text_duration
        step = self._samples
        return [
            SpeechPiece(
                audio[i : i + step].reshape(-1, 1), text, offset=offset + i / self._rate,
                duration=whole,
            )
            for i in range(0, len(audio), step)
        ]  # fmt: skip

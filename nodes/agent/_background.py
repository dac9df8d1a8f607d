"""BackgroundAudioPlayer: LiveKit's background-audio API over the session's mixer node.

::

    session = AgentSession(...)
    await session.start(agent, audio=..., output=...)
    player = BackgroundAudioPlayer(
        ambient_sound=AudioConfig(BuiltinAudioClip.OFFICE_AMBIENCE, volume=0.8),
        thinking_sound=BuiltinAudioClip.KEYBOARD_TYPING,
    )
    await player.start(room=ctx.room, agent_session=session)
    handle = player.play("chime.wav")      # a one-off sound; player.play(..., loop=True)
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any, TypeAlias

from voicegraph.graph import ConfigError, UsageError
from voicegraph.nodes.output import (
    AudioConfig,
    AudioSource,
    BackgroundAudio,
    PlayHandle,
    Sound,
    prepare_sound,
)
from voicegraph.nodes.tts import TTSNode

from ._events import AgentStateChangedEvent

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ._session import AgentSession

__all__ = ["THINKING_FADE", "BackgroundAudioPlayer", "SoundChoice"]

SoundChoice: TypeAlias = AudioSource | AudioConfig | list[AudioConfig]
"""What ``ambient_sound``, ``thinking_sound`` and :meth:`BackgroundAudioPlayer.play` take."""

THINKING_FADE = 0.1
"""Seconds the thinking sound fades out over when the agent stops thinking (unless its
``AudioConfig`` sets ``fade_out``)."""


class BackgroundAudioPlayer:
    """Ambient and "thinking" sounds under the agent's voice (LiveKit's
    ``BackgroundAudioPlayer``).

    voicegraph mixes them into the agent's own audio output: every session with audio has a
    :class:`~voicegraph.nodes.output.BackgroundAudio` node between its TTS and its output,
    silent until this player starts sounds in it. :meth:`start` finds that node in the
    session's graph, loops the ambient sound in it, and plays the thinking sound while the
    agent's state is ``"thinking"`` (it stops, fading out over :data:`THINKING_FADE`, when
    the state changes). An interrupt of the agent's speech does not stop these sounds.

    Sources: a :class:`~voicegraph.nodes.output.BuiltinAudioClip` (synthesized stand-ins
    for LiveKit's clips), an audio file path (WAV, Ogg, FLAC), or an async iterator of audio
    frames; wrapped in an :class:`~voicegraph.nodes.output.AudioConfig` for volume, fades and
    a ``probability`` when a list is given (one is chosen per play, maybe none).

    Args:
        ambient_sound: looped for the whole session (a stream plays until it ends).
        thinking_sound: played while the agent is thinking.
        stream_timeout_ms: accepted for LiveKit compatibility (voicegraph reads streams
            ahead instead of timing them out).
        rng: the random source for choosing among a list (default: the ``random`` module).
    """

    def __init__(
        self,
        *,
        ambient_sound: SoundChoice | None = None,
        thinking_sound: SoundChoice | None = None,
        stream_timeout_ms: int = 200,
        rng: random.Random | None = None,
    ) -> None:
        self._ambient = ambient_sound
        self._thinking = thinking_sound
        self.stream_timeout_ms = stream_timeout_ms
        self._rng = rng or random.Random()
        self._node: BackgroundAudio | None = None
        self._session: AgentSession[Any] | None = None
        self._thinking_handle: PlayHandle | None = None
        self._handles: list[PlayHandle] = []
        self._prepared: dict[Any, Sound] = {}

    @property
    def node(self) -> BackgroundAudio | None:
        """The mixer node the player plays into (after :meth:`start`)."""
        return self._node

    async def start(
        self,
        *,
        room: Any = None,
        agent_session: AgentSession[Any] | None = None,
        track_publish_options: Any = None,
    ) -> None:
        """Start playing into ``agent_session``'s audio; the ambient sound begins.

        Args:
            room: accepted for LiveKit compatibility; the sounds go into the agent's own
                track (the session's output), not a second one.
            agent_session: the started session whose audio the sounds are mixed into.
            track_publish_options: accepted for LiveKit compatibility (ignored).

        Raises:
            UsageError: already started, no session, or the session is not started.
            ConfigError: a source cannot be read (e.g. no file at the path), or the session's
                graph has no (or more than one) ``BackgroundAudio`` node.
        """
        if self._session is not None:
            raise UsageError("this BackgroundAudioPlayer was already started")
        if agent_session is None:
            raise UsageError(
                "BackgroundAudioPlayer.start(): pass agent_session= (voicegraph mixes the "
                "sounds into that session's audio output)"
            )
        graph = agent_session.graph
        if graph is None:
            raise UsageError(
                "BackgroundAudioPlayer.start(): the session is not started; await "
                "session.start(...) first"
            )
        nodes = [n for n in graph.iter_nodes() if isinstance(n, BackgroundAudio)]
        for choice in (self._ambient, self._thinking):
            self._prepare_all(choice)  # a bad source fails here, before anything plays
        if not nodes and not any(isinstance(n, TTSNode) for n in graph.iter_nodes()):
            # a text-only session (console --text, session.run tests): nothing is heard
            log.info("BackgroundAudioPlayer: the session has no audio output; nothing plays")
            self._session = agent_session
            agent_session.on("agent_state_changed", self._state_changed)
            return
        if len(nodes) != 1:
            raise ConfigError(
                f"BackgroundAudioPlayer.start(): the session's graph {graph.name!r} has "
                f"{len(nodes)} BackgroundAudio nodes, not one; a session with audio has one "
                "(a graph you built needs voice_pipeline(..., background=BackgroundAudio()))"
            )
        self._node, self._session = nodes[0], agent_session
        agent_session.on("agent_state_changed", self._state_changed)
        if self._ambient is not None:
            cfg = self._choose(self._ambient)
            if cfg is not None:
                self._play(cfg, loop=None)  # a file loops; a stream plays until it ends

    def play(self, audio: SoundChoice, *, loop: bool = False) -> PlayHandle:
        """Play ``audio`` once (or looped) over everything else; returns its handle.

        Raises:
            UsageError: the player is not started, or ``loop`` with an async iterator.
            ConfigError: the source cannot be read.
        """
        if self._session is None:
            raise UsageError("BackgroundAudioPlayer is not started; await player.start(...)")
        cfg = self._choose(audio)
        if cfg is None or self._node is None:  # no sound chosen, or a text-only session
            handle = PlayHandle()
            handle.mark_done()
            return handle
        return self._play(cfg, loop=loop)

    async def aclose(self) -> None:
        """Stop every sound this player started and detach from the session."""
        if self._session is not None:
            self._session.off("agent_state_changed", self._state_changed)
        for handle in self._handles:
            handle.mark_done()
        self._handles.clear()
        self._node, self._session, self._thinking_handle = None, None, None

    async def __aenter__(self) -> BackgroundAudioPlayer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ internals

    def _state_changed(self, event: AgentStateChangedEvent) -> None:
        if self._thinking is None or self._node is None:
            return
        if event.new_state == "thinking":
            if self._thinking_handle is not None and not self._thinking_handle.done():
                return
            cfg = self._choose(self._thinking)
            if cfg is not None:
                if cfg.fade_out <= 0:
                    cfg = AudioConfig(*cfg[:4], fade_out=THINKING_FADE)
                self._thinking_handle = self._play(cfg, loop=False)
        elif self._thinking_handle is not None:
            self._thinking_handle.stop()
            self._thinking_handle = None

    def _play(self, cfg: AudioConfig, *, loop: bool | None) -> PlayHandle:
        """Start ``cfg`` in the node; ``loop=None``: loop unless it is a stream."""
        assert self._node is not None
        sound = self._sound(cfg.source)
        handle = self._node.play(
            sound, volume=cfg.volume, fade_in=cfg.fade_in, fade_out=cfg.fade_out,
            loop=sound.stream is None if loop is None else loop,
        )  # fmt: skip
        self._handles = [h for h in self._handles if not h.done()]
        self._handles.append(handle)
        return handle

    def _sound(self, source: Any) -> Sound:
        """The prepared sound of ``source`` (the ambient and thinking files are read once)."""
        if hasattr(source, "__anext__"):
            return prepare_sound(source, "BackgroundAudioPlayer")
        if source in self._prepared:
            return self._prepared[source]
        return prepare_sound(source, "BackgroundAudioPlayer")

    def _prepare_all(self, choice: SoundChoice | None) -> None:
        if choice is None:
            return
        for option in choice if isinstance(choice, list) else [choice]:
            source = _source_of(option)
            if not hasattr(source, "__anext__"):
                self._prepared[source] = prepare_sound(source, "BackgroundAudioPlayer")

    def _choose(self, choice: SoundChoice) -> AudioConfig | None:
        """The sound to play: ``choice`` itself, or one of a list by probability (maybe none)."""
        if not isinstance(choice, list):
            return choice if isinstance(choice, AudioConfig) else AudioConfig(choice)
        total = sum(max(0.0, c.probability) for c in choice)
        if total <= 0:
            return None
        r = self._rng.random() * max(total, 1.0)
        for cfg in choice:
            r -= max(0.0, cfg.probability)
            if r < 0:
                return cfg
        return None  # probabilities summing below 1: the rest of the time, silence


def _source_of(option: Any) -> Any:
    return option.source if isinstance(option, AudioConfig) else option

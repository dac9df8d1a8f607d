"""A room that lives in this process: local tracks stand in for remote participants.

:class:`LocalRoom` offers the part of ``livekit.rtc.Room`` that voicegraph's room nodes and
:class:`~voicegraph.runner.worker.JobContext` use (events, ``remote_participants``,
``local_participant.publish_track`` / ``send_text`` / ``stream_text``), without a server.
Audio flows through real ``livekit.rtc`` objects: a "remote" participant's microphone is a
``LocalAudioTrack`` fed by an ``AudioSource``, and whatever the agent publishes can be read
back with ``rtc.AudioStream.from_track``. Console mode feeds it from the sound card; tests
feed it from arrays.

In a coroutine (``rtc.AudioSource`` needs a running event loop)::

    room = LocalRoom("demo")
    user = room.add_participant("alice")
    source = rtc.AudioSource(48000, 1)
    room.publish_audio("alice", rtc.LocalAudioTrack.create_audio_track("mic", source))
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voicegraph.graph import ConfigError

__all__ = ["LocalParticipant", "LocalPublication", "LocalRoom", "SentText"]

logger = logging.getLogger("voicegraph.worker")

_sids = itertools.count(1)

KIND_AUDIO = 1
"""``rtc.TrackKind.KIND_AUDIO``."""
SOURCE_MICROPHONE = 2
"""``rtc.TrackSource.SOURCE_MICROPHONE``."""
PARTICIPANT_KINDS = {"standard": 0, "ingress": 1, "egress": 2, "sip": 3, "agent": 4, "connector": 5}


def _new_sid() -> str:
    return f"TR_{next(_sids)}"


@dataclass(eq=False)
class LocalPublication:
    """A published track (``rtc.TrackPublication`` subset)."""

    sid: str
    track: Any
    name: str = ""
    kind: int = KIND_AUDIO
    source: int = SOURCE_MICROPHONE
    muted: bool = False

    @property
    def subscribed(self) -> bool:
        """Always ``True``: local tracks need no subscription."""
        return True

    def set_subscribed(self, subscribed: bool) -> None:
        """No-op (``rtc.RemoteTrackPublication`` API)."""


@dataclass(frozen=True, slots=True)
class SentText:
    """A text the agent sent into the room (``send_text`` or a closed ``stream_text``)."""

    topic: str
    text: str
    attributes: dict[str, str]
    sender: str
    chunks: tuple[str, ...] = ()


class _TextWriter:
    """``rtc.TextStreamWriter`` subset: ``write`` chunks, ``aclose`` records the whole text."""

    def __init__(self, room: LocalRoom, topic: str, attributes: dict[str, str], sender: str):
        self._room, self.topic, self.sender = room, topic, sender
        self.attributes = dict(attributes)
        self.chunks: list[str] = []
        self.closed = False

    async def write(self, text: str) -> None:
        if self.closed:
            raise RuntimeError("Cannot write after stream is closed")
        self.chunks.append(text)

    async def aclose(self, *, reason: str = "", attributes: dict[str, str] | None = None) -> None:
        if self.closed:
            raise RuntimeError("Stream already closed")
        self.closed = True
        merged = {**self.attributes, **(attributes or {})}
        text = SentText(self.topic, "".join(self.chunks), merged, self.sender, tuple(self.chunks))
        self._room._record_text(text)


@dataclass(eq=False)
class LocalParticipant:
    """A participant of a :class:`LocalRoom` (``rtc.Participant`` subset)."""

    room: LocalRoom
    identity: str
    name: str = ""
    kind: int = 0
    metadata: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    track_publications: dict[str, LocalPublication] = field(default_factory=dict)

    @property
    def sid(self) -> str:
        """A stable id derived from the identity."""
        return f"PA_{self.identity}"

    async def publish_track(self, track: Any, options: Any = None) -> LocalPublication:
        """Publish ``track`` as this participant (the agent's audio, in practice)."""
        source = getattr(options, "source", SOURCE_MICROPHONE) or SOURCE_MICROPHONE
        pub = LocalPublication(
            f"TR_{next(_sids)}", track, getattr(track, "name", ""), source=source
        )
        self.track_publications[pub.sid] = pub
        self.room.emit("local_track_published", pub, track)
        return pub

    async def unpublish_track(self, track_sid: str) -> None:
        """Remove a published track."""
        pub = self.track_publications.pop(track_sid, None)
        if pub is not None:
            self.room.emit("local_track_unpublished", pub)

    async def send_text(
        self,
        text: str,
        *,
        topic: str = "",
        attributes: dict[str, str] | None = None,
        **_: Any,
    ) -> SentText:
        """Send a whole text on ``topic`` (recorded in :attr:`LocalRoom.texts`)."""
        sent = SentText(topic, text, dict(attributes or {}), self.identity, (text,))
        self.room._record_text(sent)
        return sent

    async def stream_text(
        self,
        *,
        topic: str = "",
        attributes: dict[str, str] | None = None,
        sender_identity: str | None = None,
        **_: Any,
    ) -> _TextWriter:
        """Open a text stream on ``topic``; its text is recorded when it is closed."""
        return _TextWriter(self.room, topic, attributes or {}, sender_identity or self.identity)

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        """Update this participant's attributes."""
        self.attributes.update(attributes)


class LocalRoom:
    """An in-process room (see the module docstring).

    Args:
        name: the room's name.
        agent_identity: the identity of ``local_participant`` (the agent).
        on_text: called with every :class:`SentText` (console mode prints them).
    """

    def __init__(
        self,
        name: str = "local",
        *,
        agent_identity: str = "agent",
        on_text: Callable[[SentText], None] | None = None,
    ) -> None:
        self.name = name
        self.metadata = ""
        self.local_participant = LocalParticipant(
            self, agent_identity, kind=PARTICIPANT_KINDS["agent"]
        )
        self.remote_participants: dict[str, LocalParticipant] = {}
        self.texts: list[SentText] = []
        """Every text the agent sent (oldest first; the last 10,000)."""
        self.on_text = on_text
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        self._connected = True

    def __repr__(self) -> str:
        return f"<LocalRoom {self.name!r} participants={list(self.remote_participants)}>"

    # ------------------------------------------------------------------ rtc.Room subset

    def on(self, event: str, callback: Callable[..., Any] | None = None) -> Any:
        """Register ``callback`` for ``event`` (usable as a decorator)."""
        if callback is None:

            def register(fn: Callable[..., Any]) -> Callable[..., Any]:
                self.on(event, fn)
                return fn

            return register
        self._handlers.setdefault(event, []).append(callback)
        return callback

    def off(self, event: str, callback: Callable[..., Any]) -> None:
        """Remove a callback (no error if it is not registered)."""
        handlers = self._handlers.get(event, [])
        if callback in handlers:
            handlers.remove(callback)

    def emit(self, event: str, *args: Any) -> None:
        """Call the callbacks of ``event`` with ``args`` (errors are logged, not raised)."""
        for callback in list(self._handlers.get(event, [])):
            try:
                callback(*args)
            except Exception:
                logger.exception("a %r callback of LocalRoom %r failed", event, self.name)

    def isconnected(self) -> bool:
        """Whether :meth:`disconnect` has not been called."""
        return self._connected

    async def connect(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to connect to: the room is already here."""
        self._connected = True

    async def disconnect(self, reason: str = "") -> None:
        """Leave: emits ``disconnected``."""
        if self._connected:
            self._connected = False
            self.emit("disconnected", reason)

    # ------------------------------------------------------------------ driving the room

    def add_participant(
        self, identity: str, *, name: str = "", kind: str = "standard", metadata: str = ""
    ) -> LocalParticipant:
        """A remote participant joins (emits ``participant_connected``)."""
        if identity in self.remote_participants:
            raise ConfigError(
                f"participant {identity!r} is already in room {self.name!r}; give each "
                "participant a unique identity"
            )
        participant = LocalParticipant(
            self, identity, name=name, kind=PARTICIPANT_KINDS[kind], metadata=metadata
        )
        self.remote_participants[identity] = participant
        self.emit("participant_connected", participant)
        return participant

    def publish_audio(
        self, identity: str, track: Any, *, source: int = SOURCE_MICROPHONE
    ) -> LocalPublication:
        """The participant publishes ``track``; it is subscribed at once (as auto-subscribe)."""
        participant = self.remote_participants[identity]
        pub = LocalPublication(
            f"TR_{next(_sids)}", track, getattr(track, "name", ""), source=source
        )
        participant.track_publications[pub.sid] = pub
        self.emit("track_published", pub, participant)
        self.emit("track_subscribed", track, pub, participant)
        return pub

    def unpublish(self, identity: str, track_sid: str) -> None:
        """The participant stops publishing a track."""
        participant = self.remote_participants[identity]
        pub = participant.track_publications.pop(track_sid)
        self.emit("track_unsubscribed", pub.track, pub, participant)
        self.emit("track_unpublished", pub, participant)

    def remove_participant(self, identity: str) -> None:
        """The participant leaves (its tracks are unpublished first)."""
        participant = self.remote_participants[identity]
        for sid in list(participant.track_publications):
            self.unpublish(identity, sid)
        del self.remote_participants[identity]
        self.emit("participant_disconnected", participant)

    def _record_text(self, text: SentText) -> None:
        self.texts.append(text)
        del self.texts[:-10_000]
        self.emit("text_sent", text)
        if self.on_text is not None:
            self.on_text(text)

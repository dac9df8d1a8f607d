"""RoomInput: the microphone of a participant in a LiveKit room, as audio frames."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, ClassVar, Literal

import anyio
from pydantic import Field

from voicegraph.graph import AudioFrame, Node, NodeConfig, Out
from voicegraph.nodes.audio import from_rtc

from ._room import KIND_AUDIO, PARTICIPANT_KINDS, SOURCE_MICROPHONE, Room, import_rtc, require_room

__all__ = ["RoomInput"]

logger = logging.getLogger("voicegraph.livekit")

ParticipantKind = Literal["standard", "ingress", "egress", "sip", "agent", "connector"]
_EVENTS = (
    "participant_connected",
    "participant_disconnected",
    "track_published",
    "track_unpublished",
    "track_subscribed",
    "track_unsubscribed",
    "disconnected",
)


class RoomInput(Node):
    """Stream one participant's microphone from a room, at the graph's sample rate.

    The node links to a participant: ``participant_identity`` if set, else the first remote
    participant of an accepted kind (as LiveKit Agents' RoomIO). It subscribes to that
    participant's microphone track with ``rtc.AudioStream``, which resamples to
    ``sample_rate`` / ``num_channels`` and cuts ``frame_ms`` frames. It follows the room:
    when the track is unpublished it waits for it to come back; when the participant leaves
    the stream ends (``close_on_disconnect``, default) or the node links to the next
    participant that joins. The stream also ends when the room disconnects.

    Frames carry media time: ``pts`` runs on continuously within a track; after a gap (no
    participant, a republished track) it resumes at the clock time elapsed since the node
    started, so it never goes backwards. The stream buffers ``queue_frames`` frames (default
    50, 1 s) and drops the oldest beyond that, like a ``drop_oldest`` edge: a busy graph never
    makes it grow. Noise/echo processing: add an ``AudioProcessor`` node after this one.

    Attributes:
        participant: the identity of the linked participant (``None`` before one joins).
        track_sid: the sid of the track being streamed (``None`` when none).
        switches: ``(clock time, identity or None)`` each time the streamed track changed.

    Config:
        participant_identity: the participant to listen to (default ``None``: the first).
        participant_kinds: kinds a participant may have to be picked (default standard, SIP,
            connector).
        sample_rate: output rate in Hz (default 16000).
        num_channels: output channels (default 1).
        frame_ms: frame length in ms (default 20).
        queue_frames: frames buffered before the oldest is dropped (default 50).
        close_on_disconnect: end the stream when the linked participant leaves (default
            ``True``); ``False`` waits for the next participant.
    """

    class Config(NodeConfig):
        participant_identity: str | None = None
        participant_kinds: list[ParticipantKind] = ["standard", "sip", "connector"]
        sample_rate: int = Field(16000, ge=8000, le=48000)
        num_channels: int = Field(1, ge=1, le=2)
        frame_ms: int = Field(20, ge=10, le=100)
        queue_frames: int = Field(50, ge=1, le=1000)
        close_on_disconnect: bool = True

    restart_on_interrupt: ClassVar[bool] = False
    config: Config
    audio: Out[AudioFrame]

    def __init__(
        self, config: NodeConfig | None = None, /, *, room: Room | None = None, **settings: Any
    ) -> None:
        super().__init__(config, **settings)
        self._room = room
        self.participant: str | None = None
        self.track_sid: str | None = None
        self.switches: deque[tuple[float, str | None]] = deque(maxlen=1000)
        self._linked: str | None = None
        self._changed: anyio.Event | None = None  # created in run() (needs a loop)
        self._next_pts = 0.0
        self._t0: float | None = None
        self._room_closed = False

    def attach(self, room: Room) -> None:
        """Use ``room`` (before the graph runs)."""
        self._room = room

    async def setup(self) -> None:
        """Check that a room is attached and ``livekit`` is installed."""
        require_room(self._room, "RoomInput")
        import_rtc("RoomInput")

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Stream the linked participant's microphone until the stream should end."""
        room = require_room(self._room, "RoomInput")
        changed = anyio.Event()
        self._changed = changed
        if self._t0 is None:
            self._t0 = self.clock.now()
        if not room.isconnected():
            self._room_closed = True

        def notify(*args: Any) -> None:
            if args and args[0] == "disconnected":
                self._room_closed = True
            assert self._changed is not None
            self._changed.set()
            self._changed = anyio.Event()

        handlers = {event: _bind(notify, event) for event in _EVENTS}
        for event, handler in handlers.items():
            room.on(event, handler)
        try:
            while not self._room_closed:
                target = self._select(room)
                if target is None:
                    if self._should_end(room):
                        break
                    await self._wait_change()
                    continue
                await self._stream(room, *target)
        finally:
            for event, handler in handlers.items():
                room.off(event, handler)
            self._set_track(None, None)

    async def _wait_change(self) -> None:
        assert self._changed is not None
        await self._changed.wait()

    def _should_end(self, room: Room) -> bool:
        if self._room_closed:
            return True
        linked = self._linked
        if linked is not None and linked not in room.remote_participants:
            if self.config.close_on_disconnect:
                logger.info("RoomInput: participant %r left; ending the stream", linked)
                return True
            self._linked = None
        return False

    def _select(self, room: Room) -> tuple[Any, Any] | None:
        """The (participant, track) to stream now, or ``None``; links a participant."""
        if self._linked is None or self._linked not in room.remote_participants:
            if self._linked is not None and self.config.close_on_disconnect:
                return None
            self._linked = None
            kinds = {PARTICIPANT_KINDS[k] for k in self.config.participant_kinds}
            wanted = self.config.participant_identity
            for participant in room.remote_participants.values():
                if wanted is not None and participant.identity != wanted:
                    continue
                if int(participant.kind) in kinds:
                    self._linked = participant.identity
                    logger.info("RoomInput: linked to participant %r", participant.identity)
                    break
            if self._linked is None:
                return None
        participant = room.remote_participants[self._linked]
        for pub in participant.track_publications.values():
            if int(pub.kind) != KIND_AUDIO or int(pub.source) != SOURCE_MICROPHONE:
                continue
            if pub.track is None:
                pub.set_subscribed(True)  # auto-subscribe is off: ask for it
                continue
            return participant, pub
        return None

    async def _stream(self, room: Room, participant: Any, pub: Any) -> None:
        rtc = import_rtc("RoomInput")
        cfg = self.config
        stream = rtc.AudioStream.from_track(
            track=pub.track,
            sample_rate=cfg.sample_rate,
            num_channels=cfg.num_channels,
            frame_size_ms=cfg.frame_ms,
            capacity=cfg.queue_frames,
        )
        assert self._t0 is not None
        self._next_pts = max(self._next_pts, self.clock.now() - self._t0)
        self._set_track(participant.identity, pub.sid)
        try:
            async with anyio.create_task_group() as tg:

                async def watch() -> None:
                    while True:
                        await self._wait_change()
                        target = self._select(room)
                        if self._room_closed or target is None or target[1].sid != pub.sid:
                            tg.cancel_scope.cancel()
                            return

                tg.start_soon(watch)
                async for event in stream:
                    frame = from_rtc(event.frame, pts=self._next_pts)
                    self._next_pts = frame.end_pts
                    await self.emit(self.audio, frame)
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await stream.aclose()
            self._set_track(None, None)

    def _set_track(self, identity: str | None, sid: str | None) -> None:
        if sid == self.track_sid:
            return
        self.participant = identity if identity is not None else self._linked
        self.track_sid = sid
        try:
            now = self.clock.now()
        except RuntimeError:  # not running any more
            return
        self.switches.append((now, identity))


def _bind(notify: Any, event: str) -> Any:
    def handler(*args: Any) -> None:
        notify(event, *args)

    return handler

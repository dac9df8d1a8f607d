"""RoomTranscript: the conversation's text into the room, as LiveKit transcriptions."""

from __future__ import annotations

import itertools
import logging
from typing import Any

from voicegraph.graph import Control, Event, In, Node, NodeConfig, PlayoutMark, Transcript

from ._room import Room, require_room

__all__ = ["RoomTranscript"]

logger = logging.getLogger("voicegraph.livekit")

FINAL = "lk.transcription_final"
SEGMENT = "lk.segment_id"
TRACK = "lk.transcribed_track_id"
_segments = itertools.count(1)


class RoomTranscript(Node):
    """Send the user's transcripts and the agent's played text to the room.

    Uses LiveKit's transcription text streams (topic ``lk.transcription``, attributes
    ``lk.segment_id``, ``lk.transcribed_track_id``, ``lk.transcription_final``), which the
    LiveKit client SDKs and the agents playground show as captions.

    * ``user``: each interim transcript is sent as a whole text (final ``"false"``), the final
      one with final ``"true"``; one segment per utterance, sent as the user.
    * ``agent``: the playout marks of a :class:`RoomOutput` (connect ``output.marks``). The
      agent's text is synchronized with playout: each reply is one text stream, written
      as its sentences are heard, closed with final ``"true"`` when the reply ends. An
      interrupted reply ends with exactly the words heard, so the captions never show what
      the user did not hear.

    Args:
        room: the room (or ``attach(room)`` later).
        user_identity: who the user transcripts are attributed to (default: the participant
            of ``room_input``, if given).
        room_input: the :class:`RoomInput` whose participant and track the user side
            transcribes.
        room_output: the :class:`RoomOutput` whose track the agent side transcribes.

    Config:
        topic: the text stream topic (default ``"lk.transcription"``).
        interim: send interim user transcripts (default ``True``).
    """

    class Config(NodeConfig):
        topic: str = "lk.transcription"
        interim: bool = True

    config: Config
    user: In[Transcript] = In(required=False)
    agent: In[Control] = In(required=False)
    forward_events = False

    def __init__(
        self,
        config: NodeConfig | None = None,
        /,
        *,
        room: Room | None = None,
        room_input: Any = None,
        room_output: Any = None,
        user_identity: str | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(config, **settings)
        self._room = room
        self._input = room_input
        self._output = room_output
        self._user_identity = user_identity
        self._user_segment = _new_segment()
        self._writer: Any = None
        self._written = ""
        self._reply_epoch: int | None = None
        self.sent = 0
        """How many texts were sent (or streams opened)."""

    def attach(self, room: Room) -> None:
        """Use ``room`` (before the graph runs)."""
        self._room = room

    async def setup(self) -> None:
        """Check that a room is attached."""
        require_room(self._room, "RoomTranscript")

    # ------------------------------------------------------------------ user

    async def on_user(self, frame: Transcript) -> None:
        """Send a user transcript (interim ones when ``interim``)."""
        if not frame.final and not self.config.interim:
            return
        if not frame.text.strip():
            return
        room = require_room(self._room, "RoomTranscript")
        identity = self._user_identity or getattr(self._input, "participant", None)
        attributes = {FINAL: "true" if frame.final else "false", SEGMENT: self._user_segment}
        track = getattr(self._input, "track_sid", None)
        if track:
            attributes[TRACK] = track
        await self._send(room, frame.text, attributes, identity)
        if frame.final:
            self._user_segment = _new_segment()

    async def _send(
        self, room: Room, text: str, attributes: dict[str, str], identity: str | None
    ) -> None:
        try:
            writer = await room.local_participant.stream_text(
                topic=self.config.topic, attributes=attributes, sender_identity=identity
            )
            await writer.write(text)
            await writer.aclose()
            self.sent += 1
        except Exception as exc:  # captions must never take the conversation down
            logger.warning("RoomTranscript: could not send a transcript: %s", exc)

    # ------------------------------------------------------------------ agent

    async def on_event(self, event: Event) -> None:
        """Playout marks from the agent's output: stream the heard text."""
        if isinstance(event, PlayoutMark):
            await self._on_mark(event)

    async def _on_mark(self, mark: PlayoutMark) -> None:
        room = require_room(self._room, "RoomTranscript")
        if self._reply_epoch is not None and mark.epoch != self._reply_epoch:
            await self._close_reply()
        self._reply_epoch = mark.epoch
        text = mark.text
        delta = text[len(self._written) :] if text.startswith(self._written) else text
        if delta.strip():
            try:
                if self._writer is None:
                    attributes = {FINAL: "false", SEGMENT: _new_segment()}
                    track = getattr(self._output, "track_sid", None)
                    if track:
                        attributes[TRACK] = track
                    self._writer = await room.local_participant.stream_text(
                        topic=self.config.topic, attributes=attributes
                    )
                    self.sent += 1
                await self._writer.write(delta)
                self._written = text
            except Exception as exc:
                logger.warning("RoomTranscript: could not stream the agent's text: %s", exc)
        if mark.final or mark.interrupted:
            await self._close_reply()

    async def _close_reply(self) -> None:
        writer, self._writer = self._writer, None
        self._written = ""
        self._reply_epoch = None
        if writer is None:
            return
        attributes = {FINAL: "true"}
        track = getattr(self._output, "track_sid", None)
        if track:
            attributes[TRACK] = track
        try:
            await writer.aclose(attributes=attributes)
        except Exception as exc:
            logger.warning("RoomTranscript: could not close the agent's text stream: %s", exc)

    async def on_end_of_stream(self) -> None:
        """Close an open reply stream."""
        await self._close_reply()


def _new_segment() -> str:
    return f"SG_{next(_segments):06d}"

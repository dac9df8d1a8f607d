"""``AgentSession.start(agent, room=ctx.room)``: LiveKit's way to talk in a room, as nodes."""

from __future__ import annotations

from typing import Any

from voicegraph.graph import ConfigError, Node
from voicegraph.nodes.output import AudioOutput

__all__ = ["room_io"]


async def room_io(
    room: Any, options: Any, audio: Node | None, output: AudioOutput | None, graph: Any
) -> tuple[Node, AudioOutput]:
    """The session's ``audio`` and ``output`` for ``room``: a ``RoomInput`` (the user's
    microphone) and a ``RoomOutput`` (the agent's published voice). If ``room`` is the current
    job's room, the job joins it first (``ctx.connect()``), as LiveKit's ``start`` does.

    Raises:
        ConfigError: ``room_options`` was given, or ``room`` came with ``audio``, ``output``
            or ``graph``, or no ``room``.
    """
    if options is not None:
        raise ConfigError(
            "AgentSession.start(room_options=...) is LiveKit's RoomIO settings; in voicegraph the "
            "room's input and output are nodes: pass audio=RoomInput(room=ctx.room, ...) and "
            "output=RoomOutput(room=ctx.room, ...) (voicegraph.nodes.livekit) with their configs"
        )
    if room is None:
        raise ConfigError("AgentSession.start(room_options=...) needs room= as well")
    if audio is not None or output is not None or graph is not None:
        raise ConfigError(
            "AgentSession.start(room=...) builds the room's input and output itself: give room= "
            "alone, or audio=RoomInput(room=...) and output=RoomOutput(room=...) instead"
        )
    from voicegraph.nodes.livekit import RoomInput, RoomOutput
    from voicegraph.runner.worker import get_job_context

    ctx = get_job_context(required=False)
    if ctx is not None and ctx.room is room:
        await ctx.connect()
    return RoomInput(room=room), RoomOutput(room=room)

"""What the room nodes need from a room: a ``livekit.rtc.Room`` or anything shaped like one.

The nodes take the room at construction (``RoomInput(room=ctx.room)``) or later with
``attach(room)``: a room is a live connection, not a setting, so it is not part of the
node's ``Config`` (a serialized graph is re-attached to a room when it is loaded).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from voicegraph.graph import ConfigError, MissingDependencyError

__all__ = ["PARTICIPANT_KINDS", "Room", "import_rtc", "require_room"]

PARTICIPANT_KINDS = {"standard": 0, "ingress": 1, "egress": 2, "sip": 3, "agent": 4, "connector": 5}
"""``rtc.ParticipantKind`` values by name."""
KIND_AUDIO = 1
SOURCE_MICROPHONE = 2


class Room(Protocol):
    """The part of ``livekit.rtc.Room`` the room nodes use."""

    @property
    def remote_participants(self) -> Mapping[str, Any]: ...

    @property
    def local_participant(self) -> Any: ...

    def on(self, event: Any, callback: Callable[..., Any] | None = None) -> Any: ...

    def off(self, event: Any, callback: Callable[..., Any]) -> None: ...

    def isconnected(self) -> bool: ...


def import_rtc(what: str) -> Any:
    """Import ``livekit.rtc`` for ``what`` or raise :class:`MissingDependencyError`."""
    try:
        from livekit import rtc
    except ImportError as exc:
        raise MissingDependencyError("livekit", what=what) from exc
    return rtc


def require_room(room: Room | None, node: str) -> Room:
    """Return ``room`` or raise a :class:`ConfigError` saying how to give the node one."""
    if room is None:
        raise ConfigError(
            f"{node} has no room: pass it when creating the node ({node}(room=ctx.room)) or "
            f"call .attach(room) before running the graph"
        )
    return room

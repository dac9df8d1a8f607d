""":class:`SessionReport`: what a job's session did, as LiveKit's ``ctx.make_session_report()``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SessionReport"]


@dataclass(kw_only=True)
class SessionReport:
    """A report of one session of a job (LiveKit 1.8's field names).

    Attributes:
        job_id: the job.
        room_id: the room's sid ("" when the job did not come from a server).
        room: the room's name.
        agent_name: the agent name the job was dispatched to.
        options: the session's options.
        events: the session's events, in order (``user_input_transcribed``,
            ``conversation_item_added``, ``metrics_collected``, ...).
        chat_history: a copy of the session's history (a ``ChatContext``).
        model_usage: the session's model usage (``session.usage.model_usage``).
        tags: the job's tags (``ctx.tags``).
        audio_recording_path: voicegraph records no room audio for the report: ``None``.
        audio_recording_started_at: ``None`` (see ``audio_recording_path``).
        started_at: wall-clock time the session started.
        duration: seconds from ``started_at`` to the report.
        timestamp: wall-clock time the report was made.
    """

    job_id: str
    room_id: str
    room: str
    agent_name: str = ""
    options: Any = None
    events: list[Any] = field(default_factory=list)
    chat_history: Any = None
    model_usage: list[Any] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    audio_recording_path: str | None = None
    audio_recording_started_at: float | None = None
    started_at: float | None = None
    duration: float | None = None
    timestamp: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (events as ``type`` and ``created_at``)."""
        history = self.chat_history
        to_dict = getattr(history, "to_dict", None)
        options = self.options
        dump = getattr(options, "model_dump", None)
        return {
            "job_id": self.job_id,
            "room_id": self.room_id,
            "room": self.room,
            "agent_name": self.agent_name,
            "events": [
                {"type": getattr(e, "type", type(e).__name__), "created_at": e.created_at}
                if hasattr(e, "created_at")
                else {"type": getattr(e, "type", type(e).__name__)}
                for e in self.events
            ],
            "chat_history": to_dict() if callable(to_dict) else None,
            "options": dump(mode="json") if callable(dump) else None,
            "usage": [
                u.model_dump() if hasattr(u, "model_dump") else repr(u) for u in self.model_usage
            ],
            "tags": list(self.tags),
            "started_at": self.started_at,
            "duration": self.duration,
            "timestamp": self.timestamp,
        }

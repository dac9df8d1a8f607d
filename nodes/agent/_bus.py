"""The agent layer's events on the run's bus: the session's timeline, one ordered stream.

The controller node publishes what it sees (agent and user states, transcripts, false
interruptions, turn limits); the session publishes what it decides (replies created, history
items, tool rounds, metrics) through its command node. Both arrive, in publish order, at
the session's subscription, which delivers them to ``session.on(...)`` callbacks with the
bus's clock stamp as ``created_at``. Viz or a test can subscribe to the same stream:
``runner.subscribe(SessionBusEvent)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicegraph.graph import BusEvent

from ._events import SessionEvent

__all__ = ["ControllerStopped", "SessionBusEvent"]


@dataclass(frozen=True, slots=True)
class SessionBusEvent(BusEvent):
    """A session event (``event``) published on the run's bus."""

    event: SessionEvent


@dataclass(frozen=True, slots=True)
class ControllerStopped(BusEvent):
    """The agent controller stopped taking replies (its input ended, or the session closed)."""

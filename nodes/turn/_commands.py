"""Commands a :class:`TurnDetector` takes on its ``commands`` input (e.g. from a session).

They are control events, not data: like the direct calls they replace
(``commit_user_turn()``, ``clear_user_turn()``, ``set_interruptions_allowed()``), they take
effect ahead of any audio still queued for the detector, so a commit or a clear applies from
the next audio frame it handles and barge-in is switched before the reply is heard. They are
plain data, so a run that sends them can be traced and replayed.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicegraph.graph import Control, Event

__all__ = ["AllowInterruptions", "ClearTurn", "CommitTurn", "TurnCommand", "TurnControl"]


@dataclass(frozen=True, slots=True)
class TurnControl(Control):
    """The type of ports that carry turn commands (control events only, no data)."""


@dataclass(frozen=True, slots=True)
class TurnCommand(Event):
    """Base of the commands a turn detector takes."""


@dataclass(frozen=True, slots=True)
class CommitTurn(TurnCommand):
    """End the user's turn (see ``TurnDetector.commit_user_turn``).

    Attributes:
        transcript_timeout: media seconds to wait for the last speech's transcript.
    """

    transcript_timeout: float = 2.0


@dataclass(frozen=True, slots=True)
class ClearTurn(TurnCommand):
    """Forget what the user said since the last turn (see ``TurnDetector.clear_user_turn``)."""


@dataclass(frozen=True, slots=True)
class AllowInterruptions(TurnCommand):
    """Allow or forbid barge-in from now on (see ``TurnDetector.set_interruptions_allowed``).

    Attributes:
        allowed: whether the user's speech may interrupt the agent.
    """

    allowed: bool

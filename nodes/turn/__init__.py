"""Turn detection: when has the user finished, and when do they barge in."""

from ._detector import TurnDecision as TurnDecision
from ._detector import TurnDetector as TurnDetector
from ._heuristic import end_of_turn_probability as end_of_turn_probability

__all__ = ["TurnDecision", "TurnDetector", "end_of_turn_probability"]

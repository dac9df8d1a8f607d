"""Turn detection: when has the user finished, and when do they barge in.

:class:`TurnDetector` is the host node; :class:`TurnEngine` the end-of-turn model interface,
with the text heuristic :class:`HeuristicTurn` as the default engine.
"""

from voicegraph.graph import rehome

from ._detector import TurnDecision as TurnDecision
from ._detector import TurnDetector as TurnDetector
from ._engine import TurnEngine as TurnEngine
from ._heuristic import HeuristicTurn as HeuristicTurn
from ._heuristic import end_of_turn_probability as end_of_turn_probability

__all__ = [
    "HeuristicTurn",
    "TurnDecision",
    "TurnDetector",
    "TurnEngine",
    "end_of_turn_probability",
]

rehome(__name__, globals(), __all__)

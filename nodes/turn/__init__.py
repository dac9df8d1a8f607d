"""Turn detection: when has the user finished, and when do they barge in.

:class:`TurnDetector` is the host node; :class:`TurnEngine` the end-of-turn model interface,
with the text heuristic :class:`HeuristicTurn` as the default engine, :class:`LlamaTurn`
(the bundled SmolLM2's end-of-message probability) and :class:`SmartTurn` (Smart Turn v3.2,
an audio model; its file ships in the ``pipecat-ai`` wheel). The detector's
``commands`` input (a :class:`TurnControl` port) takes :class:`CommitTurn`, :class:`ClearTurn`
and :class:`AllowInterruptions` control events: what an agent session sends it, and what a
graph of your own can send it.
"""

from voicegraph.graph import rehome

from ._commands import AllowInterruptions as AllowInterruptions
from ._commands import ClearTurn as ClearTurn
from ._commands import CommitTurn as CommitTurn
from ._commands import TurnCommand as TurnCommand
from ._commands import TurnControl as TurnControl
from ._detector import TurnDecision as TurnDecision
from ._detector import TurnDetector as TurnDetector
from ._engine import TurnEngine as TurnEngine
from ._heuristic import HeuristicTurn as HeuristicTurn
from ._heuristic import end_of_turn_probability as end_of_turn_probability
from ._llama_turn import LlamaTurn as LlamaTurn
from ._smart_turn import SmartTurn as SmartTurn

__all__ = [
    "AllowInterruptions",
    "ClearTurn",
    "CommitTurn",
    "HeuristicTurn",
    "LlamaTurn",
    "SmartTurn",
    "TurnCommand",
    "TurnControl",
    "TurnDecision",
    "TurnDetector",
    "TurnEngine",
    "end_of_turn_probability",
]

rehome(__name__, globals(), __all__)

"""A text heuristic for end of turn: how likely is it that the user has finished?"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ._engine import TurnEngine

__all__ = ["HeuristicTurn", "end_of_turn_probability"]

_TRAILING_CONTINUATIONS = {
    "and", "but", "or", "so", "because", "if", "then", "um", "uh", "er", "like", "the", "a",
    "an", "to", "of", "with", "for", "my", "your", "is", "are", "was", "i", "we", "you",
    "which", "that", "when", "while", "about",
}  # fmt: skip


def end_of_turn_probability(text: str) -> float:
    """Estimate P(the user has finished their turn) from the transcript so far.

    * empty text: 0.0 (nothing said yet);
    * a trailing conjunction, article or filler ("... and", "um"), a comma or an ellipsis:
      0.05 — the user is most likely going on;
    * a question mark: 0.95;
    * other sentence-final punctuation: 0.85; no punctuation: 0.6.

    >>> end_of_turn_probability("I want to book a table and")
    0.05
    >>> end_of_turn_probability("What time is it?")
    0.95
    """
    stripped = text.strip()
    if not stripped:
        return 0.0
    if stripped.endswith(("...", "…", ",", "-", ";", ":")):
        return 0.05
    words = re.findall(r"[a-zA-Z']+", stripped.lower())
    if words and words[-1] in _TRAILING_CONTINUATIONS and not stripped.endswith("?"):
        return 0.05
    if stripped.endswith("?"):
        return 0.95
    if stripped.endswith((".", "!")):
        return 0.85
    return 0.6


class HeuristicTurn(TurnEngine):
    """The text heuristic of :func:`end_of_turn_probability` as a turn engine (no model).

    ``TurnDetector()`` uses it unless given another engine. Only a question (0.95) is
    surely over (``likely_threshold`` 0.9): a statement may go on after a pause.

    >>> import anyio
    >>> anyio.run(HeuristicTurn().end_of_turn_probability, "What time is it?")
    0.95
    """

    likely_threshold: ClassVar[float | None] = 0.9

    async def end_of_turn_probability(
        self,
        text: str,
        *,
        audio: npt.NDArray[np.int16] | None = None,
        chat: Sequence[tuple[str, str]] | None = None,
    ) -> float:
        """:func:`end_of_turn_probability` of ``text`` (audio and chat are not used)."""
        return end_of_turn_probability(text)

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
_QUESTION_WORDS = {"who", "whom", "whose", "what", "where", "when", "why", "which", "how"}
_AUXILIARIES = {
    "is", "are", "was", "were", "am", "do", "does", "did", "can", "could", "will", "would",
    "shall", "should", "may", "might", "have", "has",
}  # fmt: skip
_SUBJECTS = {"i", "you", "we", "they", "he", "she", "it", "there", "that", "this", "your", "my"}


def asks(sentence: str) -> bool:
    """Whether a sentence of three words or more is worded as a question (Whisper often ends
    one with ``.``): it starts with a question word not followed by a subject ("who wrote
    ...", "how far ...", but not "where I live ...") or with an auxiliary before its subject
    ("can you ...", "is it ...").

    >>> asks("who wrote Romeo and Juliet."), asks("Can you recommend a good book."), asks("I can.")
    (True, True, False)
    """
    words = re.findall(r"[a-zA-Z']+", sentence.lower())
    if len(words) < 3:  # "Is it." is more likely the start of a sentence
        return False
    first, second = words[0], words[1]
    if first in _QUESTION_WORDS:  # but "where I live", "what you need": a clause
        return second not in _SUBJECTS
    return first in _AUXILIARIES and second in _SUBJECTS


def end_of_turn_probability(text: str) -> float:
    """Estimate P(the user has finished their turn) from the transcript so far.

    * empty text: 0.0 (nothing said yet);
    * a trailing conjunction, article or filler ("... and", "um"), a comma or an ellipsis:
      0.05 — the user is most likely going on;
    * a question mark: 0.95;
    * a last sentence worded as a question (:func:`asks`) ending with ``.`` or ``!``: 0.92
      (Whisper often writes ``.`` for a spoken question);
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
        last = re.split(r"(?<=[.?!])\s+", stripped)[-1]
        return 0.92 if asks(last) else 0.85
    return 0.6


class HeuristicTurn(TurnEngine):
    """The text heuristic of :func:`end_of_turn_probability` as a turn engine (no model).

    ``TurnDetector()`` uses it unless given another engine. Only a question (0.95, or 0.92
    worded as one) is surely over (``likely_threshold`` 0.9): a statement may go on after a
    pause.

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

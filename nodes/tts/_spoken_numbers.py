"""Numbers written in digits, as people say them: for scoring words (references are usually
spelled out, Whisper writes digits).

>>> spoken_numbers("In 1813, 2 of the 1,500 men")
'In eighteen thirteen, two of the one thousand five hundred men'
"""

from __future__ import annotations

import re

__all__ = ["NUMBER_WORDS", "SCALE_WORDS", "say_number", "spoken_numbers"]

_ONES = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
SCALE_WORDS = frozenset(name for _, name in _SCALES)
"""The words that scale a number: hundred, thousand, million, billion."""
NUMBER_WORDS = frozenset({*_ONES, *_TENS[2:], *SCALE_WORDS})
"""Every word :func:`say_number` says, but "oh" and "point"."""
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w])")


def _cardinal(n: int) -> list[str]:
    """``n`` in words, British "and" left out (it is dropped from references too)."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        tens, ones = divmod(n, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    size, name = next((size, name) for size, name in _SCALES if n >= size)  # n >= 100
    high, rest = divmod(n, size)
    return _cardinal(high) + [name] + (_cardinal(rest) if rest else [])


def say_number(digits: str) -> list[str]:
    """The words for a number written in digits (``"1,500"``, ``"1813"``, ``"3"``).

    Four-digit numbers from 1100 to 1999 and 2010 to 2099 are read as years ("eighteen
    thirteen", "nineteen oh five", "twenty twenty-four" as "twenty twenty four"); a number
    with a leading zero is read digit by digit ("007": "zero zero seven").
    """
    plain = digits.replace(",", "")
    if len(plain) > 1 and plain.startswith("0"):
        return [_ONES[int(d)] for d in plain]
    n = int(plain)
    if len(plain) == 4 and "," not in digits and (1100 <= n <= 1999 or 2010 <= n <= 2099):
        high, low = divmod(n, 100)
        if low == 0:
            return [*_cardinal(high), "hundred"]
        return [*_cardinal(high), *(["oh", _ONES[low]] if low < 10 else _cardinal(low))]
    return _cardinal(n)


def spoken_numbers(text: str) -> str:
    """``text`` with every number in digits replaced by its words (decimals as "point" and
    digits: ``3.25`` is "three point two five")."""

    def words(match: re.Match[str]) -> str:
        said = say_number(match.group(1))
        if match.group(2):
            said += ["point", *(_ONES[int(d)] for d in match.group(2))]
        return " ".join(said)

    return _NUMBER.sub(words, text)

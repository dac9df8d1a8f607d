"""Text for speech: markdown and emoji filters, and the sentence / clause boundary rules.

The filters follow LiveKit's default ``tts_text_transforms`` (``filter_markdown``,
``filter_emoji``): markdown syntax is removed but its text is kept (link text, image alt text,
bold/italic/code contents), struck-through text is dropped, and emoji and pictographs are
removed. They work on whole chunks; stray markers left by a style that spans two chunks
(``**Paris. It**``) are removed too.
"""

from __future__ import annotations

import re

__all__ = [
    "clause_end",
    "clean_text",
    "filter_emoji",
    "filter_markdown",
    "forced_cut",
    "sentence_end",
    "word_cut",
]

# ----------------------------------------------------------------------------- markdown

_LINE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\s*([-*_])\s*(?:\1\s*){2,}$", re.MULTILINE), ""),  # horizontal rule
    (re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE), ""),  # headers
    (re.compile(r"^\s*[-+*•]\s+", re.MULTILINE), ""),  # bullet list markers
    (re.compile(r"^\s*>+\s?", re.MULTILINE), ""),  # block quotes
]

_INLINE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: keep the alt text
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links: keep the link text
    (re.compile(r"`{3,}[^\s`]*"), ""),  # code fences (and their language tag)
    (re.compile(r"`([^`]*)`"), r"\1"),  # inline code: keep the code
    (re.compile(r"~~(?!\s)[^~]*?(?<!\s)~~"), ""),  # strikethrough: drop the struck text
    (re.compile(r"\*\*(?!\s)(.+?)(?<!\s)\*\*"), r"\1"),  # bold
    (re.compile(r"(?<!\w)__(?!\s)(.+?)(?<!\s)__(?!\w)"), r"\1"),  # bold with underscores
    (re.compile(r"(?<![\w*])\*(?![\s*])(.+?)(?<![\s*])\*(?![\w*])"), r"\1"),  # italic
    (re.compile(r"(?<!\w)_(?![\s_])(.+?)(?<![\s_])_(?!\w)"), r"\1"),  # italic, underscores
]

# Markers left over when a style spans two chunks. A '*' between digits or spaces is kept
# ("3 * 7"), a single '_' inside a word too ("snake_case").
_STRAY = re.compile(r"(?<=[^\s\d])\*+|\*+(?=[^\s\d])|__+|~~+|`+")


def filter_markdown(text: str) -> str:
    """Remove markdown syntax from ``text``, keeping the words a listener should hear.

    Headers, list bullets, block quotes, rules, code fences and emphasis markers are removed;
    link text, image alt text and code contents are kept; struck-through text is dropped.

    >>> filter_markdown("## Tip\\n- **Bold** and [a link](https://x.org) with `code`")
    'Tip\\nBold and a link with code'
    """
    for pattern, repl in _LINE_RULES:
        text = pattern.sub(repl, text)
    for pattern, repl in _INLINE_RULES:
        text = pattern.sub(repl, text)
    return _STRAY.sub("", text)


_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001fbff"  # mahjong tiles .. symbols for legacy computing (most emoji)
    "\u2600-\u27bf"  # miscellaneous symbols, dingbats
    "\u2b00-\u2bff"  # miscellaneous symbols and arrows
    "\u231a\u231b\u23e9-\u23fa"  # watch, hourglass, media buttons
    "\ufe00-\ufe0f"  # variation selectors
    "\u200d"  # zero width joiner
    "\u20e3"  # combining enclosing keycap
    "\U000e0020-\U000e007f"  # tag characters (subdivision flags)
    "]+"
)


def filter_emoji(text: str) -> str:
    """Remove emoji and pictographs from ``text``.

    >>> filter_emoji("Great job 🎉👍!")
    'Great job !'
    """
    return _EMOJI.sub("", text)


_SPACES = re.compile(r"\s+")
_SPEAKABLE = re.compile(r"\w")


def clean_text(text: str, *, markdown: bool = True, emoji: bool = True) -> str:
    """Filter ``text`` for speech and collapse whitespace; ``""`` if nothing speakable is left.

    Args:
        text: the raw chunk.
        markdown: apply :func:`filter_markdown` (default ``True``).
        emoji: apply :func:`filter_emoji` (default ``True``).
    """
    if markdown:
        text = filter_markdown(text)
    if emoji:
        text = filter_emoji(text)
    text = _SPACES.sub(" ", text).strip()
    return text if _SPEAKABLE.search(text) else ""


# ----------------------------------------------------------------------------- boundaries

ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "cf"),
        *("e.g", "i.e", "fig", "figs", "approx", "dept", "est", "no", "nos", "vol", "p", "pp"),
        *("ch", "sec", "gen", "col", "lt", "sgt", "capt", "rev", "hon", "gov", "pres", "sen"),
    }
)
"""Words (lower case, without the final dot) after which a '.' does not end a sentence."""

_END = re.compile(r"([.!?\u2026]+)([\"'\u201d\u2019)\]*_`~]*)(\s+)(\S?)")
_CLAUSE = re.compile(r"[,;:\u2014\u2013](?=\s)|\s[-\u2013\u2014](?=\s)")
_WORD_START = re.compile(r"\S*$")


def _dot_is_abbreviation(text: str, dot: int) -> bool:
    """Whether the single '.' at ``dot`` belongs to an abbreviation, an initial or a list number."""
    word = _WORD_START.search(text, 0, dot)
    token = word.group(0) if word else ""
    token = token.lstrip("\"'\u201c\u2018([*_")
    if token.lower() in ABBREVIATIONS:
        return True
    if len(token) == 1 and token.isupper():  # an initial: "J. K. Rowling"
        return True
    line_start = text.rfind("\n", 0, dot) + 1
    # a numbered list item: "1. Paris" at the start of a line
    return token.isdigit() and text[line_start:dot].strip() == token


def sentence_end(text: str, *, at_end: bool = False) -> int | None:
    """Index just past the first complete sentence in ``text``, or ``None`` if none is complete.

    A sentence ends at ``.``, ``!``, ``?`` or ``…`` (plus closing quotes/brackets) followed by
    white space, or at a line break. A ``.`` or ``…`` needs the next word to be seen, and does
    not end a sentence before a lower-case word, after an abbreviation (``Mr.``, ``e.g.``), an
    initial or a list number, or inside a number (``3.5``).

    Args:
        text: buffered text, possibly an incomplete stream.
        at_end: the text is complete (a dot before the end of the text then ends a sentence).
    """
    newline = -1
    content = re.search(r"\S", text)
    if content is not None:
        newline = text.find("\n", content.start())
    for m in _END.finditer(text):
        if 0 <= newline < m.start():
            break
        punct, nxt = m.group(1), m.group(4)
        if "!" not in punct and "?" not in punct:
            if not nxt and not at_end:
                continue  # need the next word to decide
            if nxt.islower():
                continue
            if punct == "." and _dot_is_abbreviation(text, m.start(1)):
                continue
        return m.end(2)
    if newline >= 0:
        return newline
    return None


def clause_end(text: str, min_chars: int) -> int | None:
    """Index just past the first clause break (``, ; : —``) after at least ``min_chars`` chars.

    Used for a reply's first chunk so the first audio can start before the whole sentence.
    """
    start = len(text) - len(text.lstrip())
    for m in _CLAUSE.finditer(text, start):
        if m.start() - start >= min_chars:
            return m.end()
    return None


def forced_cut(text: str, max_chars: int) -> int:
    """Where to cut a run-on ``text`` longer than ``max_chars``: a clause break, else a space."""
    head = text[:max_chars]
    breaks = [m.end() for m in _CLAUSE.finditer(head)]
    if breaks and breaks[-1] > max_chars // 3:
        return breaks[-1]
    space = head.rfind(" ")
    return space if space > max_chars // 3 else max_chars


_LAST_SPACE = re.compile(r"\s+\S*$")


def word_cut(text: str, min_words: int) -> int | None:
    """Index just past the last complete word of ``text``, if it has ``min_words`` of them.

    A word is complete once white space follows it, so the word still being streamed is
    never cut, and nothing without white space is (a number such as ``225,772,100``
    arrives digit by digit). Nor is a word that would end the chunk on a dot
    (``Mr.``, ``approx.``: the next word decides what the dot is). ``None`` if fewer than
    ``min_words`` complete words remain.
    """
    if text[-1:].isspace():
        head = text.rstrip()
    else:
        last = _LAST_SPACE.search(text)
        if last is None:
            return None
        head = text[: last.start()]
    while head.endswith("."):  # drop the word ending in a dot: see above
        last = _LAST_SPACE.search(head)
        if last is None:
            return None
        head = head[: last.start()]
    return len(head) if len(head.split()) >= min_words else None

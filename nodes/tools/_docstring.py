"""Read the description and per-argument descriptions out of a Google-style docstring."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

__all__ = ["Docstring", "parse_docstring"]

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns?|Yields?|"
    r"Raises|Examples?|Notes?|Attributes|See Also|Todo|Warnings?|References)\s*:\s*$"
)
_ARG_SECTIONS = {"Args", "Arguments", "Parameters", "Params", "Keyword Args", "Keyword Arguments"}
_ARG = re.compile(r"^\*{0,2}(?P<name>\w+)\s*(\([^)]*\))?\s*:\s*(?P<text>.*)$")


@dataclass(frozen=True)
class Docstring:
    """The parts of a docstring a tool schema needs.

    Attributes:
        description: the text before the first section (summary and body).
        args: argument name -> its description, from the ``Args:`` section.
    """

    description: str = ""
    args: dict[str, str] = field(default_factory=dict)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_docstring(doc: str | None) -> Docstring:
    """Parse a Google-style docstring.

    >>> d = parse_docstring('''Look up the weather.
    ...
    ...     Args:
    ...         city (str): The city,
    ...             e.g. Paris.
    ...     ''')
    >>> d.description, d.args
    ('Look up the weather.', {'city': 'The city, e.g. Paris.'})
    """
    if not doc:
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    arg_indent: int | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        header = _SECTION.match(stripped) if _indent(line) == 0 else None
        if header:
            section, arg_indent, current = header.group(1), None, None
            continue
        if section is None:
            description.append(line)
            continue
        if section not in _ARG_SECTIONS or not stripped:
            continue
        indent = _indent(line)
        if arg_indent is None:
            arg_indent = indent
        match = _ARG.match(stripped) if indent <= arg_indent else None
        if match:
            current = match.group("name")
            args[current] = match.group("text").strip()
        elif current is not None:  # a continuation line of the current argument
            args[current] = f"{args[current]} {stripped}".strip()
    text = "\n".join(description).strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    return Docstring(text, args)

"""Keep credentials out of logs and error messages, and keep provider bodies short.

:func:`redact_secrets` masks the values of credential headers and parameters
(``xi-api-key: ...``, ``x-goog-api-key``, ``Authorization: Bearer ...``, ``?key=...``,
``"api_key": "..."``, ``access_token=...``), strings shaped like API keys or tokens (Google
``AIza...``, ElevenLabs ``sk_...``, JWTs), and the value of every environment variable whose
name says it holds a secret (``*KEY*``, ``*SECRET*``, ``*TOKEN*``, ``*PASSWORD*``; values of 8
characters or more). :func:`clip_text` caps a text, saying how much was left out; :func:`clip`
caps it with a plain ``...``; :func:`listing` names the first few of many.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

__all__ = ["MASK", "clip", "clip_text", "listing", "redact_secrets"]

MASK = "***"

_NAMES = (
    r"xi[-_]api[-_]key|x[-_]goog[-_]api[-_]key|x[-_]api[-_]key|api[-_]?key|api[-_]?secret|"
    r"(?:proxy-)?authorization|set-cookie|cookie|"
    r"(?:access|refresh|id|auth|bearer)[-_]?token|token|secret|client[-_]?secret|"
    r"password|passwd|key"
)
# A name (bare or quoted, bytes literals too) then ":" or "=" (or "," between quoted items, as
# in a repr of a header list), then the value: "Bearer xyz" keeps its scheme.
_FIELD = re.compile(
    rf"""(?P<head>(?<![\w-])(?:b?(?P<q>['"])(?:{_NAMES})(?P=q)\s*[:=,]|(?:{_NAMES})\s*[:=])"""
    r"""\s*(?:b?['"])?(?:(?:Bearer|Basic|Token|Bot)\s+)?)"""
    r"""(?P<value>[^\s'",;&)\]}>]+)""",
    re.IGNORECASE,
)
_SHAPES = re.compile(
    r"AIza[0-9A-Za-z_-]{30,}"  # Google API key
    r"|\bsk_[0-9A-Za-z]{20,}"  # ElevenLabs (and similar) secret key
    r"|\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}"  # a JWT (LiveKit access tokens)
)
_SECRET_VARIABLE = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD", re.IGNORECASE)
_MIN_SECRET = 8


def _environment_secrets() -> list[str]:
    values = {
        value
        for name, value in os.environ.items()
        if len(value) >= _MIN_SECRET and _SECRET_VARIABLE.search(name)
    }
    return sorted(values, key=len, reverse=True)


def redact_secrets(text: str) -> str:
    """``text`` with every credential it contains replaced by ``***`` (see the module doc).

    Masking is by shape and by name, so it errs towards hiding too much: a value after any
    ``token=`` or ``key:`` is masked.
    """
    for secret in _environment_secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    text = _SHAPES.sub(MASK, text)
    return _FIELD.sub(lambda m: m.group("head") + MASK, text)


def clip_text(text: str, limit: int = 500) -> str:
    """``text`` cut to ``limit`` characters, ending ``… (N more characters)`` if it was longer."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def clip(text: str, limit: int = 1000) -> str:
    """``text`` cut to ``limit`` characters (ending ``...`` when cut)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def listing(names: Iterable[str], *, sort: bool = True, limit: int = 20) -> str:
    """``"a, b, c"``: the first ``limit`` names (sorted, unless ``sort=False``), then
    ``"... and N more"``; ``"none"`` when there are none."""
    items = sorted(names) if sort else list(names)
    text = ", ".join(items[:limit])
    if len(items) > limit:
        text += f", ... and {len(items) - limit} more"
    return text or "none"

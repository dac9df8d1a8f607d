"""Logging for the worker commands and job processes: levels, and no credentials in any record.

:func:`setup_logging` is what ``--log-level`` does. The chosen level applies to voicegraph
and the agent's own loggers; the network libraries under it (``websockets``, ``httpx``,
``httpcore``, ``hpack``, ``urllib3``, ``aiohttp``, ``asyncio`` ...) stay at WARNING, because
at DEBUG they print every request header, API keys included. To see one of them anyway, set
its level yourself (``logging.getLogger("websockets").setLevel(logging.DEBUG)``, e.g. in the
agent file): a level set before or after the setup is respected.

Whatever the levels, every handler of the root logger gets a :class:`RedactSecrets` filter,
which masks credentials (API-key headers, ``Authorization``, ``key=``/``token=`` parameters,
key-shaped strings, the values of ``*KEY*``/``*SECRET*``/``*TOKEN*`` environment variables;
see :func:`voicegraph.graph.redact_secrets`) in the message, its arguments, the exception text
and the stack of every record, so no level prints a key.
"""

from __future__ import annotations

import logging

from voicegraph.graph import ConfigError, redact_secrets

__all__ = ["QUIET_LOGGERS", "RedactSecrets", "parse_level", "setup_logging"]

QUIET_LOGGERS = (
    "websockets",
    "httpx",
    "httpcore",
    "hpack",
    "h2",
    "h11",
    "urllib3",
    "requests",
    "aiohttp",
    "asyncio",
    "google_genai",
    "google.auth",
    "elevenlabs",
    "livekit",
)
"""Third-party loggers kept at WARNING (unless their level was set explicitly)."""

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactSecrets(logging.Filter):
    """A handler filter that masks credentials in every record it passes (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format: keep what there is, masked
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact_secrets(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_secrets(record.stack_info)
        return True


def parse_level(level: str | int) -> int:
    """``"debug"``... or a number, as a logging level.

    Raises:
        ConfigError: an unknown level name.
    """
    if isinstance(level, int):
        return level
    numeric = getattr(logging, level.upper(), None)
    if not isinstance(numeric, int):
        raise ConfigError(f"unknown log level {level!r} (debug, info, warning, error)")
    return numeric


def setup_logging(level: str | int, *, fmt: str = FORMAT) -> int:
    """Log at ``level`` to stderr (a handler is added only if the root logger has none), keep
    :data:`QUIET_LOGGERS` at WARNING, and mask credentials on every root handler.

    Returns the numeric level. Calling it again is harmless (one filter per handler).

    Raises:
        ConfigError: an unknown level name.
    """
    numeric = parse_level(level)
    root = logging.getLogger()
    if not root.handlers:
        stderr = logging.StreamHandler()
        stderr.setFormatter(logging.Formatter(fmt))
        root.addHandler(stderr)
    root.setLevel(numeric)
    for handler in root.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(max(numeric, logging.WARNING))
    return numeric

"""The playground's WebSocket protocol: what the page and the server send each other.

One WebSocket is one session. The page connects to ``/ws?session=<id>`` (plus
``&token=<token>`` when the server needs one) and sends, in order:

1. a JSON text message ``{"type": "start", "sample_rate": 16000}`` (the microphone's rate:
   one of :data:`SAMPLE_RATES`; mono);
2. then binary messages, each one frame of the microphone: 16-bit little-endian mono PCM at
   that rate, at most :data:`MAX_FRAME_SECONDS` long.

The server answers ``{"type": "ready", "sample_rate": 24000, "session": id, "graph": svg}``
and then sends binary messages (the agent's voice: 16-bit mono PCM at
:data:`OUTPUT_SAMPLE_RATE`) and JSON events (:func:`event`): ``state`` (the agent's state),
``user`` / ``agent`` (transcript lines, ``final`` false for interim text), ``interrupted``
(drop the queued playback), ``diagram`` (the graph with live metrics, SVG), ``timeline``
(the conversation timeline after each turn, a PNG data URL), ``error``, ``closed``.

Bad input closes the socket with one of the close codes below and a reason that says what
was wrong; the server goes on serving the other sessions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from voicegraph.graph import InputError

__all__ = [
    "CLOSE_BAD_MESSAGE",
    "CLOSE_BUSY",
    "CLOSE_ENDED",
    "CLOSE_TOO_LARGE",
    "CLOSE_UNSUPPORTED_RATE",
    "MAX_FRAME_SECONDS",
    "MAX_MESSAGE_BYTES",
    "OUTPUT_SAMPLE_RATE",
    "SAMPLE_RATES",
    "ProtocolError",
    "Start",
    "check_frame",
    "event",
    "parse_text",
]

SAMPLE_RATES = (16000, 24000, 48000)
"""Microphone rates the server accepts (Hz, mono)."""
OUTPUT_SAMPLE_RATE = 24000
"""The rate of the agent's voice sent to the page (Hz, mono, 16-bit)."""
MAX_FRAME_SECONDS = 0.1
"""The longest microphone frame accepted (seconds)."""
MAX_MESSAGE_BYTES = 64 * 1024
"""Any message larger than this is refused by the WebSocket layer itself (close 1009)."""

CLOSE_ENDED = 4000
"""The session ended (the agent's job finished)."""
CLOSE_BAD_MESSAGE = 4400
"""Not JSON, an unknown message type, audio before ``start``, an odd number of bytes..."""
CLOSE_BUSY = 4409
"""Another connection already holds this session id."""
CLOSE_TOO_LARGE = 4413
"""A microphone frame longer than :data:`MAX_FRAME_SECONDS`."""
CLOSE_UNSUPPORTED_RATE = 4415
"""A sample rate that is not one of :data:`SAMPLE_RATES`."""


class ProtocolError(InputError):
    """A message the server cannot accept: ``code`` and ``reason`` go into the close frame."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:120]  # a close reason is at most 123 bytes


@dataclass(frozen=True)
class Start:
    """The page's first message: the microphone's sample rate."""

    sample_rate: int


def parse_text(text: str, *, started: bool) -> Start | None:
    """Check a text message; return :class:`Start` for the first one, ``None`` for a ping.

    Raises:
        ProtocolError: not a JSON object with a known ``type``, a second ``start``, or an
            unsupported sample rate.
    """
    try:
        message = json.loads(text)
    except ValueError:
        raise ProtocolError(CLOSE_BAD_MESSAGE, "text messages must be JSON objects") from None
    if not isinstance(message, dict):
        raise ProtocolError(CLOSE_BAD_MESSAGE, "text messages must be JSON objects")
    kind = message.get("type")
    if kind == "ping":
        return None
    if kind != "start":
        raise ProtocolError(CLOSE_BAD_MESSAGE, f"unknown message type {kind!r}; send 'start'")
    if started:
        raise ProtocolError(CLOSE_BAD_MESSAGE, "'start' was already sent")
    rate = message.get("sample_rate")
    if isinstance(rate, bool) or rate not in SAMPLE_RATES:
        rates = ", ".join(str(r) for r in SAMPLE_RATES)
        raise ProtocolError(
            CLOSE_UNSUPPORTED_RATE, f"unsupported sample rate {rate!r}: send {rates} Hz mono"
        )
    return Start(int(rate))


def check_frame(data: bytes, start: Start | None) -> int:
    """Check a binary microphone frame; return its number of samples.

    Raises:
        ProtocolError: audio before ``start``, an odd byte count or a frame too long.
    """
    if start is None:
        raise ProtocolError(CLOSE_BAD_MESSAGE, "audio before 'start': send start first")
    if len(data) % 2:
        raise ProtocolError(CLOSE_BAD_MESSAGE, "audio frames are 16-bit PCM: even byte counts")
    samples = len(data) // 2
    limit = round(start.sample_rate * MAX_FRAME_SECONDS)
    if samples > limit:
        raise ProtocolError(
            CLOSE_TOO_LARGE,
            f"audio frame of {samples} samples is too long: at most {limit} "
            f"({MAX_FRAME_SECONDS * 1000:.0f} ms)",
        )
    return samples


def event(kind: str, **fields: Any) -> str:
    """A server event as JSON text."""
    return json.dumps({"type": kind, **fields})

"""The LiveKit edge: conversions between voicegraph and ``livekit.rtc`` audio frames.

This is the only place that translates frame types; the nodes of this package call
:func:`to_rtc` before handing audio to ``livekit.rtc`` and :func:`from_rtc` on what comes back.
``livekit`` is imported lazily (inside :func:`import_rtc`) so ``import voicegraph`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from voicegraph.graph import AudioFrame, MissingDependencyError

if TYPE_CHECKING:
    from livekit import rtc

__all__ = ["from_rtc", "import_rtc", "to_rtc"]


def import_rtc(what: str) -> None:
    """Import ``livekit.rtc`` (slow the first time: it loads LiveKit's native library).

    Args:
        what: the node needing it, for the error message.

    Raises:
        MissingDependencyError: if the ``livekit`` package is not installed.
    """
    try:
        from livekit import rtc  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("livekit", what=what) from exc


def to_rtc(frame: AudioFrame) -> rtc.AudioFrame:
    """Copy a voicegraph :class:`AudioFrame` into a new ``livekit.rtc.AudioFrame``.

    The samples are copied into a fresh, writable buffer, so ``livekit.rtc`` may process it in
    place (as ``AudioProcessingModule`` does) without touching the original frame's array.
    """
    from livekit import rtc

    data = bytearray(np.ascontiguousarray(frame.pcm).tobytes())
    return rtc.AudioFrame(data, frame.sample_rate, frame.channels, frame.samples)


def from_rtc(frame: rtc.AudioFrame, pts: float = 0.0) -> AudioFrame:
    """Wrap a ``livekit.rtc.AudioFrame`` as a voicegraph :class:`AudioFrame` at media time ``pts``.

    The samples are not copied: the new frame's array views the ``rtc`` frame's buffer (it
    keeps the buffer alive), so do not process that ``rtc`` frame in place afterwards.
    """
    pcm = np.frombuffer(frame.data, dtype=np.int16)
    pcm = pcm[: frame.samples_per_channel * frame.num_channels]
    return AudioFrame(pcm.reshape(-1, frame.num_channels), frame.sample_rate, pts=pts)

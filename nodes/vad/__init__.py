"""Voice activity detection: :class:`SileroVAD` (the embedded Silero model)."""

from ._silero import SileroVAD as SileroVAD

__all__ = ["SileroVAD"]

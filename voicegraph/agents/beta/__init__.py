"""``livekit.agents.beta``: only :mod:`~voicegraph.agents.beta.tools` is provided (LiveKit's
beta toolsets, workflows and translation have no voicegraph counterpart yet)."""

from . import tools as tools

__all__ = ["tools"]

"""``livekit.agents.beta``: :class:`EndCallTool` (also as ``beta.tools.EndCallTool``).

LiveKit's beta ``Instructions``, ``workflows`` and ``translation`` have no voicegraph
counterpart yet.
"""

from voicegraph.nodes.agent import EndCallTool as EndCallTool

from . import tools as tools

__all__ = ["EndCallTool", "tools"]

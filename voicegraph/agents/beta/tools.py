"""``livekit.agents.beta.tools``: :class:`EndCallTool` (``send_dtmf`` is not provided: the
local room has no telephony)."""

from voicegraph.nodes.agent import EndCallTool as EndCallTool

__all__ = ["EndCallTool"]

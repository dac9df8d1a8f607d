"""Talk to an agent in the browser: ``voicegraph playground [module:attribute]``.

A local aiohttp server serves a page (plain HTML/JS/CSS shipped in the wheel) with a talk
button, the agent's voice, a live transcript, the agent's state, the graph's diagram with
live metrics and the conversation timeline. Each WebSocket is an independent session: the
agent's job runs in a :class:`~voicegraph.runner.worker.LocalRoom` fed by the page's
microphone. See ``docs/playground.md``.
"""

from voicegraph.graph import rehome

from ._agents import DEFAULT_INSTRUCTIONS as DEFAULT_INSTRUCTIONS
from ._agents import agent_server as agent_server
from ._bridge import SessionBridge as SessionBridge
from ._protocol import OUTPUT_SAMPLE_RATE as OUTPUT_SAMPLE_RATE
from ._protocol import SAMPLE_RATES as SAMPLE_RATES
from ._serve import is_loopback as is_loopback
from ._serve import playground as playground
from ._server import PlaygroundServer as PlaygroundServer
from ._server import static_folder as static_folder

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "OUTPUT_SAMPLE_RATE",
    "SAMPLE_RATES",
    "PlaygroundServer",
    "SessionBridge",
    "agent_server",
    "is_loopback",
    "playground",
    "static_folder",
]

rehome(__name__, globals(), __all__)

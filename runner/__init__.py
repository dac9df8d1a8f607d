"""How a pipeline *runs*: bounded edges, interrupts, clocks, supervision, metrics, traces, the
event bus.

``__all__`` is what users build with; the other names imported here are for tests and tools.
"""

from voicegraph.graph import rehome

from ._bus import EventBus as EventBus
from ._bus import Subscription as Subscription
from ._clock import RealClock as RealClock
from ._clock import VirtualClock as VirtualClock
from ._codec import decode_item as decode_item
from ._codec import encode_item as encode_item
from ._edge import CONTROL_CAPACITY as CONTROL_CAPACITY
from ._metrics import BusStats as BusStats
from ._metrics import EdgeStats as EdgeStats
from ._metrics import NodeStats as NodeStats
from ._metrics import RunMetrics as RunMetrics
from ._runner import Runner as Runner
from ._runner import run as run
from ._runner import run_sync as run_sync
from ._trace import Trace as Trace
from ._trace import load_trace as load_trace
from ._trace import replay_plan as replay_plan

__all__ = [
    "BusStats",
    "EdgeStats",
    "NodeStats",
    "RealClock",
    "RunMetrics",
    "Runner",
    "Subscription",
    "Trace",
    "VirtualClock",
    "load_trace",
    "run",
    "run_sync",
]

rehome(__name__, globals(), __all__)

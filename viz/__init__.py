"""Seeing a pipeline: diagrams, session timelines and a live Jupyter view.

* :func:`to_dot` / :func:`render`: a graph's diagram (DOT, SVG, PNG), optionally with metrics
  from a run and the bottleneck marked. ``Graph`` objects also show as SVG in Jupyter.
* :func:`plot_timeline`: one figure per session from a recorded trace (:class:`SessionTrace`)
  and/or a voice pipeline: speech, transcripts, turns, LLM tokens, tools, TTS, playout,
  interruptions, and a per-turn latency waterfall.
* :class:`LiveView`: an ipywidgets view that updates the diagram's metrics and the
  transcript while a session runs, with audio players for the input and the reply
  (needs ``pip install 'voicegraph[jupyter]'``).

Nothing heavy is imported until used: matplotlib, the Graphviz WebAssembly module and
ipywidgets load on first use.
"""

from voicegraph.graph import rehome

from ._dot import Highlight as Highlight
from ._dot import Rankdir as Rankdir
from ._dot import bottleneck as bottleneck
from ._dot import to_dot as to_dot
from ._live import LiveView as LiveView
from ._render import FORMATS as FORMATS
from ._render import Diagram as Diagram
from ._render import DiagramWarning as DiagramWarning
from ._render import Format as Format
from ._render import render as render
from ._session import Mark as Mark
from ._session import SessionTrace as SessionTrace
from ._session import Span as Span
from ._session import Timeline as Timeline
from ._session import TraceSource as TraceSource
from ._session import TurnLatency as TurnLatency
from ._timeline import ROWS as ROWS
from ._timeline import STAGE_COLORS as STAGE_COLORS
from ._timeline import plot_timeline as plot_timeline

__all__ = [
    "Diagram",
    "DiagramWarning",
    "LiveView",
    "Mark",
    "SessionTrace",
    "Span",
    "Timeline",
    "TurnLatency",
    "bottleneck",
    "plot_timeline",
    "render",
    "to_dot",
]

rehome(__name__, globals(), __all__)

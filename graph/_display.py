"""How a :class:`~voicegraph.graph.Graph` shows itself in Jupyter, without graph importing viz.

``graph`` is the bottom of the dependency order (it imports none of runner, nodes, viz), but
Jupyter asks the graph object itself for its picture (``_repr_svg_``). So graph keeps a one-slot
registry here, and the facade (``voicegraph/__init__.py``, which every ``import voicegraph.*``
runs first) fills it with a function that imports ``voicegraph.viz`` on first use.

>>> from voicegraph.graph import Graph, set_svg_renderer
>>> previous = set_svg_renderer(lambda graph: "<svg/>")
>>> Graph()._repr_svg_()
'<svg/>'
>>> set_svg_renderer(previous) is not None
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._graph import Graph

__all__ = ["SvgRenderer", "set_svg_renderer", "svg_of"]

SvgRenderer = Callable[["Graph"], "str | None"]
"""Draws a graph as SVG text (``None`` when no renderer is available)."""

_renderer: SvgRenderer | None = None


def set_svg_renderer(renderer: SvgRenderer | None) -> SvgRenderer | None:
    """Install the function that draws graphs for Jupyter (``None`` removes it).

    Returns the renderer it replaces, so a caller can put it back.
    """
    global _renderer
    previous, _renderer = _renderer, renderer
    return previous


def svg_of(graph: Graph) -> str | None:
    """``graph`` as SVG through the installed renderer, or ``None`` if there is none."""
    return None if _renderer is None else _renderer(graph)

"""Draw a Graphviz layout (``-Tjson``: xdot drawing operations) with matplotlib, to PNG.

The WebAssembly Graphviz renders SVG but not PNG (it has no cairo). Its ``json`` output holds
the finished layout as drawing operations (polygons, ellipses, Bézier curves, text), which this
module replays on a matplotlib canvas (Agg, no display), so PNG works after a plain
``pip install`` too. One Graphviz point is one canvas unit (72 per inch).
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["PROBE", "probe_filled_bezier", "xdot_to_png"]

_SCALE_MIN = 0.5
_TEXT_FAMILY = "DejaVu Sans"


@dataclass
class _Pen:
    color: str = "#000000"
    fill: str = "#000000"
    size: float = 14.0
    bold: bool = False
    italic: bool = False
    dash: str = "solid"
    width: float = 1.0
    invisible: bool = False


def xdot_to_png(layout: bytes | str, *, dpi: int = 144, filled_bezier: str = "b") -> bytes:
    """Draw Graphviz ``-Tjson`` output as PNG bytes.

    Args:
        layout: the ``-Tjson`` output.
        dpi: resolution (default 144: twice the layout's 72 points per inch).
        filled_bezier: the op letter of a filled Bézier shape (``"b"`` in the xdot spec; some
            Graphviz builds swap ``b``/``B`` in their JSON output, see :func:`probe_filled_bezier`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = json.loads(layout)
    x0, y0, x1, y1 = (float(v) for v in str(data.get("bb", "0,0,100,100")).split(","))
    width, height = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    fig = Figure(figsize=(width / 72, height / 72), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()
    objects = data.get("objects", [])
    clusters = [o for o in objects if "nodes" in o or "edges" in o or "bb" in o]
    nodes = [o for o in objects if o not in clusters]
    layers = [data, *clusters]
    for obj in layers:
        _draw_ops(ax, obj.get("_draw_", []), filled_bezier)
        _draw_ops(ax, obj.get("_ldraw_", []), filled_bezier)
    for edge in data.get("edges", []):
        for key in ("_draw_", "_hdraw_", "_tdraw_", "_ldraw_", "_hldraw_", "_tldraw_"):
            _draw_ops(ax, edge.get(key, []), filled_bezier)
    for obj in nodes:
        _draw_ops(ax, obj.get("_draw_", []), filled_bezier)
        _draw_ops(ax, obj.get("_ldraw_", []), filled_bezier)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, facecolor="white")
    return out.getvalue()


def _color(value: str) -> str:
    if not value or value in ("transparent", "none", "invis"):
        return "none"
    return value


def probe_filled_bezier(layout: bytes | str) -> str:
    """The op letter a Graphviz build uses in ``-Tjson`` for a filled Bézier shape.

    ``layout`` is that build's ``-Tjson`` output for :data:`PROBE` (a filled rounded box).
    """
    data = json.loads(layout)
    for obj in data.get("objects", []):
        for op in obj.get("_draw_", []):
            if op.get("op") in ("b", "B"):
                return str(op["op"])
    return "b"


PROBE = 'digraph { a [shape=box, style="rounded,filled"] }'
"""A graph whose only shape is a filled Bézier outline (see :func:`probe_filled_bezier`)."""


def _draw_ops(ax: Any, ops: list[dict[str, Any]], filled_bezier: str) -> None:
    from matplotlib.patches import Ellipse, PathPatch, Polygon
    from matplotlib.path import Path

    pen = _Pen()
    for op in ops:
        kind = op.get("op")
        if kind == "c":
            pen.color = _color(op.get("color", "#000000"))
        elif kind == "C":
            pen.fill = _color(op.get("color", "#000000"))
        elif kind == "F":
            pen.size = float(op.get("size", 14.0))
            face = str(op.get("face", ""))
            pen.bold = "Bold" in face
            pen.italic = "Italic" in face or "Oblique" in face
        elif kind == "t":
            flags = int(op.get("fontchar", 0))
            pen.bold, pen.italic = bool(flags & 1), bool(flags & 2)
        elif kind == "S":
            _style(pen, str(op.get("style", "")))
        elif pen.invisible:
            continue
        elif kind in ("E", "e"):
            cx, cy, rx, ry = (float(v) for v in op["rect"])
            ax.add_patch(
                Ellipse(
                    (cx, cy),
                    2 * rx,
                    2 * ry,
                    facecolor=pen.fill if kind == "E" else "none",
                    **_line(pen),
                )
            )
        elif kind in ("P", "p", "L"):
            points = [(float(x), float(y)) for x, y in op["points"]]
            ax.add_patch(
                Polygon(
                    points,
                    closed=kind != "L",
                    facecolor=pen.fill if kind == "P" else "none",
                    **_line(pen),
                )
            )
        elif kind in ("B", "b"):
            points = [(float(x), float(y)) for x, y in op["points"]]
            codes = [Path.MOVETO] + [Path.CURVE4] * (len(points) - 1)
            if len(points) < 4 or (len(points) - 1) % 3:
                codes = [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)
            ax.add_patch(
                PathPatch(
                    Path(points, codes),
                    facecolor=pen.fill if kind == filled_bezier else "none",
                    **_line(pen),
                )
            )
        elif kind == "T":
            _text(ax, pen, op)


def _style(pen: _Pen, style: str) -> None:
    if style.startswith("setlinewidth("):
        with contextlib.suppress(ValueError):
            pen.width = float(style[len("setlinewidth(") : -1])
    elif style in ("dashed", "dotted", "solid"):
        pen.dash = style
    elif style == "bold":
        pen.width = max(pen.width, 2.0)
    elif style == "invis":
        pen.invisible = True


def _line(pen: _Pen) -> dict[str, Any]:
    styles = {"dashed": (0, (5, 2)), "dotted": (0, (1, 2)), "solid": "solid"}
    return {
        "edgecolor": pen.color,
        "linewidth": pen.width * 0.75,  # points -> matplotlib's width at 72 units per inch
        "linestyle": styles.get(pen.dash, "solid"),
        "joinstyle": "round",
    }


def _text(ax: Any, pen: _Pen, op: dict[str, Any]) -> None:
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    text = str(op.get("text", ""))
    if not text.strip():
        return
    x, y = (float(v) for v in op["pt"])
    prop = FontProperties(
        family=_TEXT_FAMILY,
        weight="bold" if pen.bold else "normal",
        style="italic" if pen.italic else "normal",
    )
    size = pen.size
    # Graphviz laid the text out with its own font metrics; shrink ours to the same width
    wanted = float(op.get("width", 0.0))
    if wanted > 0:
        natural = TextPath((0, 0), text, size=size, prop=prop).get_extents().width
        if natural > wanted:
            size *= max(_SCALE_MIN, wanted / natural)
    prop.set_size(size)
    align = {"l": "left", "r": "right"}.get(str(op.get("align", "c")), "center")
    ax.text(
        x,
        y,
        text,
        ha=align,
        va="baseline",
        fontproperties=prop,
        color=pen.color if pen.color != "none" else "#000000",
    )

"""Graphviz DOT text for a :class:`~voicegraph.graph.Graph`, optionally annotated with metrics.

The DOT is built with the ``graphviz`` package, whose quoting makes any name valid DOT. Every
piece of user text (node, graph, port and frame-type names, settings) is shown literally:
``graphviz.escape`` neutralizes backslashes and ``<...>``, and the helpers at the end escape
what the package does not know about (record-label syntax ``{}|<>``, HTML entities, Graphviz's
special identifiers). Rendering is :mod:`voicegraph.viz._render`'s job (no ``dot`` program).

>>> from voicegraph.graph import Graph
>>> from voicegraph.viz import to_dot
>>> print(to_dot(Graph("demo")).splitlines()[0])
digraph demo {
>>> print(to_dot(graph, runner.metrics()))    # after (or during) a run   # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

import graphviz
from graphviz.quoting import attr_list, quote

from voicegraph.graph import ConfigError, Edge, Engine, Graph, Node
from voicegraph.runner import EdgeStats, NodeStats, RunMetrics

__all__ = ["Highlight", "Rankdir", "bottleneck", "to_dot"]

Rankdir = Literal["LR", "TB"]
Highlight = Literal["auto"] | str | None
"""Which node to mark as the bottleneck: ``"auto"``, a node path, or ``None`` for none."""

FONT = "Helvetica"
# fill, border per node kind
KIND_STYLE: dict[str, tuple[str, str]] = {
    "source": ("#e3f4e1", "#3c8d40"),
    "stage": ("#e8eef9", "#4a6fa5"),
    "sink": ("#fdf0dc", "#c77c12"),
}
BOTTLENECK_STYLE = ("#fbdcdc", "#c0392b")
EDGE_COLOR = "#555555"
FEEDBACK_COLOR = "#7a5ea8"
PROBLEM_COLOR = "#c0392b"
MUTED = "#666666"
_MAX_CONFIG_LINES = 3
_MAX_VALUE_CHARS = 28
_BLANKS = re.compile(r"[\t\n\v\f\r]")


def to_dot(
    graph: Graph,
    metrics: RunMetrics | None = None,
    *,
    bottleneck: Highlight = "auto",
    title: str | None = None,
    config: bool = True,
    rankdir: Rankdir = "LR",
) -> str:
    """Describe ``graph`` as Graphviz DOT text.

    Nodes are coloured by kind (sources green with a bold border, stages blue, sinks orange)
    and show their name, class and non-default settings; subgraphs are drawn as clusters.
    Each edge shows its ports (``out → in``), frame type, capacity and policy;
    ``feedback=True`` edges are dashed and do not constrain the layout. The graph does not
    have to be valid (``check()`` is not called).

    With ``metrics`` (``runner.metrics()``, during or after a run), nodes also show frames in/out,
    busy time and time per frame, edges show frames per second, queue depth/high-water and drops;
    edges that filled up or dropped frames are drawn red, and the bottleneck node is marked.

    Args:
        graph: the graph to draw.
        metrics: a metrics snapshot to overlay (default ``None``: structure only).
        bottleneck: ``"auto"`` (default: see :func:`bottleneck`), a node path to mark, or
            ``None`` to mark none. Only used with ``metrics``.
        title: a caption (default: the graph's name, if any).
        config: show each node's non-default settings (default ``True``).
        rankdir: ``"LR"`` (default: data flows left to right) or ``"TB"`` (top to bottom,
            narrower for long pipelines).

    Returns:
        DOT source text (``digraph``).
    """
    if rankdir not in ("LR", "TB"):
        raise ConfigError(
            f"rankdir must be 'LR' (left to right) or 'TB' (top to bottom), not {rankdir!r}"
        )
    marked = None
    if metrics is not None:
        marked = _bottleneck(metrics) if bottleneck == "auto" else bottleneck
    caption = title if title is not None else graph.name
    graph_attr = {
        "rankdir": rankdir,
        "fontname": FONT,
        "fontsize": "12",
        "nodesep": "0.3",
        "ranksep": "0.45",
        "bgcolor": "white",
        "pad": "0.2",
    }
    if caption:
        graph_attr |= {"label": _text(caption), "labelloc": "t"}
    dot = graphviz.Digraph(
        name=_id(graph.name or "voicegraph"),
        graph_attr=graph_attr,
        node_attr={
            "shape": "Mrecord",
            "style": "filled",
            "fontname": FONT,
            "fontsize": "10",
            "margin": "0.12,0.06",
            "penwidth": "1.2",
        },
        edge_attr={
            "fontname": FONT,
            "fontsize": "8",
            "color": EDGE_COLOR,
            "fontcolor": "#333333",
            "arrowsize": "0.7",
            "penwidth": "1.1",
        },
    )
    _members(graph, _Style(metrics, marked, config, rankdir == "TB"), dot)
    for edge in graph.iter_edges():
        dot.body.append(_edge(edge, metrics))
    source: str = dot.source
    return source


def bottleneck(metrics: RunMetrics) -> str | None:
    """The node most likely to hold the pipeline back, judged from the counters in ``metrics``.

    The busiest node (time in its handlers) among those that are not themselves waiting on a
    full output edge (a node blocked on a full edge counts that wait as busy time, so the
    slow stage is further downstream) and that pass data on: a terminal node's time, such as
    an audio output playing in real time, is usually pacing rather than a bottleneck. When no
    node qualifies, the busiest node not waiting on a full edge; ``None`` if none was busy.
    """
    return _bottleneck(metrics)


def _bottleneck(metrics: RunMetrics) -> str | None:
    blocked: set[str] = set()
    passes_data: set[str] = set()
    for label, e in metrics.edges.items():
        src = label.split(" -> ", 1)[0].rpartition(".")[0]
        if e.high_water >= e.capacity and e.frames > 0:
            blocked.add(src)
        if e.frames > 0:
            passes_data.add(src)
    free = [p for p, s in metrics.nodes.items() if s.busy > 0 and p not in blocked]
    for pool in ([p for p in free if p in passes_data], free):
        if pool:
            return max(pool, key=lambda p: metrics.nodes[p].busy)
    return None


@dataclass(frozen=True)
class _Style:
    metrics: RunMetrics | None
    marked: str | None
    config: bool
    vertical: bool


def _members(graph: Graph, style: _Style, target: graphviz.Digraph) -> None:
    for member in graph.members:
        if isinstance(member, Graph):
            cluster = graphviz.Digraph(
                name=_id("cluster_" + member.path),
                graph_attr={
                    "label": _text(member.name),
                    "labeljust": "l",
                    "fontsize": "10",
                    "style": "rounded,dashed",
                    "color": "#8a8a8a",
                },
            )
            _members(member, style, cluster)
            target.subgraph(graph=cluster)
        else:
            _node(member, style, target)


def _node(node: Node, style: _Style, target: graphviz.Digraph) -> None:
    metrics, marked = style.metrics, style.marked
    kind = node.kind
    fill, border = KIND_STYLE.get(kind, KIND_STYLE["stage"])
    path = node.path
    hot = marked is not None and path == marked
    if hot:
        fill, border = BOTTLENECK_STYLE
    # a record of stacked compartments: rankdir=LR stacks "a|b|c" top to bottom, TB "{a|b|c}"
    title = [node.name or type(node).__name__, f"{type(node).__name__} · {kind}"]
    title += [f"{key}: {label}" for key, label in _engine_labels(node)]
    fields = [r"\n".join(_rec(line) for line in title)]
    settings = _config_lines(node) if style.config else []
    if settings:
        fields.append(_left(settings))
    stats = metrics.nodes.get(path) if metrics is not None else None
    lines = _node_metric_lines(stats) if stats is not None else []
    if hot:
        lines.append("◆ bottleneck")
    if lines:
        fields.append(_left(lines))
    label = "{" + "|".join(fields) + "}" if style.vertical else "|".join(fields)
    attrs = {
        "fillcolor": fill,
        "color": border,
        "tooltip": _tooltip(f"{type(node).__module__}.{type(node).__qualname__}"),
    }
    if hot:
        attrs["penwidth"] = "2.4"
        attrs["fontcolor"] = PROBLEM_COLOR
    if kind == "source":
        attrs["style"] = "filled,bold"
    target.node(_id(path), label=_nohtml(label), **attrs)


def _engine_labels(node: Node) -> list[tuple[str, str]]:
    """``(keyword, label)`` of each engine a host node calls (``("engine", "LlamaLLM")``)."""
    labels = []
    for key, part in node.parts().items():
        engines = [part] if isinstance(part, Engine) else list(part)
        labels.append((key, ", ".join(e.label() for e in engines)))
    return labels


def _config_lines(node: Node) -> list[str]:
    data = node.config.model_dump(mode="json", exclude_defaults=True)
    lines = []
    sup = node.supervision
    if sup is not None and sup.policy != "fail":
        lines.append(f"on_error={sup.policy}")
    for key, value in data.items():
        lines.append(f"{key}={_short(value)}")
    for name, part in node.parts().items():
        if isinstance(part, Engine):  # a single engine: its own non-default settings
            settings = part.config.model_dump(mode="json", exclude_defaults=True)
            lines += [f"{name}.{key}={_short(value)}" for key, value in settings.items()]
    if len(lines) > _MAX_CONFIG_LINES:
        lines = [*lines[: _MAX_CONFIG_LINES - 1], f"(+{len(lines) - _MAX_CONFIG_LINES + 1} more)"]
    return lines


def _short(value: Any) -> str:
    if isinstance(value, str):
        if "/" in value or "\\" in value:
            value = PurePath(value).name  # a path: its file name says enough
        text = repr(value)
    elif isinstance(value, list | tuple):
        text = f"[{len(value)} items]" if len(value) > 2 else repr(list(value))
    elif isinstance(value, dict):
        text = f"{{{len(value)} keys}}"
    else:
        text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _node_metric_lines(s: NodeStats) -> list[str]:
    lines = [f"in {s.frames_in} · out {s.frames_out}"]
    if s.frames_in:
        lines.append(
            f"busy {_secs(s.busy)} · {_secs(s.mean_handle)}/frame (max {_secs(s.max_handle)})"
        )
    extra = [
        f"{name} {n}"
        for name, n in (
            ("interrupts", s.interrupts),
            ("restarts", s.restarts),
            ("failures", s.failures),
        )
        if n
    ]
    if extra:
        lines.append(" · ".join(extra))
    return lines


def _edge(edge: Edge, metrics: RunMetrics | None) -> str:
    """An edge statement. Written with the package's ``quote``: ``Digraph.edge`` would read a
    ``:`` in a node name as ``node:port``."""
    src, dst = edge.src.node, edge.dst.node
    assert src is not None and dst is not None
    ftype = edge.src.type_name
    if ftype == "Control":
        ftype = "events"
    lines = [f"{edge.src.name} → {edge.dst.name}", f"{ftype} · {edge.capacity} {edge.policy}"]
    attrs: dict[str, str] = {}
    stats = metrics.edges.get(edge.label) if metrics is not None else None
    if stats is not None and (stats.frames or ftype != "events"):  # events are not counted
        lines.append(_edge_metric_line(stats, metrics.elapsed if metrics is not None else 0.0))
        if _edge_problem(stats):
            attrs["color"] = PROBLEM_COLOR
            attrs["fontcolor"] = PROBLEM_COLOR
            attrs["penwidth"] = "2.2"
    if edge.feedback:
        lines[0] = "feedback: " + lines[0]
        attrs["style"] = "dashed"
        attrs["constraint"] = "false"
        attrs.setdefault("color", FEEDBACK_COLOR)
        attrs.setdefault("fontcolor", FEEDBACK_COLOR)
    label = _nohtml(r"\n".join(_text(line) for line in lines))
    attrs["tooltip"] = _tooltip(edge.label)
    return f"\t{quote(_id(src.path))} -> {quote(_id(dst.path))}{attr_list(label, kwargs=attrs)}\n"


def _edge_metric_line(s: EdgeStats, elapsed: float) -> str:
    parts = []
    parts.append(f"{s.frames / elapsed:.1f} fr/s" if elapsed > 0 else f"{s.frames} fr")
    parts.append(f"q {s.depth} hw {s.high_water}/{s.capacity}")
    if s.drops:
        parts.append(f"drops {s.drops}")
    if s.stale:
        parts.append(f"stale {s.stale}")
    return " · ".join(parts)


def _edge_problem(s: EdgeStats) -> bool:
    """An edge that filled up (backpressure) or dropped frames by policy."""
    return s.drops > 0 or (s.high_water >= s.capacity and s.frames > 0)


# ---------------------------------------------------------------------- DOT text helpers


def _secs(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def _id(name: str) -> str:
    """A DOT identifier for ``name`` (quoted by the ``graphviz`` package where needed).

    Every name maps to its own identifier: backslashes are doubled (so none can end the
    quoted string early), line breaks are written ``\\n`` and ``\\r`` (the package leaves a
    name ending in a line break unquoted, which would make it another name), ``&`` is written
    ``&amp;`` (Graphviz's SVG output reads entities in identifiers), and a name starting with
    ``%`` gets a backslash in front (Graphviz replaces such identifiers with its own anonymous
    names). Other names stay as they are, so an SVG ``<title>`` shows the node's path. Like
    every string returned here, it is a ``graphviz.nohtml`` string: ``<...>`` is text, not an
    HTML label.
    """
    escaped = graphviz.escape(name).replace("&", "&amp;").replace("\n", "\\n")
    escaped = escaped.replace("\r", "\\r")
    return _nohtml("\\" + escaped if name.startswith("%") else escaped)


def _text(text: str) -> str:
    """User text shown literally in a label (line breaks and tabs become spaces).

    ``graphviz.escape`` makes backslashes literal; ``&`` is written as ``&amp;`` because
    Graphviz decodes HTML entities (``&lt;``, ``&#65;``) in every label.
    """
    flat = _BLANKS.sub(" ", text).replace("&", "&amp;")
    return _nohtml(graphviz.escape(flat))


def _tooltip(text: str) -> str:
    """User text shown literally in a tooltip.

    Graphviz unescapes a tooltip's backslashes twice (its line-break pass, then the ``\\N``
    substitution pass), so each literal backslash is written as four.
    """
    return _nohtml(_text(text).replace("\\", "\\\\"))


def _nohtml(text: str) -> str:
    """``text`` marked so that the ``graphviz`` package does not read ``<...>`` as HTML."""
    marked: str = graphviz.nohtml(text)
    return marked


def _rec(text: str) -> str:
    """Text for one compartment of a record label (``{}|<>`` are structure there)."""
    out = _text(text)
    for ch in "{}|<>":
        out = out.replace(ch, "\\" + ch)
    return out


def _left(lines: list[str]) -> str:
    """Left-justified lines of a record compartment."""
    return "".join(_rec(line) + r"\l" for line in lines)

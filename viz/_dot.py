"""Graphviz DOT text for a :class:`~voicegraph.graph.Graph`, optionally annotated with metrics.

>>> from voicegraph.viz import to_dot
>>> print(to_dot(graph))                      # doctest: +SKIP
>>> print(to_dot(graph, runner.metrics()))    # after (or during) a run   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from voicegraph.graph import Edge, Graph, Node
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
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    marked = None
    if metrics is not None:
        marked = _bottleneck(metrics) if bottleneck == "auto" else bottleneck
    caption = title if title is not None else graph.name
    lines = [
        f"digraph {_quote(graph.name or 'voicegraph')} {{",
        f'  graph [rankdir={rankdir}, fontname="{FONT}", fontsize=12, nodesep=0.3, ranksep=0.45, '
        f'bgcolor="white", pad=0.2{_caption(caption)}];',
        f'  node [shape=Mrecord, style="filled", fontname="{FONT}", fontsize=10, '
        'margin="0.12,0.06", penwidth=1.2];',
        f'  edge [fontname="{FONT}", fontsize=8, color="{EDGE_COLOR}", fontcolor="#333333", '
        "arrowsize=0.7, penwidth=1.1];",
    ]
    _members(graph, _Style(metrics, marked, config, rankdir == "TB"), lines, indent="  ")
    for edge in graph.iter_edges():
        lines.append("  " + _edge(edge, metrics))
    lines.append("}")
    return "\n".join(lines) + "\n"


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


def _members(graph: Graph, style: _Style, lines: list[str], indent: str) -> None:
    for member in graph.members:
        if isinstance(member, Graph):
            lines.append(f"{indent}subgraph {_quote('cluster_' + member.path)} {{")
            lines.append(
                f'{indent}  label="{_plain(member.name)}"; labeljust=l; fontsize=10; '
                f'style="rounded,dashed"; color="#8a8a8a";'
            )
            _members(member, style, lines, indent + "  ")
            lines.append(f"{indent}}}")
        else:
            lines.append(indent + _node(member, style))


def _node(node: Node, style: _Style) -> str:
    metrics, marked = style.metrics, style.marked
    kind = node.kind
    fill, border = KIND_STYLE.get(kind, KIND_STYLE["stage"])
    path = node.path
    hot = marked is not None and path == marked
    if hot:
        fill, border = BOTTLENECK_STYLE
    # a record of stacked compartments: rankdir=LR stacks "a|b|c" top to bottom, TB "{a|b|c}"
    fields = [
        _rec(node.name or type(node).__name__) + r"\n" + _rec(f"{type(node).__name__} · {kind}")
    ]
    settings = _config_lines(node) if style.config else []
    if settings:
        fields.append(_left(settings))
    stats = metrics.nodes.get(path) if metrics is not None else None
    lines = _node_metric_lines(stats) if stats is not None else []
    if hot:
        lines.append("◆ bottleneck")
    if lines:
        fields.append(_left(lines))
    attrs = {
        "label": "{" + "|".join(fields) + "}" if style.vertical else "|".join(fields),
        "fillcolor": fill,
        "color": border,
        "tooltip": f"{type(node).__module__}.{type(node).__qualname__}",
    }
    if hot:
        attrs["penwidth"] = "2.4"
        attrs["fontcolor"] = PROBLEM_COLOR
    if kind == "source":
        attrs["style"] = "filled,bold"
    return f"{_quote(path)} [{_attrs(attrs)}];"


def _config_lines(node: Node) -> list[str]:
    data = node.config.model_dump(mode="json", exclude_defaults=True)
    lines = []
    sup = node._supervision
    if sup is not None and sup.policy != "fail":
        lines.append(f"on_error={sup.policy}")
    for key, value in data.items():
        lines.append(f"{key}={_short(value)}")
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
    attrs["label"] = r"\n".join(_plain(line) for line in lines)
    attrs["tooltip"] = edge.label
    return f"{_quote(src.path)} -> {_quote(dst.path)} [{_attrs(attrs)}];"


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


def _caption(caption: str | None) -> str:
    return f', label="{_plain(caption)}", labelloc=t' if caption else ""


def _secs(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def _plain(text: str) -> str:
    """Text for a quoted DOT label (escape sequences such as ``\\n`` are added by callers)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\r", " ").replace("\n", " ")


def _rec(text: str) -> str:
    """Text for one compartment of a record label (``{}|<>`` are structure there)."""
    out = _plain(text)
    for ch in "{}|<>":
        out = out.replace(ch, "\\" + ch)
    return out


def _left(lines: list[str]) -> str:
    """Left-justified lines of a record compartment."""
    return "".join(_rec(line) + r"\l" for line in lines)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _attrs(attrs: dict[str, str]) -> str:
    """``key="value"`` pairs; labels are already escaped, other values are quoted here."""
    parts = []
    for key, value in attrs.items():
        if key == "label":
            parts.append(f'{key}="{value}"')
        else:
            parts.append(f"{key}={_quote(value)}")
    return ", ".join(parts)

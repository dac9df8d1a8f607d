"""The session timeline figure (matplotlib, drawn off-screen with Agg: no display needed)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from ._session import Mark, Span, Timeline, TraceSource

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ROWS", "STAGE_COLORS", "plot_timeline"]

ROWS: tuple[str, ...] = (
    "user speech (VAD)",
    "transcripts",
    "end of turn",
    "LLM tokens",
    "tool calls",
    "TTS audio",
    "playout",
)
"""The timeline's rows, top to bottom (interruptions are vertical lines across all of them)."""

COLORS = {
    "user speech (VAD)": "#4c8fd6",
    "transcripts": "#1f5fa8",
    "end of turn": "#7a5ea8",
    "LLM tokens": "#e08e0b",
    "tool calls": "#8c6d31",
    "TTS audio": "#3c8d40",
    "playout": "#2ca25f",
}
STAGE_COLORS = {
    "end of turn": "#7a5ea8",
    "LLM first token": "#e08e0b",
    "first sentence": "#f2c14e",
    "TTS first audio": "#3c8d40",
    "to playout": "#8fd19e",
}
"""Colours of the latency waterfall's stages."""
CUT = "#c0392b"
_LABEL_CHARS = 34
_MAX_TURNS = 8


def plot_timeline(
    trace: TraceSource | None = None,
    pipeline: Any = None,
    *,
    timeline: Timeline | None = None,
    title: str | None = None,
    width: float = 12.0,
) -> Figure:
    """Draw one session: what each side did on a shared time axis, and each turn's latency.

    The top panel has one row per stage (:data:`ROWS`): user speech as the VAD saw it,
    transcripts (filled: final, hollow: interim), end-of-turn decisions with the endpointing
    wait before them, LLM tokens over each generation, tool calls, TTS audio, and playout
    (interrupted replies hatched red, labelled with the words actually heard); interruptions
    are red dashed lines across every row. The bottom panel is a per-turn waterfall from the
    end of the user's speech to the first reply audio played.

    Works during a run too (the trace so far). Pass a :class:`SessionTrace` (or any trace),
    a voice pipeline, or both (see :meth:`Timeline.collect`), or a ready ``timeline``.

    Args:
        trace: a recorded trace.
        pipeline: a voice pipeline (``voice_pipeline(...)``) after or during a run.
        timeline: a :class:`Timeline` to draw instead of collecting one.
        title: the figure's title (default ``"session timeline"``).
        width: figure width in inches (default 12).

    Returns:
        A matplotlib ``Figure`` (shown inline in Jupyter; ``fig.savefig("t.png")`` to save).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    tl = timeline if timeline is not None else Timeline.collect(trace, pipeline)
    turns = tl.latencies[-_MAX_TURNS:]
    fig = _figure_class()(figsize=(width, 4.2 + 0.45 * max(1, len(turns))), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, height_ratios=[3.2, 0.8 + 0.4 * max(1, len(turns))])
    _draw_rows(top, tl)
    _draw_waterfall(bottom, turns)
    fig.suptitle(title or "session timeline", fontsize=11)
    return fig


@functools.cache
def _figure_class() -> type[Figure]:
    """A Figure subclass, defined on first use so that importing viz does not load matplotlib."""
    from matplotlib.figure import Figure

    class TimelineFigure(Figure):
        """A matplotlib Figure that shows itself as PNG in Jupyter without pyplot."""

        def _repr_png_(self) -> bytes:
            import io

            out = io.BytesIO()
            self.savefig(out, format="png", dpi=110)
            return out.getvalue()

    return TimelineFigure


def _draw_rows(ax: Axes, tl: Timeline) -> None:
    y = {name: i for i, name in enumerate(ROWS)}
    end = max(tl.end, 1.0)
    ax.set_ylim(len(ROWS) - 0.4, -0.6)
    ax.set_xlim(0, end * 1.02 + 0.2)
    ax.set_yticks(range(len(ROWS)), list(ROWS))
    ax.set_xlabel("time (s, run clock)")
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="y", length=0)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)

    _bars(ax, y["user speech (VAD)"], tl.speech, COLORS["user speech (VAD)"], "row:speech")
    _marks(ax, y["transcripts"], tl.transcripts, COLORS["transcripts"], "row:transcripts")
    _bars(ax, y["end of turn"], tl.endpointing, "#d9cdea", "row:endpointing", height=0.3)
    _marks(ax, y["end of turn"], tl.turns, COLORS["end of turn"], "row:turns", marker="D")
    _bars(ax, y["LLM tokens"], tl.llm, "#f8ddb0", "row:llm")
    if tl.tokens:
        row = y["LLM tokens"]
        ax.vlines(
            tl.tokens, row - 0.25, row + 0.25, colors=COLORS["LLM tokens"], linewidth=0.7
        ).set_gid("row:tokens")
    _bars(ax, y["tool calls"], tl.tools, COLORS["tool calls"], "row:tools", labels=True)
    _bars(ax, y["TTS audio"], tl.tts, COLORS["TTS audio"], "row:tts")
    _bars(ax, y["playout"], tl.playout, COLORS["playout"], "row:playout", labels=True)
    for m in tl.interruptions:
        ax.axvline(m.t, color=CUT, linestyle="--", linewidth=1.2, gid="interruption")
        ax.annotate(
            m.label or "interrupt",
            (m.t, -0.6),
            xytext=(3, -2),
            textcoords="offset points",
            color=CUT,
            fontsize=8,
            va="top",
        )


def _bars(
    ax: Axes,
    row: int,
    spans: list[Span],
    color: str,
    gid: str,
    *,
    height: float = 0.56,
    labels: bool = False,
) -> None:
    """Spans as bars; interrupted/cancelled ones hatched red (gid ``<gid>:cut``)."""
    minimum = 0.01  # a zero-length span (e.g. model compute under VirtualClock) stays visible
    cut = [s for s in spans if s.kind in ("interrupted", "cancelled", "error")]
    whole = [s for s in spans if s not in cut]
    for group, face, edge, name, hatch in (
        (whole, color, color, gid, ""),
        (cut, "#f5c6c0", CUT, gid + ":cut", "///"),
    ):
        if group:
            bars = ax.broken_barh(
                [(s.start, max(s.end - s.start, minimum)) for s in group],
                (row - height / 2, height),
                facecolors=face,
                edgecolors=edge,
                linewidth=0.8,
                hatch=hatch or None,
            )
            bars.set_gid(name)
    if labels:
        for s in spans:
            if s.label:
                ax.text(
                    s.start + 0.05,
                    row,
                    _short(s.label),
                    fontsize=7,
                    va="center",
                    clip_on=True,
                    color="#222222",
                )


def _marks(
    ax: Axes, row: int, marks: list[Mark], color: str, gid: str, *, marker: str = "o"
) -> None:
    if not marks:
        return
    final = [m for m in marks if m.kind != "interim"]
    interim = [m for m in marks if m.kind == "interim"]
    if final:
        ax.scatter(
            [m.t for m in final],
            [row] * len(final),
            color=color,
            marker=marker,
            s=28,
            zorder=3,
            gid=gid,
        )
    if interim:
        ax.scatter(
            [m.t for m in interim],
            [row] * len(interim),
            facecolors="none",
            edgecolors=color,
            marker=marker,
            s=24,
            zorder=3,
            gid=gid + ":interim",
        )
    for i, m in enumerate(final):
        if m.label:  # alternate above/below so neighbouring labels do not overlap
            ax.annotate(
                _short(m.label),
                (m.t, row),
                xytext=(4, 5 if i % 2 else -9),
                textcoords="offset points",
                fontsize=7,
                color="#222222",
                annotation_clip=True,
            )


def _draw_waterfall(ax: Axes, turns: list[Any]) -> None:
    ax.set_title("latency per turn, from the end of the user's speech", fontsize=9, loc="left")
    ax.set_xlabel("seconds after the user stopped speaking")
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    if not turns:
        ax.text(
            0.5,
            0.5,
            "no completed user turn",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="#666666",
        )
        ax.set_yticks([])
        return
    seen: set[str] = set()
    longest = 0.0
    for i, turn in enumerate(turns):
        left = 0.0
        for name, seconds in turn.stages:
            label = name if name not in seen else None
            seen.add(name)
            ax.barh(
                i,
                seconds,
                left=left,
                height=0.55,
                color=STAGE_COLORS.get(name, "#999999"),
                edgecolor="white",
                linewidth=0.6,
                label=label,
                gid=f"stage:{name}",
            )
            if seconds >= 0.12:
                ax.text(
                    left + seconds / 2,
                    i,
                    f"{seconds * 1000:.0f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="#222222",
                )
            left += seconds
        total = turn.total if turn.total is not None else left
        longest = max(longest, left, total)
        text = f"{total * 1000:.0f} ms" if turn.total is not None else "no reply heard"
        ax.text(left + 0.03, i, text, va="center", fontsize=8, color="#222222")
    ax.set_yticks(
        range(len(turns)), [f"turn {i + 1}: {_short(t.text, 26)}" for i, t in enumerate(turns)]
    )
    ax.set_ylim(len(turns) - 0.4, -0.6)
    ax.set_xlim(0, longest * 1.25 + 0.1)
    ax.legend(
        loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, ncols=len(seen), frameon=False
    )


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

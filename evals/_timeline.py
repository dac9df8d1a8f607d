"""A file's timeline picture: a self-contained SVG drawn from its :class:`FileResult` alone
(so from a report's JSON, a baseline's too), for the failing files of a report.

Two lanes on a time axis in seconds (the user's speech, the agent's audio as played), a
vertical marker per end-of-turn decision (premature cut-offs in red, labelled), and the
reference against what was heard as the caption. Every text is escaped (ids and transcripts
are user data).
"""

from __future__ import annotations

import re
from html import escape

from ._report import Report, failures
from ._run import FileResult

__all__ = ["markup_text", "render_timeline", "timeline_files"]

WIDTH, HEIGHT = 800, 170
LEFT, RIGHT = 70, 16
"""Pixels left of the time axis (the lane names) and right of it."""
USER_Y, AGENT_Y, LANE = 26, 50, 18
"""Top of each lane and its height."""
AXIS_Y = 76
CAPTION = 118
"""Characters of a caption line before it is shortened (the full text is its tooltip)."""
COLORS = {"user": "#3b6fc4", "agent": "#2e8b57", "turn": "#555555", "cutoff": "#d0312d"}
_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 3600)
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0


def markup_text(value: object, limit: int | None = None) -> str:
    """``value`` as escaped SVG/HTML text (shortened to ``limit`` characters with "...")."""
    text = _INVALID.sub("\ufffd", str(value)).replace("\n", " ")
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return escape(text, quote=True)


def _span(result: FileResult) -> float:
    """Seconds the axis covers: the recording, and anything that happened after its end."""
    ends = [result.duration, *result.decisions, 1.0]
    ends += [end for runs in (result.user_speech, result.agent_audio) for _, end in runs or []]
    return max(ends)


def render_timeline(result: FileResult) -> str:
    """One file's timeline as a self-contained SVG document (800 x 170 px, no scripts, no
    external references), e.g. to write to a ``.svg`` file or to put inline in HTML.

    A lane the report did not record (a report written before the timeline data existed,
    or a file that was not evaluated) says so instead of showing silence.
    """
    span = _span(result)
    scale = (WIDTH - LEFT - RIGHT) / span

    def x(t: float) -> str:
        return f"{LEFT + t * scale:.1f}"

    cut = set(result.cutoffs)
    reasons = failures(result)
    title = result.id + (": " + "; ".join(reasons) if reasons else "")
    heading = f' fill="{COLORS["cutoff"]}"' if reasons else ""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="sans-serif" font-size="11">',
        f"<title>Timeline of {markup_text(result.id)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="4" y="14" font-weight="bold"{heading}>'
        f"{markup_text(title, CAPTION)}<title>{markup_text(title)}</title></text>",
    ]
    for name, top, runs in (("user", USER_Y, result.user_speech),
                            ("agent", AGENT_Y, result.agent_audio)):  # fmt: skip
        middle = top + LANE / 2 + 4
        out.append(f'<text x="4" y="{middle}">{name}</text>')
        out.append(f'<rect x="{LEFT}" y="{top}" width="{WIDTH - LEFT - RIGHT}" height="{LANE}" '
                   'fill="#f2f2f2"/>')  # fmt: skip
        if runs is None:
            out.append(f'<text x="{LEFT + 6}" y="{middle}" fill="#888888">not recorded</text>')
            continue
        for start, end in runs:
            out.append(
                f'<rect class="{name}" x="{x(start)}" y="{top}" '
                f'width="{max(end - start, 0.0) * scale:.1f}" height="{LANE}" '
                f'fill="{COLORS[name]}"><title>{name} {start:.2f}-{end:.2f} s</title></rect>'
            )
    out.append(f'<line x1="{LEFT}" y1="{AXIS_Y}" x2="{WIDTH - RIGHT}" y2="{AXIS_Y}" '
               'stroke="#333333"/>')  # fmt: skip
    step = next((s for s in _STEPS if span / s <= 10), _STEPS[-1])
    for k in range(int(span / step + 1e-9) + 1):
        t = k * step
        label = f"{t:g}" + (" s" if k == 0 else "")
        out.append(f'<line x1="{x(t)}" y1="{AXIS_Y}" x2="{x(t)}" y2="{AXIS_Y + 4}" '
                   'stroke="#333333"/>')  # fmt: skip
        out.append(f'<text x="{x(t)}" y="{AXIS_Y + 15}" text-anchor="middle">{label}</text>')
    for at in result.decisions:  # plain ones: dashed, the time in the tooltip
        kind = "cutoff" if at in cut else "turn"
        what = "premature cut-off" if kind == "cutoff" else "end of turn"
        dash = "" if kind == "cutoff" else ' stroke-dasharray="3,2"'
        out.append(
            f'<line class="{kind}" x1="{x(at)}" y1="{USER_Y - 4}" x2="{x(at)}" '
            f'y2="{AXIS_Y}" stroke="{COLORS[kind]}" stroke-width="2"{dash}>'
            f"<title>{what} at {at:.2f} s</title></line>"
        )
        if kind == "cutoff":
            anchor = "end" if LEFT + at * scale > WIDTH - 120 else "start"
            nudge = -3 if anchor == "end" else 3
            out.append(
                f'<text class="cutoff" x="{LEFT + at * scale + nudge:.1f}" y="{AXIS_Y + 28}" '
                f'text-anchor="{anchor}" fill="{COLORS["cutoff"]}">cut-off {at:.2f} s</text>'
            )
    cut_off = result.interrupted or []
    replies = [
        text + (" (interrupted)" if i < len(cut_off) and cut_off[i] else "")
        for i, text in enumerate(result.replies)
    ]
    captions = [
        ("reference", {None: "(none)", "": "(no speech)"}.get(result.reference, result.reference)),
        ("heard", result.transcript if result.error is None else f"(not evaluated: "
         f"{result.error})"),
        ("agent said", " / ".join(replies) or "(nothing)"),
    ]  # fmt: skip
    for n, (label, text) in enumerate(captions):
        y = AXIS_Y + 48 + 15 * n
        shown, whole = markup_text(text, CAPTION), markup_text(text)
        out.append(f'<text x="4" y="{y}"><tspan font-weight="bold">{label}:</tspan> '
                   f"{shown}<title>{whole}</title></text>")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out) + "\n"


def timeline_files(report: Report) -> dict[str, str]:
    """A file name (``.svg``, safe on any file system, unique in the report) per failing file
    that was evaluated (see :func:`failures`), by file id: the pictures a report links."""
    names = {}
    for i, f in enumerate(report.files, 1):
        if f.error is None and failures(f):
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f.id).strip("._")[:60] or "file"
            names[f.id] = f"{i:03d}-{stem}.svg"
    return names

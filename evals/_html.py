"""The eval report as one self-contained HTML page: the Markdown's tables, and a timeline
picture (inline SVG) per failing file.

Recording ids, transcripts, replies and errors are user data: every text is escaped, and the
page's Content-Security-Policy allows no script and no external resource at all.
"""

from __future__ import annotations

from typing import Any

from ._report import Comparison, Report, failing, metric_tables
from ._timeline import markup_text, render_timeline

__all__ = ["render_html"]

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #1d1d1d; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #d5d5d5; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr:nth-child(even) td { background: #fafafa; }
.bad { color: #b3261e; font-weight: bold; }
.timeline { margin: 1em 0 2em; }
.timeline svg { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
"""


def _table(title: str, header: list[str], rows: list[list[Any]], empty: str) -> list[str]:
    out = [f"<h2>{markup_text(title)}</h2>"]
    if not rows:
        return [*out, f"<p>{markup_text(empty)}</p>"] if empty else out
    out.append("<table><thead><tr>" + "".join(f"<th>{markup_text(h)}</th>" for h in header))
    out.append("</tr></thead><tbody>")
    for row in rows:
        cells = "".join(f"<td>{'-' if c is None else markup_text(c)}</td>" for c in row)
        out.append(f"<tr>{cells}</tr>")
    return [*out, "</tbody></table>"]


def render_html(report: Report, comparison: Comparison | None = None) -> str:
    """The report as a self-contained HTML page (inline CSS, no script, no external file):
    the summary, the comparison with the baseline, the failing files with their reasons
    (:func:`failures`), one table per metric (worst files first) and a timeline picture
    (:func:`render_timeline`) per failing file that was evaluated."""
    title = f"Eval of {report.corpus} ({report.mode} clock)"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{markup_text(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{markup_text(title)}</h1>",
    ]
    summary = report.summary()
    out += _table("Summary", ["figure", "value"], [[k, v] for k, v in summary.items()], "")
    if comparison is not None:
        out += _table("Against the baseline", ["figure", "baseline", "this run"],
                      [list(r) for r in comparison.rows], "")  # fmt: skip
        if comparison.regressions:
            out.append('<p class="bad">Regressions:</p><ul>')
            out += [f'<li class="bad">{markup_text(r)}</li>' for r in comparison.regressions]
            out.append("</ul>")
        else:
            out.append("<p>No regression.</p>")
    found = failing(report)
    pictured = [(n, f, reasons) for n, (f, reasons) in enumerate(found, 1) if f.error is None]
    anchors = {id(f): f"timeline-{n}" for n, f, _ in pictured}
    out.append("<h2>Failures</h2>")
    if not found:
        out.append("<p>No file failed.</p>")
    else:
        out.append("<table><thead><tr><th>file</th><th>why</th></tr></thead><tbody>")
        for f, reasons in found:
            name = markup_text(f.id)
            if id(f) in anchors:
                name = f'<a href="#{anchors[id(f)]}">{name}</a>'
            why = "<br>".join(markup_text(r) for r in reasons)
            out.append(f'<tr><td>{name}</td><td class="bad">{why}</td></tr>')
        out.append("</tbody></table>")
    for title_, header, rows, empty in metric_tables(report):
        out += _table(title_, header, rows, empty)
    if pictured:
        out.append("<h2>Timelines of the failing files</h2>")
        out.append(
            "<p>User speech and the agent's audio as played (aligned with the input); dashed "
            "lines: end-of-turn decisions; red: premature cut-offs.</p>"
        )
        for n, f, reasons in pictured:
            out.append(f'<div class="timeline" id="timeline-{n}"><h3>{markup_text(f.id)}</h3>')
            out.append("<p>" + "; ".join(markup_text(r) for r in reasons) + "</p>")
            out.append(render_timeline(f) + "</div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"

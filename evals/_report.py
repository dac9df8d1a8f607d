"""The eval report: a summary, JSON, Markdown tables (worst files first) and a comparison
with a previous run that flags regressions."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from voicegraph.graph import ConfigError

from ._ray import WorkerStats
from ._run import FileResult

__all__ = [
    "Comparison",
    "Report",
    "compare",
    "failing",
    "failures",
    "metric_tables",
    "render_markdown",
]

WER_POINTS = 2.0
"""A corpus or file WER this many percentage points above the baseline is a regression."""
LATENCY_RATIO = 1.2
"""A voice-to-voice p50 more than 20 % above the baseline's is a regression."""
FAILING_WER = 0.2
"""A file whose WER is above this (20 %) is failing (:func:`failures`): at that rate about
one word in five is wrong, enough to change what the agent answers."""


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass(slots=True)
class Report:
    """Every file's result and the summary over them."""

    corpus: str
    mode: str
    files: list[FileResult] = field(default_factory=list)
    workers: list[WorkerStats] = field(default_factory=list)
    """The Ray workers that ran it (empty for an in-process run)."""

    def summary(self) -> dict[str, Any]:
        """Corpus figures: WER pooled over the reference words (%), counts, latency p50/p90."""
        ok = [f for f in self.files if f.error is None]
        words = sum(f.reference_words for f in ok if f.wer is not None)
        errors = sum((f.wer or 0.0) * f.reference_words for f in ok if f.wer is not None)
        latencies = [v for f in ok for v in f.voice_to_voice]
        p50, p90 = _percentile(latencies, 0.5), _percentile(latencies, 0.9)
        return {
            "files": len(self.files),
            "errors": len(self.files) - len(ok),
            "wer_percent": round(100 * errors / words, 2) if words else None,
            "cutoffs": sum(len(f.cutoffs) for f in ok),
            "missed_turns": sum(1 for f in ok if f.missed_turn),
            "noise_replies": sum(f.noise_replies or 0 for f in ok),
            "tool_mismatches": sum(1 for f in ok if f.tools_ok is False),
            "judge_failures": sum(1 for f in ok if f.judge_passed is False),
            "failing_files": sum(1 for f in self.files if failures(f)),
            "voice_to_voice_p50": round(p50, 3) if p50 is not None else None,
            "voice_to_voice_p90": round(p90, 3) if p90 is not None else None,
        }

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data (``--json``; ``--baseline`` reads it back)."""
        return {
            "format": "voicegraph-eval/1",
            "corpus": self.corpus,
            "mode": self.mode,
            "summary": self.summary(),
            "files": [asdict(f) for f in self.files],
            "workers": [asdict(w) for w in self.workers],
        }

    @classmethod
    def load(cls, path: str | Path) -> Report:
        """Read a report written with ``--json``.

        Raises:
            ConfigError: the file is missing or is not such a report.
        """
        try:
            data = json.loads(Path(path).read_text("utf-8"))
            if data.get("format") != "voicegraph-eval/1":
                raise ValueError("not a voicegraph eval report (no format voicegraph-eval/1)")
            files = [FileResult.from_dict(f) for f in data["files"]]
            return cls(str(data.get("corpus", "")), str(data.get("mode", "")), files)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"cannot read the baseline {str(path)!r}: {exc}") from None


@dataclass(slots=True)
class Comparison:
    """This run against a baseline: figure pairs and the regressions found."""

    rows: list[tuple[str, Any, Any]]
    regressions: list[str]


def compare(current: Report, baseline: Report) -> Comparison:
    """Flag regressions: corpus or file WER up by more than :data:`WER_POINTS` points, a file
    with a cut-off or a reply to noise that had none, voice-to-voice p50 up by more than
    20 % (only when both runs were in realtime mode), a file now failing that ran before."""
    now, before = current.summary(), baseline.summary()
    rows = [(key, before.get(key), now[key]) for key in now]
    found: list[str] = []
    wer, old_wer = now["wer_percent"], before.get("wer_percent")
    if wer is not None and old_wer is not None and wer - old_wer > WER_POINTS:
        found.append(f"WER {before['wer_percent']} % -> {now['wer_percent']} %")
    old = {f.id: f for f in baseline.files}
    for f in current.files:
        b = old.get(f.id)
        if b is None:
            continue
        if f.error is not None and b.error is None:
            found.append(f"{f.id}: now fails ({f.error})")
            continue
        if f.error is not None or b.error is not None:
            continue
        if f.wer is not None and b.wer is not None and 100 * (f.wer - b.wer) > WER_POINTS:
            found.append(f"{f.id}: WER {100 * b.wer:.1f} % -> {100 * f.wer:.1f} %")
        if f.cutoffs and not b.cutoffs:
            found.append(f"{f.id}: new premature cut-off at {_times(f.cutoffs)}")
        if f.noise_replies and not b.noise_replies:
            found.append(f"{f.id}: new reply to noise ({f.noise_replies})")
    p50, old_p50 = now["voice_to_voice_p50"], before.get("voice_to_voice_p50")
    realtime = current.mode == baseline.mode == "realtime"
    if realtime and p50 is not None and old_p50 and p50 > LATENCY_RATIO * old_p50:
        found.append(f"voice-to-voice p50 {old_p50:.3f} s -> {p50:.3f} s")
    return Comparison(rows, found)


def _times(values: list[float]) -> str:
    return ", ".join(f"{v:.2f} s" for v in values)


def _cell(value: Any) -> str:
    """A Markdown table cell: recording ids and transcripts are user data, so HTML in them
    is shown as text (Markdown renderers pass raw HTML through), and ``|`` ends no cell."""
    if value is None:
        return "-"
    text = str(value).replace("\n", " ")
    text = text if len(text) <= 80 else text[:77] + "..."
    return _as_text(text).replace("|", "\\|")


def _as_text(text: str) -> str:
    """``text`` with HTML shown as text in Markdown (no ``<`` left, so no tag can open)."""
    return text.replace("<", "&lt;")


def _table(title: str, header: list[str], rows: list[list[Any]], empty: str) -> list[str]:
    out = [f"## {title}", ""]
    if not rows:
        return [*out, empty, ""]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def failures(result: FileResult) -> list[str]:
    """Why a file counts as failing, or ``[]``: it was not evaluated, a premature cut-off, a
    missed turn, a reply to noise, tool calls other than the expected ones, the judge's
    failure, or a WER above :data:`FAILING_WER`. The reports list these files with a
    timeline picture each."""
    if result.error is not None:
        return [f"not evaluated: {result.error}"]
    reasons = []
    if result.cutoffs:
        reasons.append(f"premature cut-off at {_times(result.cutoffs)}")
    if result.missed_turn:
        reasons.append("missed turn (no end-of-turn decision)")
    if result.noise_replies:
        reasons.append(f"{result.noise_replies} reply(ies) to noise")
    if result.tools_ok is False:
        expected, called = ", ".join(result.expected_tools or []), ", ".join(result.tool_calls)
        reasons.append(f"tool calls differ (expected: {expected or '-'}; called: {called or '-'})")
    if result.judge_passed is False:
        reasons.append("judge failed" + (f": {result.judge_reason}" if result.judge_reason else ""))
    if result.wer is not None and result.wer > FAILING_WER:
        reasons.append(f"WER {100 * result.wer:.1f} % (above {100 * FAILING_WER:.0f} %)")
    return reasons


def failing(report: Report) -> list[tuple[FileResult, list[str]]]:
    """The failing files and their reasons, most reasons first (then in corpus order)."""
    found = [(f, failures(f)) for f in report.files]
    return sorted(((f, r) for f, r in found if r), key=lambda pair: -len(pair[1]))


def metric_tables(report: Report) -> list[tuple[str, list[str], list[list[Any]], str]]:
    """``(title, header, rows, text when empty)`` per metric, worst files first (the
    Markdown and the HTML show the same tables)."""
    ok = [f for f in report.files if f.error is None]
    tables: list[tuple[str, list[str], list[list[Any]], str]] = []
    wer = sorted((f for f in ok if f.wer is not None), key=lambda f: -(f.wer or 0.0))
    tables.append(("Word error rate", ["file", "WER %", "reference", "heard"],
                   [[f.id, f"{100 * (f.wer or 0):.1f}", f.reference, f.transcript] for f in wer],
                   "No file has a reference transcript."))  # fmt: skip
    cut = sorted((f for f in ok if f.cutoffs_judged or f.missed_turn),
                 key=lambda f: (-len(f.cutoffs), not f.missed_turn))  # fmt: skip
    tables.append(("End of turn", ["file", "cut-offs", "at (s)", "missed turn", "decisions (s)"],
                   [[f.id, len(f.cutoffs), _times(f.cutoffs) or "-", "yes" if f.missed_turn
                     else "no", _times(f.decisions)] for f in cut],
                   "No one-sentence reference to judge cut-offs by."))  # fmt: skip
    noise = sorted(
        (f for f in ok if f.noise_replies is not None), key=lambda f: -(f.noise_replies or 0)
    )
    tables.append(("Replies to noise", ["file", "replies", "what it said"],
                   [[f.id, f.noise_replies, " / ".join(f.replies)] for f in noise],
                   "No file with an empty reference transcript."))  # fmt: skip
    tools = sorted((f for f in ok if f.tools_ok is not None), key=lambda f: bool(f.tools_ok))
    tables.append(("Tool calls", ["file", "ok", "expected", "called"],
                   [[f.id, "yes" if f.tools_ok else "NO", ", ".join(f.expected_tools or []),
                     ", ".join(f.tool_calls)] for f in tools],
                   "No file names expected tool calls."))  # fmt: skip
    timed = sorted((f for f in ok if f.voice_to_voice), key=lambda f: -max(f.voice_to_voice))
    note = "" if report.mode == "realtime" else " (virtual clock: model compute not counted)"
    tables.append((f"Voice-to-voice latency{note}", ["file", "worst (s)", "turns (s)"],
                   [[f.id, f"{max(f.voice_to_voice):.3f}", _times(f.voice_to_voice)]
                    for f in timed], "No reply was heard."))  # fmt: skip
    judged = sorted(
        (f for f in ok if f.judge_passed is not None), key=lambda f: bool(f.judge_passed)
    )
    if judged:
        tables.append(("Judge", ["file", "passed", "reason"],
                       [[f.id, "yes" if f.judge_passed else "NO", f.judge_reason]
                        for f in judged], ""))  # fmt: skip
    failed = [f for f in report.files if f.error is not None]
    tables.append(("Files not evaluated", ["file", "error"], [[f.id, f.error] for f in failed],
                   "Every file was evaluated."))  # fmt: skip
    return tables


def render_markdown(
    report: Report, comparison: Comparison | None = None, *, timelines: dict[str, str] | None = None
) -> str:
    """The report as Markdown: the summary, the comparison with the baseline, the failing
    files (:func:`failures`), one table per metric (worst files first) and the files that
    could not be evaluated.

    ``timelines`` maps a file's id to the link of its timeline picture (e.g. from
    :func:`timeline_files`); the Failures table then links each picture it has.
    """
    s = report.summary()
    lines = [f"# Eval of {_as_text(report.corpus)} ({report.mode} clock)", ""]
    lines += _table("Summary", ["figure", "value"], [[k, v] for k, v in s.items()], "")
    if comparison is not None:
        flagged = comparison.regressions
        lines += _table("Against the baseline", ["figure", "baseline", "this run"],
                        [list(r) for r in comparison.rows], "")  # fmt: skip
        lines += ["**Regressions:**", ""] + [f"- {_as_text(r)}" for r in flagged] if flagged else [
            "No regression.", ""]  # fmt: skip
        lines += [""] if flagged else []
    header, rows = ["file", "why"], []
    for f, reasons in failing(report):
        rows.append([f.id, "; ".join(reasons)])
        if timelines is not None:
            link = timelines.get(f.id)
            rows[-1].append(f"[timeline]({quote(link)})" if link else "-")
    if timelines is not None:
        header.append("picture")
    lines += _table("Failures", header, rows, "No file failed.")
    for title, head, body, empty in metric_tables(report):
        lines += _table(title, head, body, empty)
    return "\n".join(lines).rstrip() + "\n"

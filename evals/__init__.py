"""Evaluate an agent over a corpus of recorded calls: ``voicegraph eval CORPUS``.

Each recording runs through the agent's standard voice graph (a new ``AgentSession`` per
file) on the virtual clock (deterministic) or the real clock (latency); the report gives the
user transcript's WER, end-of-turn decisions (premature cut-offs, missed turns), replies to
noise, tool calls against the expected ones, voice-to-voice latency and an optional judge's
verdict, with a comparison against a previous run, as JSON, Markdown or one HTML page with a
timeline picture per failing file (:func:`failures`, :func:`render_timeline`). Files run
in this process or, with ``evaluate(..., ray=True)``, on Ray workers that each load the
models once (a dead worker's file is retried and counted once; the report is the same).
See :mod:`voicegraph.evals._run` for the definitions and docs/evals.md for the guide.

>>> from voicegraph.evals import evaluate                    # doctest: +SKIP
>>> report = evaluate("calls.jsonl", ray=True)               # doctest: +SKIP
>>> report.summary()["wer_percent"]                          # doctest: +SKIP
"""

from voicegraph.graph import rehome

from ._agents import load_agent as load_agent
from ._agents import standard_agent as standard_agent
from ._agents import standard_session as standard_session
from ._corpus import FileSpec as FileSpec
from ._corpus import load_corpus as load_corpus
from ._evaluate import evaluate as evaluate
from ._html import render_html as render_html
from ._progress import ProgressBar as ProgressBar
from ._progress import progress_line as progress_line
from ._ray import MAX_ATTEMPTS as MAX_ATTEMPTS
from ._ray import WorkerStats as WorkerStats
from ._report import Comparison as Comparison
from ._report import Report as Report
from ._report import compare as compare
from ._report import failures as failures
from ._report import render_markdown as render_markdown
from ._run import EvalSettings as EvalSettings
from ._run import FileResult as FileResult
from ._run import Judge as Judge
from ._run import Verdict as Verdict
from ._run import evaluate_file as evaluate_file
from ._run import one_sentence as one_sentence
from ._run import speech_runs as speech_runs
from ._timeline import render_timeline as render_timeline
from ._timeline import timeline_files as timeline_files

__all__ = [
    "MAX_ATTEMPTS",
    "Comparison",
    "EvalSettings",
    "FileResult",
    "FileSpec",
    "Judge",
    "ProgressBar",
    "Report",
    "Verdict",
    "WorkerStats",
    "compare",
    "evaluate",
    "evaluate_file",
    "failures",
    "load_agent",
    "load_corpus",
    "one_sentence",
    "progress_line",
    "render_html",
    "render_markdown",
    "render_timeline",
    "speech_runs",
    "standard_agent",
    "standard_session",
    "timeline_files",
]

rehome(__name__, globals(), __all__)

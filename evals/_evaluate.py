"""Evaluate a whole corpus in this process, one file after the other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from voicegraph.nodes.agent import Agent

from ._agents import standard_agent
from ._corpus import FileSpec, load_corpus
from ._report import Report
from ._run import EvalSettings, FileResult, evaluate_file

__all__ = ["evaluate"]


def evaluate(
    corpus: str | Path | Sequence[FileSpec],
    agent_factory: Callable[[], Agent] | None = None,
    settings: EvalSettings | None = None,
    *,
    progress: Callable[[int, int, FileResult], None] | None = None,
    ray: bool | str = False,
    workers: int | None = None,
) -> Report:
    """Run ``agent_factory`` (default: :func:`standard_agent`) on every recording of
    ``corpus`` (a folder, a manifest JSONL, or :class:`FileSpec` s) and report.

    In this process, one file after the other, by default; with ``ray=True`` on Ray workers
    (the ``ray.init`` connection if there is one, else ``RAY_ADDRESS`` or a new local
    instance), with ``ray="ray://host:10001"`` on that cluster; ``workers`` (default: one per
    CPU of the cluster) each load the models once. Either way the report is the same (files
    in corpus order). ``progress(done, total, result)`` is called as each file finishes.

    Raises:
        ConfigError: the corpus is unusable (see :func:`load_corpus`), or Ray is missing or
            unreachable.
    """
    settings = settings or EvalSettings()
    specs = load_corpus(corpus) if isinstance(corpus, str | Path) else list(corpus)
    name = str(corpus) if isinstance(corpus, str | Path) else "corpus"
    report = Report(name, "realtime" if settings.realtime else "virtual")
    factory = agent_factory or standard_agent
    if ray is not False:
        from ._ray import evaluate_on_ray

        address = ray if isinstance(ray, str) else None
        report.files, report.workers = evaluate_on_ray(
            specs, factory, settings, address=address, workers=workers, progress=progress
        )
        return report
    for i, spec in enumerate(specs, 1):
        result = evaluate_file(spec, factory, settings)
        report.files.append(result)
        if progress is not None:
            progress(i, len(specs), result)
    return report

"""``python -m benchmarks``: run the suite and print the table.

``python -m benchmarks voice [...]`` runs the voice-to-voice benchmark instead (real models,
real time, minutes: never part of the default suite); see :mod:`benchmarks.voice`.
``python -m benchmarks eval`` measures ``voicegraph eval`` in-process and on Ray
(:mod:`benchmarks.eval_scale`); ``python -m benchmarks endpointing``, end-of-turn decisions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType

import anyio

from . import hop, import_time, interruption, scale, slow_sink, turn_cost
from .common import Row, Settings
from .report import machine, misses, render

__all__ = ["BENCHMARKS", "main"]

BENCHMARKS: dict[str, ModuleType] = {
    "hop": hop,
    "interruption": interruption,
    "scale": scale,
    "import_time": import_time,  # fresh interpreters: the heap of this process does not matter
    "turn_cost": turn_cost,
    "slow_sink": slow_sink,  # last: its unbounded baselines inflate the heap on purpose
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="voicegraph performance suite; every figure is compared with raw asyncio "
        "and anyio baselines measured in the same run. `python -m benchmarks voice --help`: "
        "the voice-to-voice benchmark on the embedded models (separate, minutes).",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run (~20 s)")
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated subset of: {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--peers",
        help="a Python with pipecat-ai and livekit-agents installed: turn_cost measures them "
        "with it (default: voicegraph only)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 if any target is missed"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks, print the table, return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["voice"]:
        from . import voice  # the real models load only for this sub-mode

        return voice.main(argv[1:])
    if argv[:1] == ["eval"]:
        from . import eval_scale  # the real models (and Ray) load only for this sub-mode

        return eval_scale.main(argv[1:])
    if argv[:1] == ["endpointing"]:
        from . import endpointing  # the real models load only for this sub-mode

        return endpointing.main(argv[1:])
    args = _parser().parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    settings = Settings.for_mode(args.quick)
    turn_cost.set_peers_python(args.peers)
    rows: list[Row] = []
    notes: dict[str, str] = {}
    started = time.perf_counter()
    for i, name in enumerate(names, 1):
        module = BENCHMARKS[name]
        print(f"[{i}/{len(names)}] {module.SECTION} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        bench: Callable[[Settings], Awaitable[list[Row]]] = module.run
        rows += anyio.run(bench, settings)
        notes[module.SECTION] = module.NOTE
        print(f"      done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    total = time.perf_counter() - started

    mode = "quick" if settings.quick else "full"
    print(f"voicegraph benchmarks ({mode} run, {total:.0f} s)")
    print(f"machine: {machine()}")
    print("ratios are voicegraph / baseline, both measured in this run")
    print()
    print(render(rows, notes))
    missed = misses(rows)
    judged = [r for r in rows if r.verdict and not r.verdict.startswith("n/a")]
    unjudged = [r for r in rows if r.verdict.startswith("n/a")]
    print()
    print(f"targets: {len(judged) - len(missed)} of {len(judged)} met")
    for row in unjudged:
        print(f"  not judged: {row.section} / {row.metric.strip()}: {row.verdict}")
    for row in missed:
        print(f"  missed: {row.section} / {row.metric.strip()}: {row.verdict}")
    if args.json is not None:
        payload = {
            "mode": mode,
            "machine": machine(),
            "seconds": total,
            "rows": [dataclasses.asdict(r) for r in rows],
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 1 if args.strict and missed else 0

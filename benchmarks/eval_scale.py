"""``python -m benchmarks eval``: files per minute of ``voicegraph eval``, in one process and
on Ray workers, with the memory each uses.

Runs the corpus (default: the 22 recordings of ``benchmarks/speech/eval.jsonl``) with the
standard agent on the embedded models, on the virtual clock:

* **in-process**: in a fresh Python process (so its peak memory is the eval's alone), one
  file after the other;
* **Ray**: on a new local Ray instance (``ray.init(num_cpus=N)``) with ``N`` workers, each
  loading the models once.

Files per minute counts from the start of the evaluation to the last result, model loading
included (what a user waits for); Ray's own start-up is printed apart. Memory is each
process's peak resident set. The two runs' results must be identical (everything but the
seconds each file took); the benchmark says so, or exits 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .report import machine

__all__ = ["main"]

CORPUS = Path(__file__).parent / "speech" / "eval.jsonl"

_IN_PROCESS = """
import json, resource, sys, time
from voicegraph.evals import evaluate
began = time.perf_counter()
report = evaluate(sys.argv[1])
seconds = time.perf_counter() - began
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
files = [f.outcome() for f in report.files]
json.dump({"seconds": seconds, "peak_mb": peak, "files": files}, open(sys.argv[2], "w"))
"""


def in_process(corpus: Path) -> dict[str, Any]:
    """Evaluate ``corpus`` in a fresh process: its wall time, peak memory and results."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        subprocess.run([sys.executable, "-c", _IN_PROCESS, str(corpus), str(out)], check=True)
        data: dict[str, Any] = json.loads(out.read_text())
    return data


def on_ray(corpus: Path, workers: int) -> dict[str, Any]:
    """Evaluate ``corpus`` on a new local Ray instance with ``workers`` workers."""
    import ray

    from voicegraph.evals import evaluate

    began = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    started = time.perf_counter() - began
    try:
        began = time.perf_counter()
        report = evaluate(corpus, ray=True, workers=workers)
        seconds = time.perf_counter() - began
    finally:
        ray.shutdown()
    files = [f.outcome() for f in report.files]
    return {
        "seconds": seconds,
        "ray_start": started,
        "workers": [asdict(w) for w in report.workers],
        "files": json.loads(json.dumps(files)),  # tuples as lists, as in the other run
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks eval", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--workers", type=int, default=2, help="Ray workers (default 2)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    here = in_process(args.corpus)
    there = on_ray(args.corpus, args.workers)
    count = len(here["files"])
    same = here["files"] == there["files"]
    print(machine())
    print(f"corpus: {args.corpus} ({count} files), the standard agent, embedded models, "
          "virtual clock")  # fmt: skip
    print(f"{'run':<22}{'seconds':>9}{'files/min':>11}  peak memory (MiB)")
    print(f"{'in-process':<22}{here['seconds']:>9.1f}{60 * count / here['seconds']:>11.1f}  "
          f"{here['peak_mb']:.0f}")  # fmt: skip
    memory = ", ".join(f"{w['peak_rss_mb']:.0f}" for w in there["workers"] if w["peak_rss_mb"])
    print(f"{f'Ray, {args.workers} workers':<22}{there['seconds']:>9.1f}"
          f"{60 * count / there['seconds']:>11.1f}  {memory} (per worker)")  # fmt: skip
    print(f"(Ray's own start-up: {there['ray_start']:.1f} s, not counted)")
    print("results identical:", "yes" if same else "NO")
    if args.json is not None:
        args.json.write_text(json.dumps({"in_process": here, "ray": there}, indent=1))
    return 0 if same else 1

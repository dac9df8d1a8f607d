"""Benchmark 6 — import time.

How long ``import voicegraph`` (and ``import voicegraph.nodes.vad``, one stage on its own)
takes in a fresh interpreter, against two baselines imported the same way in the same run:
(a) ``import numpy``, one dependency every voicegraph import needs, and (b) numpy and pydantic
together, the libraries the graph kernel (frames, configs) is built on, so (b) is close to the
floor for ``import voicegraph``.

Each statement runs in its own ``python -c`` process (started from a temporary directory, so
the installed package is measured, as users import it), which times only the statement with
``time.perf_counter()`` (interpreter start-up excluded) and its CPU time with
``time.process_time()`` (every thread of the process: numpy starts its BLAS threads, so CPU
time can exceed wall time). The statements are interleaved, ``runs`` rounds of each; the best
round is the figure (import time is noise on top of a floor, as with ``timeit``), the median
is shown too. CPU time is not inflated when another process holds the CPU.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile

from .common import Row, Settings, at_most, median

__all__ = ["NOTE", "SECTION", "STATEMENTS", "run"]

SECTION = "6. import time"
NOTE = (
    "a fresh interpreter per import, statement timed inside it (start-up excluded), best of N "
    "rounds, statements interleaved; baselines: (a) import numpy, (b) import numpy, pydantic "
    "(what the graph kernel is built on)"
)

STATEMENTS: dict[str, str] = {
    "voicegraph": "import voicegraph",
    "vad": "import voicegraph.nodes.vad",
    "agent": "import voicegraph.nodes.agent",
    "base_a": "import numpy",
    "base_b": "import numpy, pydantic",
}
"""What is timed, by key: voicegraph's imports and the two baselines."""

TARGET_MS = 300.0
"""The design's budget for ``import voicegraph``."""

_PROBE = (
    "import time\n"
    "t0, c0 = time.perf_counter(), time.process_time()\n"
    "{statement}\n"
    "print(time.perf_counter() - t0, time.process_time() - c0)\n"
)


def time_import(statement: str) -> tuple[float, float]:
    """Wall and CPU seconds of ``statement`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),  # not the checkout: measure the installed package
    )
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


async def run(settings: Settings) -> list[Row]:
    runs = 3 if settings.quick else 21
    wall: dict[str, list[float]] = {key: [] for key in STATEMENTS}
    cpu: dict[str, list[float]] = {key: [] for key in STATEMENTS}
    for _ in range(runs):
        for key, statement in STATEMENTS.items():
            w, c = time_import(statement)
            wall[key].append(w * 1e3)
            cpu[key].append(c * 1e3)

    def row(metric: str, key: str, figures: dict[str, list[float]], best: bool = True) -> Row:
        pick = min if best else median
        return Row(
            SECTION,
            metric,
            "ms",
            pick(figures[key]),
            pick(figures["base_a"]),
            pick(figures["base_b"]),
        )

    main = row(f"import voicegraph, best of {runs}", "voicegraph", wall)
    main.target = f"<= {TARGET_MS:.0f} ms"
    main.verdict = at_most(main.vg or 0.0, TARGET_MS, "ms")
    return [
        main,
        row("import voicegraph, median", "voicegraph", wall, best=False),
        row("import voicegraph, CPU time, best", "voicegraph", cpu),
        row("import voicegraph.nodes.vad, best", "vad", wall),
        row("import voicegraph.nodes.agent, best", "agent", wall),
    ]

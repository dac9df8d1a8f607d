"""Benchmark 4 — many graphs in one process.

1, 10 and 100 chains (source -> 8 pass-through -> sink, capacity 4), each with its own Runner,
all started together in one task group. Frames per chain = total / chains, so every level moves
the same number of frames. Cost per frame per hop = wall time / (total frames x 8 hops);
the ratio to the single-chain cost shows how the runner scales with the number of graphs
(target: within 1.5x). The baselines do the same with raw asyncio / anyio chains.
"""

from __future__ import annotations

import gc

from .chains import LatencyProbe
from .common import HOPS, Row, Settings, at_most, make_frames, median
from .hop import VARIANTS

__all__ = ["NOTE", "SECTION", "run"]

SECTION = "4. scale"
NOTE = (
    "N concurrent chains (source -> 8 pass-through -> sink, one Runner each), same total frames; "
    "cost = wall / (frames x 8 hops); baselines: (a) asyncio.Queue(4), (b) anyio stream(4) chains"
)


async def measure(variant: str, chains: int, total: int, capacity: int) -> float:
    """Seconds per frame per hop with ``chains`` concurrent chains moving ``total`` frames."""
    per_chain = max(1, total // chains)
    jobs = [(make_frames(per_chain), LatencyProbe(per_chain)) for _ in range(chains)]
    gc.collect()
    wall = await VARIANTS[variant](jobs, HOPS, capacity)
    if any(probe.count != per_chain for _, probe in jobs):
        raise RuntimeError(f"{variant}: a sink missed frames with {chains} chains")
    return wall / (per_chain * chains * HOPS)


async def startup_cost(variant: str, chains: int, capacity: int) -> float:
    """Seconds per chain to start, pass one frame and stop, with ``chains`` chains at once."""
    runs = []
    for _ in range(3):
        jobs = [(make_frames(1), LatencyProbe(1)) for _ in range(chains)]
        gc.collect()
        runs.append(await VARIANTS[variant](jobs, HOPS, capacity) / chains)
    return median(runs)


async def run(settings: Settings) -> list[Row]:
    """Measure every variant at every level; return the table rows."""
    levels = settings.scale_levels
    cost: dict[tuple[str, int], list[float]] = {(v, n): [] for v in VARIANTS for n in levels}
    for variant in VARIANTS:  # warm-up
        await measure(variant, max(levels), max(levels) * 5, settings.capacity)
    for _ in range(settings.repeats):
        for n in levels:
            for variant in VARIANTS:
                value = await measure(variant, n, settings.scale_total_frames, settings.capacity)
                cost[variant, n].append(value)
    med = {key: median(values) * 1e6 for key, values in cost.items()}
    fixed = {v: await startup_cost(v, max(levels), settings.capacity) for v in VARIANTS}
    rows: list[Row] = []
    one = levels[0]
    for n in levels:
        rows.append(
            Row(
                SECTION,
                f"{n} graph{'s' if n > 1 else ''}: cost per frame per hop",
                "us",
                med["voicegraph", n],
                med["asyncio", n],
                med["anyio", n],
            )
        )
    rows.append(
        Row(
            SECTION,
            f"start + stop per graph ({max(levels)} x 1 frame)",
            "ms",
            fixed["voicegraph"] * 1e3,
            fixed["asyncio"] * 1e3,
            fixed["anyio"] * 1e3,
        )
    )
    for n in levels[1:]:
        ratio = Row(
            SECTION,
            f"{n} graphs: cost / {one}-graph cost",
            "x",
            med["voicegraph", n] / med["voicegraph", one],
            med["asyncio", n] / med["asyncio", one],
            med["anyio", n] / med["anyio", one],
            "<= 1.5x",
        )
        ratio.verdict = at_most(ratio.vg or 0.0, 1.5, "x")
        rows.append(ratio)
    return rows

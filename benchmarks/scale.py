"""Benchmark 4 — many graphs in one process.

1, 10 and 100 chains (source -> 8 pass-through -> sink, capacity 4), each with its own Runner,
all started together in one task group. Frames per chain = total / chains, so every level moves
the same number of frames.

Cost per frame per hop = the event-loop thread's CPU time (``time.thread_time``) over the run /
(total frames x 8 hops). Everything runs on that one thread, so on an idle machine this equals
wall time; unlike wall time it does not count the moments other processes on a shared machine
hold the CPU. The wall-time ratio is shown too. The ratio to the single-chain cost shows how the
runner scales with the number of graphs (target: within 1.5x). The baselines do the same with
raw asyncio / anyio chains. Start + stop per graph (CPU time) is measured separately, with 1
frame per chain.
"""

from __future__ import annotations

import gc
from time import thread_time

from .chains import LatencyProbe
from .common import HOPS, Row, Settings, at_most, make_frames, median
from .hop import VARIANTS

__all__ = ["NOTE", "SECTION", "run"]

SECTION = "4. scale"
NOTE = (
    "N concurrent chains (source -> 8 pass-through -> sink, one Runner each), same total frames; "
    "cost = loop-thread CPU time / (frames x 8 hops); baselines: (a) asyncio.Queue(4), "
    "(b) anyio stream(4) chains"
)


async def measure(variant: str, chains: int, total: int, capacity: int) -> tuple[float, float]:
    """CPU and wall seconds per frame per hop, ``chains`` concurrent chains, ``total`` frames."""
    per_chain = max(1, total // chains)
    jobs = [(make_frames(per_chain), LatencyProbe(per_chain)) for _ in range(chains)]
    gc.collect()
    cpu0 = thread_time()
    wall = await VARIANTS[variant](jobs, HOPS, capacity)
    cpu = thread_time() - cpu0
    if any(probe.count != per_chain for _, probe in jobs):
        raise RuntimeError(f"{variant}: a sink missed frames with {chains} chains")
    hops = per_chain * chains * HOPS
    return cpu / hops, wall / hops


async def startup_cost(variant: str, chains: int, capacity: int) -> float:
    """Loop-thread CPU seconds per chain to start, pass one frame and stop, ``chains`` at once."""
    runs = []
    for _ in range(3):
        jobs = [(make_frames(1), LatencyProbe(1)) for _ in range(chains)]
        gc.collect()
        cpu0 = thread_time()
        await VARIANTS[variant](jobs, HOPS, capacity)
        runs.append((thread_time() - cpu0) / chains)
    return median(runs)


async def run(settings: Settings) -> list[Row]:
    """Measure every variant at every level; return the table rows."""
    levels = settings.scale_levels
    cpu: dict[tuple[str, int], list[float]] = {(v, n): [] for v in VARIANTS for n in levels}
    wall: dict[tuple[str, int], list[float]] = {(v, n): [] for v in VARIANTS for n in levels}
    for variant in VARIANTS:  # warm-up
        await measure(variant, max(levels), max(levels) * 5, settings.capacity)
    for _ in range(settings.repeats):
        for n in levels:
            for variant in VARIANTS:
                c, w = await measure(variant, n, settings.scale_total_frames, settings.capacity)
                cpu[variant, n].append(c)
                wall[variant, n].append(w)
    fixed = {v: await startup_cost(v, max(levels), settings.capacity) for v in VARIANTS}

    Table = dict[tuple[str, int], list[float]]

    def values(data: Table, n: int, per: int | None = None) -> list[float]:
        out = [median(data[v, n]) for v in VARIANTS]
        if per is not None:
            out = [x / median(data[v, per]) for x, v in zip(out, VARIANTS, strict=True)]
        return out

    rows: list[Row] = []
    one = levels[0]
    for n in levels:
        vg, a, b = (x * 1e6 for x in values(cpu, n))
        label = f"{n} graph{'s' if n > 1 else ''}: CPU cost per frame per hop"
        rows.append(Row(SECTION, label, "us", vg, a, b))
    vg, a, b = (fixed[v] * 1e3 for v in VARIANTS)
    rows.append(Row(SECTION, f"start + stop per graph ({max(levels)} x 1 frame)", "ms", vg, a, b))
    # Per-frame cost in steady state: the start/stop cost measured above is taken out, so
    # the target compares what a frame costs, not how many runs the same frames were split into.
    steady: Table = {
        (v, n): [c - fixed[v] * n / (settings.scale_total_frames * HOPS) for c in cpu[v, n]]
        for v in VARIANTS
        for n in levels
    }
    for n in levels[1:]:
        vg, a, b = values(cpu, n, per=one)
        rows.append(
            Row(SECTION, f"{n} graphs: CPU cost / {one}-graph (start/stop incl.)", "x", vg, a, b)
        )
    for n in levels[1:]:
        vg, a, b = values(steady, n, per=one)
        label = f"{n} graphs: per-frame cost / {one}-graph"
        ratio = Row(SECTION, label, "x", vg, a, b, "<= 1.5x")
        ratio.verdict = at_most(vg, 1.5, "x")
        rows.append(ratio)
    for n in levels[1:]:
        vg, a, b = values(wall, n, per=one)
        rows.append(Row(SECTION, f"{n} graphs: wall-time cost / {one}-graph", "x", vg, a, b))
    return rows

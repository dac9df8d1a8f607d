"""Benchmark 1 — per-hop overhead of a chain of 8 pass-through nodes.

source -> 8 x pass-through -> sink, 20,000 AudioFrames (20 ms, 16 kHz mono int16), every edge
of capacity 4. Two modes, identical for voicegraph and both baselines:

* saturated: the source sends as fast as the edges accept; throughput is frames / (last
  arrival - first send); latency is each frame's source-to-sink time (queueing included).
* unloaded: one frame in flight; the source sends the next frame only after the sink has the
  previous one. Per-hop latency = end-to-end / 8 (see ``common.HOPS``).

Each mode runs ``repeats`` times, variants interleaved; each figure is the median over repeats.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Sequence

from voicegraph.graph import AudioFrame

from .chains import LatencyProbe, run_anyio_chains, run_asyncio_chains, run_voicegraph_chains
from .common import HOPS, Row, Settings, at_least, at_most, make_frames, mean, median, percentile

__all__ = ["NOTE", "SECTION", "run"]

SECTION = "1. per-hop overhead"
NOTE = (
    "source -> 8 pass-through -> sink (9 edges, capacity 4); baselines: (a) asyncio.Queue(4), "
    "(b) anyio memory stream(4), same topology; hop = one pass-through stage = end-to-end / 8"
)

Runner = Callable[[Sequence[tuple[Sequence[AudioFrame], LatencyProbe]], int, int], Awaitable[float]]
VARIANTS: dict[str, Runner] = {
    "voicegraph": run_voicegraph_chains,
    "asyncio": run_asyncio_chains,
    "anyio": run_anyio_chains,
}


async def measure(variant: str, n: int, *, unloaded: bool, capacity: int) -> LatencyProbe:
    """Push ``n`` frames through one chain of ``variant`` and return the filled probe."""
    frames = make_frames(n)
    probe = LatencyProbe(n, unloaded=unloaded)
    gc.collect()
    await VARIANTS[variant]([(frames, probe)], HOPS, capacity)
    if probe.count != n:
        raise RuntimeError(f"{variant}: the sink got {probe.count} of {n} frames")
    return probe


async def run(settings: Settings) -> list[Row]:
    """Measure every variant in both modes and return the table rows."""
    cap = settings.capacity
    for variant in VARIANTS:  # warm-up: imports, code paths, allocator
        await measure(variant, 500, unloaded=False, capacity=cap)
        await measure(variant, 200, unloaded=True, capacity=cap)

    tput: dict[str, list[float]] = {v: [] for v in VARIANTS}
    sat_mean: dict[str, list[float]] = {v: [] for v in VARIANTS}
    sat_p99: dict[str, list[float]] = {v: [] for v in VARIANTS}
    hop_mean: dict[str, list[float]] = {v: [] for v in VARIANTS}
    hop_p50: dict[str, list[float]] = {v: [] for v in VARIANTS}
    hop_p99: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(settings.repeats):
        for variant in VARIANTS:
            probe = await measure(variant, settings.hop_frames, unloaded=False, capacity=cap)
            lat = probe.latencies()
            tput[variant].append(probe.throughput())
            sat_mean[variant].append(mean(lat) * 1e6)
            sat_p99[variant].append(percentile(lat, 99) * 1e6)
        for variant in VARIANTS:
            probe = await measure(
                variant, settings.hop_unloaded_frames, unloaded=True, capacity=cap
            )
            per_hop = [x / HOPS * 1e6 for x in probe.latencies()]
            hop_mean[variant].append(mean(per_hop))
            hop_p50[variant].append(median(per_hop))
            hop_p99[variant].append(percentile(per_hop, 99))

    def row(
        metric: str, unit: str, data: dict[str, list[float]], target: str = "", verdict: str = ""
    ) -> Row:
        return Row(
            SECTION,
            metric,
            unit,
            median(data["voicegraph"]),
            median(data["asyncio"]),
            median(data["anyio"]),
            target,
            verdict,
        )

    throughput = row("saturated throughput", "frames/s", tput)
    ratio = throughput.ratio(throughput.base_a)
    throughput.target = ">= 0.5x asyncio"
    throughput.verdict = at_least(ratio if ratio is not None else float("nan"), 0.5, "x")
    unloaded = row("unloaded latency per hop, mean", "us", hop_mean, "<= 10 us")
    unloaded.verdict = at_most(unloaded.vg or float("nan"), 10.0, "us")
    return [
        throughput,
        row("saturated latency, mean", "us", sat_mean),
        row("saturated latency, p99", "us", sat_p99),
        unloaded,
        row("unloaded latency per hop, median", "us", hop_p50),
        row("unloaded latency per hop, p99", "us", hop_p99),
    ]

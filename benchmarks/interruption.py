"""Benchmark 2 — interruption latency and stale frames.

source -> controller -> 7 pass-through -> sink (capacity 4 everywhere), the source sending as fast
as the edges accept. A driver task calls ``runner.interrupt("controller")`` ``interrupts`` times
at random 0.5-3 ms gaps. The scope is the 8 nodes downstream of the controller; each records
``perf_counter()`` in ``on_interrupt``. Reported: time from the interrupt call to the LAST of the
8 ``on_interrupt`` calls (median, p99), the synchronous cost of the ``interrupt()`` call itself,
and stale frames: frames reaching the sink whose epoch is older than the latest epoch the runner
has issued (``runner.interrupts[-1].epoch``) at the moment the sink receives them.

Baselines: the same chain of bare tasks (controller stamps ``(epoch, frame)`` tuples). Interrupt =
bump the epoch, cancel the 8 downstream tasks, wait for them to end, empty their queues, start 8
new tasks; the interval ends when the last new task has started. (a) asyncio tasks +
``asyncio.Queue(4)``; (b) an anyio task group (cancelled via its cancel scope) + memory streams(4).
Stale frames are counted the same way, at the sink, against the epoch issued at receive time.
"""

from __future__ import annotations

import gc
import random

from voicegraph.graph import AudioFrame, Graph, In, Interrupt, Node, Out
from voicegraph.runner import Runner

from .chains import PassThrough, build_graph
from .common import FRAME_SECONDS, SAMPLE_RATE, Row, Settings, at_most, percentile
from .interruption_baselines import run_anyio, run_asyncio
from .interruption_probe import PCM, SCOPE, InterruptProbe, Result, drive

__all__ = ["NOTE", "SECTION", "run"]

SECTION = "2. interruption"
NOTE = (
    "source -> controller -> 7 pass-through -> sink, saturated; interval = interrupt call -> last "
    "of the 8 in-scope nodes ran on_interrupt; baselines: cancel the 8 downstream tasks, drain "
    "their queues, start 8 new ones: (a) asyncio tasks + Queue(4), (b) anyio task group + "
    "memory streams(4); interval ends when the last new task starts"
)


# --------------------------------------------------------------------------- voicegraph


class EndlessSource(Node):
    """Emits fresh frames as fast as the edge accepts until ``probe.stop``."""

    out: Out[AudioFrame]

    def __init__(self, probe: InterruptProbe) -> None:
        super().__init__()
        self.probe = probe

    async def run(self) -> None:
        i = 0
        while not self.probe.stop:
            await self.emit(self.out, AudioFrame(PCM, SAMPLE_RATE, pts=i * FRAME_SECONDS))
            i += 1


class MarkingPassThrough(PassThrough):
    """A pass-through stage that marks when its ``on_interrupt`` runs."""

    def __init__(self, probe: InterruptProbe) -> None:
        super().__init__()
        self.probe = probe

    async def on_interrupt(self, event: Interrupt) -> None:
        self.probe.mark(event.epoch)


class StaleCheckingSink(Node):
    """Counts frames older than the newest epoch the runner has issued when they arrive."""

    audio: In[AudioFrame]

    def __init__(self, probe: InterruptProbe) -> None:
        super().__init__()
        self.probe = probe
        self.runner: Runner | None = None

    async def on_audio(self, frame: AudioFrame) -> None:
        assert self.runner is not None
        issued = self.runner.interrupts
        self.probe.arrived(frame.epoch, issued[-1].epoch if issued else 0)

    async def on_interrupt(self, event: Interrupt) -> None:
        self.probe.mark(event.epoch)


async def _voicegraph(settings: Settings, rng: random.Random) -> Result:
    probe = InterruptProbe()
    sink = StaleCheckingSink(probe)
    controller = PassThrough()
    stages: list[Node] = [controller, *(MarkingPassThrough(probe) for _ in range(SCOPE - 1))]
    graph: Graph = build_graph(EndlessSource(probe), sink, stages, settings.capacity)
    runner = Runner(graph)
    sink.runner = runner
    gc.collect()
    async with runner:
        result = await drive(probe, lambda: runner.interrupt(controller), settings.interrupts, rng)
        await runner.wait()
    result.stale, result.received = probe.stale, probe.received
    result.dropped_by_runner = sum(e.stale for e in runner.metrics().edges.values())
    return result


# --------------------------------------------------------------------------- report


async def run(settings: Settings) -> list[Row]:
    """Measure voicegraph and both baselines; return the table rows."""
    vg = await _voicegraph(settings, random.Random(1234))
    a = await run_asyncio(settings, random.Random(1234))
    b = await run_anyio(settings, random.Random(1234))

    def row(metric: str, attr: str, q: float, target: str = "") -> Row:
        v, x, y = (percentile(getattr(r, attr), q) * 1e6 for r in (vg, a, b))
        return Row(SECTION, metric, "us", v, x, y, target=target)

    med = row("interrupt -> last on_interrupt, median", "latency", 50, "<= 150 us")
    med.verdict = at_most(med.vg or 0.0, 150.0, "us")
    p99 = row("interrupt -> last on_interrupt, p99", "latency", 99, "<= 300 us")
    p99.verdict = at_most(p99.vg or 0.0, 300.0, "us")
    stale = Row(SECTION, "stale frames at the sink", "frames", vg.stale, a.stale, b.stale, "0")
    stale.verdict = "met" if vg.stale == 0 else f"MISSED: {vg.stale} stale frames"
    return [
        med,
        p99,
        row("  same, loop-thread CPU time, median", "cpu", 50),
        row("  same, loop-thread CPU time, p99", "cpu", 99),
        row("  of which the interrupt() call, median", "sync", 50),
        stale,
        Row(SECTION, "frames received by the sink", "frames", vg.received, a.received, b.received),
        Row(SECTION, "queued frames dropped as stale (runner)", "frames", vg.dropped_by_runner),
    ]

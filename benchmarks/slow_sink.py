"""Benchmark 3 — a slow sink must not make memory grow.

A source producing fresh 20 ms frames as fast as it can (a new PCM buffer per frame, so any
retained frame shows up in RSS) feeds a sink that sleeps 20 ms of real time per frame, for
``slow_seconds``. voicegraph runs it twice: source edge policy ``block`` and ``drop_oldest``
(capacity 8, the default). Reported: peak RSS growth over the RSS just before the run (psutil,
sampled every 50 ms in a thread) and the edge's queue high-water vs capacity from
``runner.metrics()``.

Baselines are the same source and sink joined by an UNBOUNDED queue, to show the growth that
bounded edges prevent: (a) ``asyncio.Queue()``, (b) ``anyio.create_memory_object_stream(inf)``.
They stop early once RSS has grown by ``slow_unbounded_cap_mb``.

Every source awaits a checkpoint after each frame: ``emit`` on a ``drop_oldest`` edge never
suspends, so without it a greedy source would hold the event loop forever (see README).
"""

from __future__ import annotations

import asyncio
import gc
import math
import threading
from dataclasses import dataclass
from time import perf_counter

import anyio
import anyio.lowlevel
import psutil

from voicegraph.graph import AudioFrame, In, Node, Out
from voicegraph.runner import Runner

from .chains import build_graph
from .common import FRAME_SECONDS, Row, Settings, at_most, fresh_frame

__all__ = ["NOTE", "SECTION", "RssSampler", "run"]

SECTION = "3. slow sink"
NOTE = (
    "greedy source -> sink sleeping 20 ms/frame (real clock), edge capacity 8; baselines are "
    "UNBOUNDED: (a) asyncio.Queue(), (b) anyio stream(inf), stopped at a RSS growth cap"
)
CAPACITY = 8
MB = 1024 * 1024


class RssSampler:
    """Samples this process's RSS every ``interval`` seconds in a thread; tracks the peak."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self.base = 0
        self.peak = 0
        self.latest = 0

    def _sample(self) -> None:
        rss = self._proc.memory_info().rss
        self.latest = rss
        if rss > self.peak:
            self.peak = rss

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> RssSampler:
        gc.collect()
        self.base = self.peak = self.latest = self._proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def growth_mb(self) -> float:
        """Peak RSS minus the RSS at the start, in MiB."""
        return (self.peak - self.base) / MB

    @property
    def current_growth_mb(self) -> float:
        """Latest sampled RSS minus the RSS at the start, in MiB."""
        return (self.latest - self.base) / MB


@dataclass(slots=True)
class Outcome:
    """What one variant measured."""

    growth_mb: float
    depth: int
    capacity: float
    produced: int
    consumed: int
    seconds: float
    drops: int = 0


class GreedySource(Node):
    """Emits fresh frames as fast as it can until the deadline."""

    out: Out[AudioFrame]

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.produced = 0

    async def run(self) -> None:
        deadline = perf_counter() + self.seconds
        i = 0
        while perf_counter() < deadline:
            await self.emit(self.out, fresh_frame(i))
            i += 1
            await anyio.lowlevel.checkpoint()
        self.produced = i


class SlowSink(Node):
    """Takes 20 ms of real time per frame."""

    audio: In[AudioFrame]

    def __init__(self) -> None:
        super().__init__()
        self.consumed = 0

    async def on_audio(self, frame: AudioFrame) -> None:
        self.consumed += 1
        await self.clock.sleep(FRAME_SECONDS)


async def _voicegraph(seconds: float, policy: str) -> Outcome:
    source, sink = GreedySource(seconds), SlowSink()
    runner = Runner(build_graph(source, sink, [], CAPACITY, policy))
    with RssSampler() as rss:
        t0 = perf_counter()
        metrics = await runner.run()
        elapsed = perf_counter() - t0
    (edge,) = metrics.edges.values()
    return Outcome(
        rss.growth_mb,
        edge.high_water,
        edge.capacity,
        source.produced,
        sink.consumed,
        elapsed,
        edge.drops,
    )


async def _unbounded(seconds: float, cap_mb: float, kind: str) -> Outcome:
    """Source -> unbounded queue -> slow sink; stops at the deadline or the growth cap."""
    depth = produced = consumed = 0
    done = False
    if kind == "asyncio":
        queue: asyncio.Queue[AudioFrame] = asyncio.Queue()
        put, get, size = queue.put_nowait, queue.get, queue.qsize
    else:
        tx, rx = anyio.create_memory_object_stream[AudioFrame](math.inf)
        put, get = tx.send_nowait, rx.receive

        def size() -> int:
            return tx.statistics().current_buffer_used

    async def sink() -> None:
        nonlocal consumed
        while not done:
            await get()
            consumed += 1
            await asyncio.sleep(FRAME_SECONDS)

    with RssSampler() as rss:
        t0 = perf_counter()
        deadline = t0 + seconds
        async with anyio.create_task_group() as tg:
            tg.start_soon(sink)
            while perf_counter() < deadline and rss.current_growth_mb < cap_mb:
                put(fresh_frame(produced))
                produced += 1
                depth = max(depth, size())
                await anyio.lowlevel.checkpoint()
            done = True
            tg.cancel_scope.cancel()
        elapsed = perf_counter() - t0
    return Outcome(rss.growth_mb, depth, math.inf, produced, consumed, elapsed)


async def run(settings: Settings) -> list[Row]:
    """Run both voicegraph policies, then the unbounded baselines; return the table rows."""
    seconds = settings.slow_seconds
    block = await _voicegraph(seconds, "block")
    drop = await _voicegraph(seconds, "drop_oldest")
    a = await _unbounded(seconds, settings.slow_unbounded_cap_mb, "asyncio")
    gc.collect()
    b = await _unbounded(seconds, settings.slow_unbounded_cap_mb, "anyio")
    gc.collect()

    rows: list[Row] = []
    for name, vg in (("block", block), ("drop_oldest", drop)):
        growth = Row(
            SECTION,
            f"{name}: peak RSS growth",
            "MiB",
            vg.growth_mb,
            a.growth_mb,
            b.growth_mb,
            "< 5 MiB",
        )
        growth.verdict = "met" if vg.growth_mb < 5.0 else at_most(vg.growth_mb, 5.0, "MiB")
        depth = Row(
            SECTION,
            f"{name}: max queue depth (capacity {CAPACITY})",
            "frames",
            vg.depth,
            a.depth,
            b.depth,
            f"<= {CAPACITY}",
        )
        depth.verdict = "met" if vg.depth <= vg.capacity else f"MISSED: {vg.depth} > {vg.capacity}"
        rows += [growth, depth]
    rows += [
        Row(SECTION, "drop_oldest: frames dropped", "frames", drop.drops),
        Row(
            SECTION,
            "block: frames produced / s",
            "frames/s",
            block.produced / block.seconds,
            a.produced / a.seconds,
            b.produced / b.seconds,
        ),
        Row(
            SECTION,
            "block: frames consumed by the sink",
            "frames",
            block.consumed,
            a.consumed,
            b.consumed,
        ),
        Row(
            SECTION,
            "run time (baselines stop at the RSS cap)",
            "s",
            block.seconds,
            a.seconds,
            b.seconds,
        ),
    ]
    return rows

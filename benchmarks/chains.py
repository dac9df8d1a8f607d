"""The chain under test, three ways: a voicegraph graph and the two raw baselines.

Every variant has the same shape: a source task, 8 pass-through stages and a sink, joined by 9
bounded queues of the same capacity (voicegraph edges, ``asyncio.Queue(maxsize=capacity)``, or
``anyio.create_memory_object_stream(capacity)``). The source and sink run the same probe code
in all three, so only the transport differs.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from time import perf_counter

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from voicegraph.graph import AudioFrame, Graph, In, Node, Out
from voicegraph.runner import Runner

from .common import frame_index

__all__ = [
    "LatencyProbe",
    "PassThrough",
    "ProbeSink",
    "ProbeSource",
    "build_graph",
    "feed",
    "run_anyio_chains",
    "run_asyncio_chains",
    "run_voicegraph_chains",
]

Send = Callable[[AudioFrame], Awaitable[None]]


class LatencyProbe:
    """Send/receive timestamps per frame; in unloaded mode, one frame in flight at a time."""

    __slots__ = ("_waiter", "count", "recv", "sent", "unloaded")

    def __init__(self, n: int, *, unloaded: bool = False) -> None:
        self.sent = [0.0] * n
        self.recv = [0.0] * n
        self.count = 0
        self.unloaded = unloaded
        self._waiter: asyncio.Future[None] | None = None

    def arm(self) -> asyncio.Future[None] | None:
        """Before sending: in unloaded mode, a future the sink resolves on arrival."""
        if not self.unloaded:
            return None
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        return waiter

    def received(self, frame: AudioFrame) -> None:
        """At the sink: stamp the arrival and release the source in unloaded mode."""
        self.recv[frame_index(frame)] = perf_counter()
        self.count += 1
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set_result(None)

    def latencies(self) -> list[float]:
        """Source-to-sink seconds per frame."""
        return [r - s for s, r in zip(self.sent, self.recv, strict=True)]

    def throughput(self) -> float:
        """Frames per second from the first send to the last arrival."""
        span = self.recv[-1] - self.sent[0]
        return len(self.sent) / span if span > 0 else float("nan")


async def feed(frames: Sequence[AudioFrame], probe: LatencyProbe, send: Send) -> None:
    """The source loop shared by every variant."""
    sent = probe.sent
    for i, frame in enumerate(frames):
        waiter = probe.arm()
        sent[i] = perf_counter()
        await send(frame)
        if waiter is not None:
            await waiter


# --------------------------------------------------------------------------- voicegraph


class ProbeSource(Node):
    """Emits a prepared list of frames as fast as the edge allows."""

    out: Out[AudioFrame]

    def __init__(self, frames: Sequence[AudioFrame], probe: LatencyProbe) -> None:
        super().__init__()
        self.to_send = frames
        self.probe = probe

    async def run(self) -> None:
        await feed(self.to_send, self.probe, partial(self.emit, self.out))


class PassThrough(Node):
    """Forwards every frame unchanged."""

    audio: In[AudioFrame]
    out: Out[AudioFrame]

    async def on_audio(self, frame: AudioFrame) -> None:
        await self.emit(self.out, frame)


class ProbeSink(Node):
    """Stamps arrivals on a :class:`LatencyProbe`."""

    audio: In[AudioFrame]

    def __init__(self, probe: LatencyProbe) -> None:
        super().__init__()
        self.probe = probe

    async def on_audio(self, frame: AudioFrame) -> None:
        self.probe.received(frame)


def build_graph(
    source: Node, sink: Node, stages: Sequence[Node], capacity: int, policy: str = "block"
) -> Graph:
    """``source -> stages... -> sink`` with every edge of ``capacity``."""
    g = Graph()
    nodes = [source, *stages, sink]
    for i, node in enumerate(nodes):
        g.add(node, "source" if i == 0 else "sink" if i == len(nodes) - 1 else f"stage{i}")
    for a, b in itertools.pairwise(nodes):
        (out,) = a.outputs.values()
        (inp,) = b.inputs.values()
        g.connect(out, inp, capacity=capacity, policy=policy)  # type: ignore[arg-type]
    return g


async def run_voicegraph_chains(
    jobs: Sequence[tuple[Sequence[AudioFrame], LatencyProbe]], stages: int, capacity: int
) -> float:
    """Run one graph per job concurrently (one Runner each); return the wall time."""
    runners = [
        Runner(
            build_graph(
                ProbeSource(frames, probe),
                ProbeSink(probe),
                [PassThrough() for _ in range(stages)],
                capacity,
            )
        )
        for frames, probe in jobs
    ]
    t0 = perf_counter()
    async with anyio.create_task_group() as tg:
        for runner in runners:
            tg.start_soon(runner.run)
    return perf_counter() - t0


# --------------------------------------------------------------------------- raw asyncio

_END = None


async def _asyncio_chain(
    frames: Sequence[AudioFrame], probe: LatencyProbe, stages: int, capacity: int
) -> None:
    queues: list[asyncio.Queue[AudioFrame | None]] = [
        asyncio.Queue(maxsize=capacity) for _ in range(stages + 1)
    ]

    async def source() -> None:
        await feed(frames, probe, queues[0].put)
        await queues[0].put(_END)

    async def stage(
        inq: asyncio.Queue[AudioFrame | None], outq: asyncio.Queue[AudioFrame | None]
    ) -> None:
        while (frame := await inq.get()) is not None:
            await outq.put(frame)
        await outq.put(_END)

    async def sink() -> None:
        last = queues[-1]
        while (frame := await last.get()) is not None:
            probe.received(frame)

    tasks = [asyncio.create_task(source())]
    tasks += [asyncio.create_task(stage(queues[i], queues[i + 1])) for i in range(stages)]
    tasks.append(asyncio.create_task(sink()))
    await asyncio.gather(*tasks)


async def run_asyncio_chains(
    jobs: Sequence[tuple[Sequence[AudioFrame], LatencyProbe]], stages: int, capacity: int
) -> float:
    """Baseline (a): bare asyncio tasks joined by ``asyncio.Queue(maxsize=capacity)``."""
    t0 = perf_counter()
    await asyncio.gather(*(_asyncio_chain(f, p, stages, capacity) for f, p in jobs))
    return perf_counter() - t0


# --------------------------------------------------------------------------- raw anyio


async def _anyio_chain(
    frames: Sequence[AudioFrame], probe: LatencyProbe, stages: int, capacity: int
) -> None:
    streams = [anyio.create_memory_object_stream[AudioFrame](capacity) for _ in range(stages + 1)]

    async def source(tx: MemoryObjectSendStream[AudioFrame]) -> None:
        async with tx:
            await feed(frames, probe, tx.send)

    async def stage(
        rx: MemoryObjectReceiveStream[AudioFrame], tx: MemoryObjectSendStream[AudioFrame]
    ) -> None:
        async with rx, tx:
            async for frame in rx:
                await tx.send(frame)

    async def sink(rx: MemoryObjectReceiveStream[AudioFrame]) -> None:
        async with rx:
            async for frame in rx:
                probe.received(frame)

    async with anyio.create_task_group() as tg:
        tg.start_soon(source, streams[0][0])
        for i in range(stages):
            tg.start_soon(stage, streams[i][1], streams[i + 1][0])
        tg.start_soon(sink, streams[-1][1])


async def run_anyio_chains(
    jobs: Sequence[tuple[Sequence[AudioFrame], LatencyProbe]], stages: int, capacity: int
) -> float:
    """Baseline (b): anyio tasks joined by ``anyio.create_memory_object_stream(capacity)``."""
    t0 = perf_counter()
    async with anyio.create_task_group() as tg:
        for frames, probe in jobs:
            tg.start_soon(_anyio_chain, frames, probe, stages, capacity)
    return perf_counter() - t0

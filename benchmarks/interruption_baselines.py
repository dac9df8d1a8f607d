"""Baselines for benchmark 2: interrupting hand-rolled chains by cancel + restart.

The chain is source -> controller -> 7 stages -> sink of bare tasks; the controller stamps
``(epoch, frame)`` tuples. An interrupt bumps the epoch, cancels the 8 downstream tasks, waits for
them to end, empties their queues and starts 8 new tasks, which mark the probe as they start.
"""

from __future__ import annotations

import asyncio
import gc
import random

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from voicegraph.graph import AudioFrame

from .common import FRAME_SECONDS, SAMPLE_RATE, Settings
from .interruption_probe import PCM, SCOPE, InterruptProbe, Result, drive

__all__ = ["run_anyio", "run_asyncio"]

# --------------------------------------------------------------------------- raw asyncio

Item = tuple[int, AudioFrame] | None


async def run_asyncio(settings: Settings, rng: random.Random) -> Result:
    probe = InterruptProbe()
    epoch = 0
    queues: list[asyncio.Queue[Item]] = [asyncio.Queue(settings.capacity) for _ in range(SCOPE + 1)]

    async def source() -> None:
        i = 0
        while not probe.stop:
            await queues[0].put((0, AudioFrame(PCM, SAMPLE_RATE, pts=i * FRAME_SECONDS)))
            i += 1
        await queues[0].put(None)

    async def controller() -> None:
        while (item := await queues[0].get()) is not None:
            await queues[1].put((epoch, item[1]))
        await queues[1].put(None)

    async def stage(k: int, started: int) -> None:
        if started:
            probe.mark(started)
        inq, outq = queues[k], queues[k + 1]
        while (item := await inq.get()) is not None:
            await outq.put(item)
        await outq.put(None)

    async def sink(started: int) -> None:
        if started:
            probe.mark(started)
        last = queues[-1]
        while (item := await last.get()) is not None:
            probe.arrived(item[0], epoch)

    def start(started: int) -> list[asyncio.Task[None]]:
        tasks = [asyncio.create_task(stage(k, started)) for k in range(1, SCOPE)]
        return [*tasks, asyncio.create_task(sink(started))]

    scope = start(0)

    async def interrupt() -> int:
        nonlocal epoch, scope
        epoch += 1
        for task in scope:
            task.cancel()
        await asyncio.wait(scope)
        for q in queues[1:]:
            while not q.empty():
                q.get_nowait()
        scope = start(epoch)
        return epoch

    gc.collect()
    upstream = [asyncio.create_task(source()), asyncio.create_task(controller())]
    result = await drive(probe, interrupt, settings.interrupts, rng)
    await asyncio.gather(*upstream, *scope)
    result.stale, result.received = probe.stale, probe.received
    return result


# --------------------------------------------------------------------------- raw anyio


async def run_anyio(settings: Settings, rng: random.Random) -> Result:
    probe = InterruptProbe()
    epoch = 0
    streams = [anyio.create_memory_object_stream[Item](settings.capacity) for _ in range(SCOPE + 1)]
    group: anyio.abc.TaskGroup | None = None

    async def source(tx: MemoryObjectSendStream[Item]) -> None:
        async with tx:
            i = 0
            while not probe.stop:
                await tx.send((0, AudioFrame(PCM, SAMPLE_RATE, pts=i * FRAME_SECONDS)))
                i += 1

    async def controller(
        rx: MemoryObjectReceiveStream[Item], tx: MemoryObjectSendStream[Item]
    ) -> None:
        async with rx, tx:
            async for item in rx:
                assert item is not None
                await tx.send((epoch, item[1]))

    async def stage(
        rx: MemoryObjectReceiveStream[Item], tx: MemoryObjectSendStream[Item], started: int
    ) -> None:
        if started:
            probe.mark(started)
        async for item in rx:  # streams stay open across restarts; closed at end of input
            await tx.send(item)
        await tx.aclose()

    async def sink(rx: MemoryObjectReceiveStream[Item], started: int) -> None:
        if started:
            probe.mark(started)
        async for item in rx:
            assert item is not None
            probe.arrived(item[0], epoch)

    async def supervise() -> None:
        nonlocal group
        started = 0
        while True:
            async with anyio.create_task_group() as tg:
                group = tg
                for k in range(1, SCOPE):
                    tg.start_soon(stage, streams[k][1], streams[k + 1][0], started)
                tg.start_soon(sink, streams[-1][1], started)
            if not tg.cancel_scope.cancel_called:
                return  # end of input reached the sink
            for _, rx in streams[1:]:
                while True:
                    try:
                        rx.receive_nowait()
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
            started = epoch

    def interrupt() -> int:
        nonlocal epoch
        epoch += 1
        assert group is not None
        group.cancel_scope.cancel()
        return epoch

    gc.collect()
    async with anyio.create_task_group() as tg:
        tg.start_soon(source, streams[0][0])
        tg.start_soon(controller, streams[0][1], streams[1][0])
        tg.start_soon(supervise)
        result = await drive(probe, interrupt, settings.interrupts, rng)
    result.stale, result.received = probe.stale, probe.received
    return result

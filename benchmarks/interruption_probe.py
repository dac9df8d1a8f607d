"""Shared by benchmark 2's variants: the probe the in-scope nodes mark, and the driver loop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter, thread_time
from typing import Any

import anyio

from .common import make_frames

__all__ = ["PCM", "SCOPE", "WARMUP", "InterruptProbe", "Result", "drive"]

SCOPE = 8
WARMUP = 10
PCM = make_frames(1)[0].pcm


@dataclass(slots=True)
class InterruptProbe:
    """Per-epoch marks from the in-scope nodes, plus the sink's stale-frame count."""

    expect: int = SCOPE
    marks: dict[int, list[float]] = field(default_factory=dict)
    cpu_done: dict[int, float] = field(default_factory=dict)
    waiters: dict[int, asyncio.Future[None]] = field(default_factory=dict)
    received: int = 0
    stale: int = 0
    current_epoch_frames: int = 0
    stop: bool = False

    def mark(self, epoch: int) -> None:
        """An in-scope node is done with the interrupt of ``epoch``."""
        t = perf_counter()
        marks = self.marks.setdefault(epoch, [])
        marks.append(t)
        if len(marks) == self.expect:
            self.cpu_done[epoch] = thread_time()
            waiter = self.waiters.pop(epoch, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def waiter(self, epoch: int) -> asyncio.Future[None]:
        """A future resolved once all in-scope nodes marked ``epoch``."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if len(self.marks.get(epoch, ())) >= self.expect:
            fut.set_result(None)
        else:
            self.waiters[epoch] = fut
        return fut

    def arrived(self, epoch: int, issued: int) -> None:
        """At the sink: a frame of ``epoch`` arrived while ``issued`` is the newest epoch."""
        self.received += 1
        if epoch < issued:
            self.stale += 1
        else:
            self.current_epoch_frames += 1


@dataclass(slots=True)
class Result:
    """What one variant measured."""

    latency: list[float] = field(default_factory=list)
    sync: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    stale: int = 0
    received: int = 0
    dropped_by_runner: int = 0


async def drive(
    probe: InterruptProbe,
    interrupt: Callable[[], Any],
    count: int,
    rng: random.Random,
) -> Result:
    """Fire ``WARMUP + count`` interrupts and time each; ``interrupt`` returns the new epoch."""
    result = Result()
    await anyio.sleep(0.05)  # let the pipeline fill up
    for k in range(WARMUP + count):
        await anyio.sleep(rng.uniform(0.0005, 0.003))
        c0 = thread_time()
        t0 = perf_counter()
        epoch = interrupt()
        if asyncio.iscoroutine(epoch):  # baselines do part of the work asynchronously
            epoch = await epoch
        t1 = perf_counter()
        with anyio.fail_after(5):
            await probe.waiter(epoch)
        if k >= WARMUP:
            result.latency.append(max(probe.marks[epoch]) - t0)
            result.sync.append(t1 - t0)
            result.cpu.append(probe.cpu_done[epoch] - c0)
        del probe.marks[epoch], probe.cpu_done[epoch]
    # the pipeline must still deliver frames in the newest epoch
    probe.current_epoch_frames = 0
    with anyio.fail_after(5):
        while probe.current_epoch_frames < 20:
            await anyio.sleep(0.001)
    probe.stop = True
    return result

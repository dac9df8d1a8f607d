"""How a bus subscription's readers wait and wake (the bus is on every node's hot path).

A waiting reader is woken once per batch of events and takes the event in that step (no
second yield); ``receive()`` is still a checkpoint when events are buffered; a reader
cancelled while waiting loses no event and does not stop another reader's wake-up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import anyio
import pytest

from voicegraph.graph import BusEvent
from voicegraph.runner import EventBus, VirtualClock


@dataclass(frozen=True, slots=True)
class Tick(BusEvent):
    n: int = 0


async def test_a_woken_reader_has_the_event_within_one_step() -> None:
    bus = EventBus(VirtualClock())
    sub = bus.subscribe(Tick)
    got: list[int] = []

    async def reader() -> None:
        async for event in sub:
            got.append(event.n)

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await asyncio.sleep(0)  # the reader waits now
        bus.publish(Tick(1), "a")
        bus.publish(Tick(2), "a")
        await asyncio.sleep(0)  # one step: the reader resumes once and takes the first event
        assert got == [1]
        await asyncio.sleep(0)  # its next receive() finds one buffered: a checkpoint, then it
        await asyncio.sleep(0)
        assert got == [1, 2]
        bus.close()


async def test_receive_is_a_checkpoint_when_events_are_buffered() -> None:
    bus = EventBus(VirtualClock())
    sub = bus.subscribe(Tick)
    bus.publish(Tick(1), "a")
    with anyio.CancelScope() as scope:
        scope.cancel()
        await sub.receive()
        pytest.fail("receive() did not check for cancellation")  # pragma: no cover
    assert sub.pending == 1  # the event was not lost
    assert (await sub.receive()).n == 1


async def test_a_reader_cancelled_while_waiting_loses_nothing_and_blocks_no_other() -> None:
    bus = EventBus(VirtualClock())
    sub = bus.subscribe(Tick)
    got: list[int] = []

    async def reader() -> None:
        got.append((await sub.receive()).n)

    scope = anyio.CancelScope()

    async def cancelled() -> None:
        with scope:
            await sub.receive()

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)  # the one that stays
        tg.start_soon(cancelled)
        await asyncio.sleep(0)  # both wait
        scope.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the cancelled reader is gone
        bus.publish(Tick(7), "a")
    assert got == [7]
    assert sub.pending == 0


async def test_a_closed_subscription_wakes_its_waiting_reader() -> None:
    bus = EventBus(VirtualClock())
    sub = bus.subscribe(Tick)
    ended: list[str] = []

    async def reader() -> None:
        try:
            await sub.receive()
        except anyio.ClosedResourceError:
            ended.append("closed")

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await asyncio.sleep(0)
        sub.close()
    assert ended == ["closed"]

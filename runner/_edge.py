"""Bounded edges and the per-node inbox they deliver into.

Every edge is bounded. A node's inbox holds the frames of all its input edges in arrival order
(fan-in merges in arrival order) plus a small priority lane for control events, which the node
reads before any queued data. Frames of an epoch older than the edge's are stale and never
delivered. Each control event on the lane carries its send's stamp (see ``NodeDriver``), so a
node that gets the same send by two paths handles it once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voicegraph.graph import Edge, Event, Frame

if TYPE_CHECKING:
    from ._trace import Trace

__all__ = ["CONTROL_CAPACITY", "EOS", "EdgeQueue", "Inbox"]

CONTROL_CAPACITY = 64
"""Control events an inbox holds before senders wait: the priority lane is bounded too."""


class _EndOfStream:
    __slots__ = ()
    epoch = 1 << 62  # never stale

    def __repr__(self) -> str:
        return "EOS"


EOS: Any = _EndOfStream()
"""The in-order end-of-stream marker placed on an edge's data lane."""


class Inbox:
    """A node's input: data in arrival order across edges, and a priority control lane."""

    __slots__ = ("_waiter", "control", "control_putters", "data", "edges")

    def __init__(self) -> None:
        self.data: deque[tuple[EdgeQueue, Any]] = deque()
        self.control: deque[tuple[Event, int]] = deque()
        self.control_putters: deque[asyncio.Future[None]] = deque()
        self.edges: list[EdgeQueue] = []
        self._waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        """Wake the node if it waits for input."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Wait until data or a control event arrives."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            if self._waiter is waiter:
                self._waiter = None

    async def put_control(self, event: Event, stamp: int, edge: EdgeQueue | None = None) -> None:
        """Queue a control event ahead of all data (waits if the lane is full).

        ``stamp`` identifies the send (0: none, e.g. an interrupt, which is never de-duplicated).
        Sent along ``edge``, it is dropped once that edge's receiver has finished (nobody will
        read it, so a sender never waits for it).
        """
        while len(self.control) >= CONTROL_CAPACITY:
            if edge is not None and edge.closed:
                return
            fut = asyncio.get_running_loop().create_future()
            self.control_putters.append(fut)
            await fut
        if edge is not None and edge.closed:
            return
        self.control.append((event, stamp))
        self.wake()

    def release_control_putters(self) -> None:
        """Wake every sender waiting for room on the control lane (the node has finished)."""
        while self.control_putters:
            fut = self.control_putters.popleft()
            if not fut.done():
                fut.set_result(None)

    def pop_control(self) -> tuple[Event, int]:
        """Take the next control event and let a waiting sender in."""
        item = self.control.popleft()
        while self.control_putters:
            fut = self.control_putters.popleft()
            if not fut.done():
                fut.set_result(None)
                break
        return item


class EdgeQueue:
    """The runtime side of an :class:`~voicegraph.graph.Edge`: policy, counters and epoch.

    Frames are stored in the destination's :class:`Inbox`; the edge counts how many of them are
    its own (``depth``) and enforces its capacity.
    """

    __slots__ = (
        "capacity",
        "closed",
        "depth",
        "drops",
        "dst",
        "epoch",
        "frames",
        "handler",
        "high_water",
        "inbox",
        "label",
        "policy",
        "putters",
        "spec",
        "stale",
        "trace",
    )

    def __init__(self, spec: Edge, inbox: Inbox, label: str) -> None:
        self.spec = spec
        self.inbox = inbox
        self.label = label
        self.dst = spec.dst
        self.capacity = 1 if spec.policy == "latest" else spec.capacity
        self.policy = spec.policy
        self.depth = 0
        self.frames = 0
        self.drops = 0
        self.stale = 0
        self.high_water = 0
        self.epoch = 0
        self.closed = False
        self.putters: deque[asyncio.Future[None]] = deque()
        self.handler: Callable[[Any], Any] | None = None
        self.trace: Trace | None = None
        inbox.edges.append(self)

    async def put(self, frame: Frame) -> None:
        """Queue ``frame``; when full, wait (``block``) or drop per the edge's policy."""
        if frame.epoch < self.epoch:
            self._drop_stale(frame)
            return
        if self.depth >= self.capacity:
            if self.policy == "block":
                loop = asyncio.get_running_loop()
                while self.depth >= self.capacity:
                    if self.closed:  # the receiver has finished: nobody will read this
                        self.drops += 1
                        return
                    fut = loop.create_future()
                    self.putters.append(fut)
                    try:
                        await fut
                    except BaseException:
                        if not fut.cancelled():
                            self._wake_putter()  # pass the slot we were given on
                        raise
                if frame.epoch < self.epoch:  # an interrupt came while we waited
                    self._drop_stale(frame)
                    return
            else:
                self._drop_oldest()
        self.inbox.data.append((self, frame))
        self.depth += 1
        self.frames += 1
        if self.depth > self.high_water:
            self.high_water = self.depth
        if self.trace is not None:
            self.trace.record_frame(self, frame)
        self.inbox.wake()

    def put_eos(self) -> None:
        """Queue end of stream after the data already queued (never dropped, never blocks)."""
        self.inbox.data.append((self, EOS))
        self.inbox.wake()

    def close(self) -> None:
        """The receiving node has finished: release every sender blocked on this edge."""
        self.closed = True
        while self.putters:
            self._wake_putter()
        self.inbox.release_control_putters()

    def take(self) -> None:
        """Account for one of this edge's frames leaving the inbox."""
        self.depth -= 1
        if self.putters:
            self._wake_putter()

    def _wake_putter(self) -> None:
        while self.putters:
            fut = self.putters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _drop_stale(self, frame: Frame) -> None:
        self.stale += 1
        if self.trace is not None:
            self.trace.record_drop(self, frame, "stale")

    def _drop_oldest(self) -> None:
        data = self.inbox.data
        for i, (edge, frame) in enumerate(data):
            if edge is self and frame is not EOS:
                del data[i]
                self.depth -= 1
                self.drops += 1
                if self.trace is not None:
                    self.trace.record_drop(self, frame, self.policy)
                return

    def advance(self, epoch: int) -> int:
        """Move to ``epoch`` and drop queued frames of older epochs. Returns how many."""
        self.epoch = epoch
        if not self.depth:
            return 0
        kept: deque[tuple[EdgeQueue, Any]] = deque()
        dropped = 0
        for item in self.inbox.data:
            edge, frame = item
            if edge is self and frame.epoch < epoch:
                dropped += 1
                if self.trace is not None:
                    self.trace.record_drop(self, frame, "stale")
            else:
                kept.append(item)
        if dropped:
            self.inbox.data.clear()
            self.inbox.data.extend(kept)
            self.depth -= dropped
            self.stale += dropped
            for _ in range(dropped):
                if not self.putters:
                    break
                self._wake_putter()
        return dropped

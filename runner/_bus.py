"""The run's typed event bus: nodes publish, anyone subscribes, nobody waits for a reader.

Nodes publish :class:`~voicegraph.graph.BusEvent`\\ s with ``self.publish(event)``; observers
(the agent session, viz, tests) read them with ``runner.subscribe(EventType)``, which returns
a :class:`Subscription`: an anyio object receive stream of the events of that type and its
subclasses, in publish order. Subscribe before the run starts (e.g. right after creating the
``Runner``) and no event is missed; a subscription made later sees the events published after
it. When the run ends, every subscription ends too: a reader gets the events still buffered,
then ``async for`` stops (``receive()`` raises :class:`anyio.EndOfStream`)::

    runner = Runner(graph, clock=VirtualClock())
    marks = runner.subscribe(TurnDecided)
    async with anyio.create_task_group() as tg:
        tg.start_soon(runner.run)
        async for event in marks:
            print(event.seq, event.time, event.origin, event)

**Stamps.** Publishing stamps the event with ``seq`` (1, 2, 3, … in publish order across the
whole run, so every subscriber sees strictly increasing numbers), the run clock's ``time``,
and the publishing node's path (``origin``) and ``epoch``. An event is stamped in place the
first time it is published; publishing it again publishes a stamped copy.

**Slow subscribers.** Publishing never waits and never fails because of a reader: a slow
observer must not stall the voice pipeline. Each subscription buffers at most ``capacity``
events (default :data:`BUS_CAPACITY`); when a new event arrives at a full buffer, the
**oldest** buffered event is dropped and counted (``subscription.dropped``, and per run in
``RunMetrics.bus.dropped``). A subscriber that only wants the current state can use
``capacity=1`` ("latest"). Nothing is unbounded: memory per subscription is at most
``capacity`` events.

Publishing and receiving happen on the event loop's thread (publish from a node's task, not
from a worker thread). The bus is on every node's hot path, so it stays cheap: publishing
stamps in place and appends to each matching buffer; a waiting reader is woken once (a bare
loop future, as the runner's edges use), not once per event, and does not yield again.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.abc

from voicegraph.graph import UNPUBLISHED, BusEvent, Clock, Event, RunnerError

from ._metrics import BusStats

__all__ = ["BUS_CAPACITY", "EventBus", "Subscription"]

BUS_CAPACITY = 256
"""Events a subscription buffers before it drops its oldest (see the module docstring)."""

E = TypeVar("E", bound=BusEvent)
E_co = TypeVar("E_co", bound=BusEvent, covariant=True)


class Subscription(anyio.abc.ObjectReceiveStream[E_co]):
    """The events of one type (and its subclasses) published on a run's bus, in order.

    Use it as an async iterator (``async for event in sub``), or call :meth:`receive` /
    :meth:`receive_nowait` as on an anyio memory object receive stream. It ends (iteration
    stops, ``receive()`` raises :class:`anyio.EndOfStream`) once the run is over and its
    buffered events are read. :meth:`close` (or ``with`` / ``async with``) unsubscribes early.

    Attributes:
        event_type: the type subscribed to.
        capacity: how many events it buffers before dropping the oldest.
        dropped: events dropped because the buffer was full.
    """

    def __init__(self, bus: EventBus, event_type: type[E_co], capacity: int) -> None:
        self.event_type = event_type
        self.capacity = capacity
        self.dropped = 0
        self._bus = bus
        self._buffer: deque[E_co] = deque(maxlen=capacity)
        self._waiters: list[asyncio.Future[None]] = []  # readers waiting for an event
        self._ended = False  # the bus closed: nothing more will arrive
        self._closed = False  # the subscriber closed it

    def __repr__(self) -> str:
        state = "closed" if self._closed else "ended" if self._ended else "open"
        return (
            f"<Subscription {self.event_type.__name__} {state} pending={len(self._buffer)}"
            f"/{self.capacity} dropped={self.dropped}>"
        )

    @property
    def pending(self) -> int:
        """Events buffered and not yet received."""
        return len(self._buffer)

    def _deliver(self, event: BusEvent) -> bool:
        """Buffer ``event`` (dropping the oldest if full); True if one was dropped."""
        buffer: deque[Any] = self._buffer
        full = len(buffer) == self.capacity
        if full:
            self.dropped += 1
        buffer.append(event)  # a deque with maxlen drops its oldest item itself
        self._wake()
        return full

    def _end(self) -> None:
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        if waiters:
            self._waiters = []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def receive_nowait(self) -> E_co:
        """The next buffered event.

        Raises:
            anyio.WouldBlock: nothing is buffered and the run goes on.
            anyio.EndOfStream: the run is over and every buffered event was received.
            anyio.ClosedResourceError: the subscription was closed by its reader.
        """
        if self._closed:
            raise anyio.ClosedResourceError
        if self._buffer:
            return self._buffer.popleft()
        if self._ended:
            raise anyio.EndOfStream
        raise anyio.WouldBlock

    async def receive(self) -> E_co:
        """Wait for the next event (see :meth:`receive_nowait` for how it ends).

        Always a checkpoint: it yields once (waiting for an event is that yield), so a
        reader that always finds events buffered still lets other tasks run. A reader
        cancelled while it waits loses no event (it stays buffered).
        """
        if self._buffer or self._ended or self._closed:
            await asyncio.sleep(0)  # what anyio's checkpoint() is on asyncio, minus a lookup
        while True:
            try:
                return self.receive_nowait()
            except anyio.WouldBlock:
                pass
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:  # cancelled while waiting
                    self._waiters.remove(waiter)

    def close(self) -> None:
        """Unsubscribe: no more events arrive and buffered ones are discarded."""
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        self._bus._unsubscribe(self)
        self._wake()

    async def aclose(self) -> None:
        """Same as :meth:`close`."""
        self.close()

    def __enter__(self) -> Subscription[E_co]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventBus:
    """One run's event bus (``runner.bus``): stamps, routes and counts published events.

    Nodes publish with ``self.publish(event)``; :meth:`subscribe` (or ``runner.subscribe``)
    returns a :class:`Subscription` to a type and its subclasses. Every event gets ``seq``
    (1, 2, 3, … per run), the clock's ``time``, and the node's path (``origin``) and
    ``epoch``. Publishing never waits: a subscription buffers at most ``capacity`` events and,
    when full, drops its oldest (counted). :meth:`close` (the runner calls it when the run
    ends) ends every subscription once its buffered events are read.

    Args:
        clock: the run's clock, for the ``time`` stamp.
        capacity: the default buffer size of a subscription.
    """

    def __init__(self, clock: Clock, *, capacity: int = BUS_CAPACITY) -> None:
        _check_capacity(capacity)
        self.clock = clock
        self.capacity = capacity
        self._subscriptions: list[Subscription[Any]] = []
        self._routes: dict[type, tuple[Subscription[Any], ...]] = {}
        self._seq = 0
        self._delivered = 0
        self._dropped = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether the run is over (subscriptions end; publishing is an error)."""
        return self._closed

    def subscribe(self, event_type: type[E], /, *, capacity: int | None = None) -> Subscription[E]:
        """A subscription to ``event_type`` and its subclasses (``BusEvent``: every event).

        Args:
            event_type: a :class:`~voicegraph.graph.BusEvent` subclass.
            capacity: events buffered before the oldest is dropped (default: the bus's).

        Raises:
            RunnerError: ``event_type`` is not a ``BusEvent`` type, or ``capacity`` < 1.

        Subscribing after the run ended gives a subscription that has already ended.
        """
        if not (isinstance(event_type, type) and issubclass(event_type, BusEvent)):
            hint = (
                " (control events travel along edges, to nodes: handle them in on_event)"
                if isinstance(event_type, type) and issubclass(event_type, Event)
                else ""
            )
            raise RunnerError(f"subscribe() takes a BusEvent subclass, got {event_type!r}{hint}")
        if capacity is None:
            capacity = self.capacity
        _check_capacity(capacity)
        subscription = Subscription(self, event_type, capacity)
        if self._closed:
            subscription._end()
        else:
            self._subscriptions.append(subscription)
            self._routes.clear()
        return subscription

    def _unsubscribe(self, subscription: Subscription[Any]) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
            self._routes.clear()

    def publish(self, event: E, origin: str = "", epoch: int = 0) -> E:
        """Stamp ``event`` and buffer it for every matching subscription; never waits.

        Returns the stamped event: ``event`` itself, or a stamped copy if ``event`` had
        been published before.

        Raises:
            RunnerError: ``event`` is not a ``BusEvent``, or the run is over.
        """
        if not isinstance(event, BusEvent):
            hint = (
                ": a control Event goes along edges with send_event()"
                if isinstance(event, Event)
                else ""
            )
            raise RunnerError(f"publish() takes a BusEvent, got {type(event).__name__}{hint}")
        if self._closed:
            raise RunnerError(
                f"cannot publish {type(event).__name__} from {origin!r}: the run is over"
            )
        if event.seq != UNPUBLISHED:  # never restamp an event a subscriber may hold
            event = dataclasses.replace(event)
        self._seq += 1
        stamp = object.__setattr__
        stamp(event, "seq", self._seq)
        stamp(event, "time", self.clock.now())
        stamp(event, "origin", origin)
        stamp(event, "epoch", epoch)
        cls = type(event)
        routes = self._routes.get(cls)
        if routes is None:
            routes = tuple(s for s in self._subscriptions if issubclass(cls, s.event_type))
            self._routes[cls] = routes
        for subscription in routes:
            if subscription._deliver(event):
                self._dropped += 1
        self._delivered += len(routes)
        return event

    def close(self) -> None:
        """End every subscription (readers get their buffered events first)."""
        self._closed = True
        subscriptions, self._subscriptions = self._subscriptions, []
        self._routes.clear()
        for subscription in subscriptions:
            subscription._end()

    def stats(self) -> BusStats:
        """A snapshot of the bus's counters."""
        return BusStats(
            published=self._seq,
            delivered=self._delivered,
            dropped=self._dropped,
            subscriptions=len(self._subscriptions),
        )


def _check_capacity(capacity: int) -> None:
    if not (isinstance(capacity, int) and capacity >= 1):
        raise RunnerError(f"a bus subscription's capacity must be an int >= 1, got {capacity!r}")

"""The :class:`Runner`: executes a :class:`~voicegraph.graph.Graph` on anyio.

One task per node in one task group; bounded edges; interrupts delivered to their scope ahead
of queued data; end of stream from the sources; supervision; metrics; traces; an event bus
(nodes publish, ``runner.subscribe(EventType)`` reads).

>>> metrics = await Runner(graph).run()                     # doctest: +SKIP
>>> async with Runner(graph, clock=VirtualClock()) as r:    # doctest: +SKIP
...     r.interrupt("turn", reason="barge-in")
...     await r.wait()
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.abc

from voicegraph.graph import (
    BusEvent,
    Clock,
    DeadlockError,
    Graph,
    GraphError,
    Interrupt,
    Node,
    NodeError,
    NodeFailed,
    RunnerError,
    UsageError,
    VoicegraphError,
    attach_runtime,
    leaf_exceptions,
    runtime_of,
)

from ._bus import EventBus, Subscription
from ._clock import RealClock, VirtualClock
from ._closing import close_nodes, describe_error, log
from ._driver import NodeDriver
from ._edge import EdgeQueue
from ._metrics import EdgeStats, RunMetrics
from ._trace import Trace, load_trace, replay_plan

__all__ = ["Runner", "run", "run_sync"]

E = TypeVar("E", bound=BusEvent)

_LAG_INTERVAL = 0.1
"""Seconds between event-loop lag probes (one timer per run: cheap even with 100 graphs)."""


class Runner:
    """Runs a graph once. Use :meth:`run`, or ``async with`` to interact while it runs.

    Args:
        graph: the graph to run (checked first; a :class:`GraphError` lists every problem).
        clock: ``RealClock()`` (default) or ``VirtualClock()`` for deterministic runs.
        trace: a :class:`Trace` recording every edge event.
        replay: ``{node_path: trace}``; those nodes are not run, their recorded output is
            emitted again at the recorded times.
        detect_deadlock: with a virtual clock, raise :class:`DeadlockError` when every task is
            blocked and no timer is pending.
        close_timeout: seconds every node's ``aclose()`` gets when the run ends (they run at
            once, shielded from cancellation). A close still running then is cancelled and
            abandoned with an error logged naming the node, so shutdown (and Ctrl-C) always
            ends. Measured on the run's clock and in real time, whichever ends first: under a
            :class:`VirtualClock` a close that waits forever costs no real time. Work started
            with ``Node.run_in_background`` is cancelled first, before the nodes close, and gets
            the same grace period to end.

    Attributes:
        bus: the run's :class:`EventBus` (nodes publish with ``self.publish``; read it with
            :meth:`subscribe`; its counters are in ``metrics().bus``).

    Errors: the run raises the first failure (a :class:`NodeError` naming node, input port and
    frame). No error is lost: other failures, and ``aclose()`` errors that follow, are attached to
    it as exception notes (shown under its traceback); a close error after a successful run is
    raised itself. If the run was cancelled (Ctrl-C), close errors are logged.
    """

    def __init__(
        self,
        graph: Graph,
        *,
        clock: Clock | None = None,
        trace: Trace | None = None,
        replay: dict[str, Trace | str | Path | Iterable[dict[str, Any]]] | None = None,
        detect_deadlock: bool = True,
        close_timeout: float = 5.0,
    ) -> None:
        if not close_timeout >= 0:
            raise RunnerError(f"close_timeout must be >= 0 seconds, got {close_timeout!r}")
        flat = graph.flatten()
        self.graph = graph
        self.clock: Clock = clock if clock is not None else RealClock()
        self.trace = trace
        self.bus = EventBus(self.clock)
        self.failures: deque[NodeFailed] = deque(maxlen=1000)
        self.interrupts: deque[Interrupt] = deque(maxlen=1000)
        self._epoch = 0
        self._sends = 0  # control-event sends, for their stamps (see NodeDriver.send_event)
        self._finished = 0
        self._done: anyio.Event | None = None  # created when the run starts (needs a loop)
        self._helpers: anyio.CancelScope | None = None
        self._stack: AsyncExitStack | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._stopping = False  # no new background work once the run ends
        self._t0 = 0.0
        self._lag_max = 0.0
        self._detect_deadlock = detect_deadlock
        self.close_timeout = close_timeout
        self._close_errors: list[NodeError] = []
        self.drivers: dict[str, NodeDriver] = {}
        for path, node in flat.nodes.items():
            if runtime_of(node) is not None:
                raise RunnerError(f"node {path!r} is already running in another Runner")
            self.drivers[path] = NodeDriver(self, node, path)
        self.edges: list[EdgeQueue] = []
        for spec in flat.edges:
            assert spec.src.node is not None and spec.dst.node is not None
            src = self.drivers[spec.src.node.path]
            dst = self.drivers[spec.dst.node.path]
            edge = EdgeQueue(spec, dst.inbox, spec.label)
            edge.trace = trace
            src.add_output(edge)
            if not spec.feedback:  # a cycle's feedback edge must not keep its receiver open
                dst.open_inputs += 1
            self.edges.append(edge)
        problems = []
        for driver in self.drivers.values():
            driver.bind(driver.node)
            problems.extend(_fallback_problems(driver))
        if problems:
            raise GraphError(problems)
        for path, source in (replay or {}).items():
            if path not in self.drivers:
                raise RunnerError(
                    f"cannot replay {path!r}: no such node ({', '.join(self.drivers)})"
                )
            self.drivers[path].replay = replay_plan(load_trace(source), path)
        self._children: dict[str, list[str]] = {p: [] for p in self.drivers}
        for spec in flat.edges:
            if not spec.feedback:
                assert spec.src.node is not None and spec.dst.node is not None
                self._children[spec.src.node.path].append(spec.dst.node.path)
        self._scopes: dict[
            tuple[str, tuple[str, ...] | None], tuple[list[NodeDriver], list[EdgeQueue]]
        ] = {}

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> RunMetrics:
        """Run until every sink has seen end of stream; return the metrics."""
        async with self:
            await self.wait()
        return self.metrics()

    async def wait(self) -> None:
        """Wait until every node has finished."""
        if self._done is None:
            raise RunnerError("the runner has not started: use `async with runner:` or run()")
        await self._done.wait()

    @property
    def finished(self) -> bool:
        """Whether every node has finished."""
        return self._done is not None and self._done.is_set()

    async def __aenter__(self) -> Runner:
        if self._stack is not None:
            raise RunnerError("a Runner runs once; create a new Runner to run the graph again")
        stack = AsyncExitStack()
        self._stack = stack
        self._done = anyio.Event()
        self._helpers = anyio.CancelScope()
        try:
            clock = self.clock
            if (
                isinstance(clock, VirtualClock)
                and self._detect_deadlock
                and clock.on_deadlock is None
            ):
                clock.on_deadlock = self._deadlock
                stack.callback(setattr, clock, "on_deadlock", None)
            await stack.enter_async_context(clock.running())  # type: ignore[attr-defined]
            stack.push_async_callback(self._close_nodes)
            if self.trace is not None:
                self.trace.start(clock)
                stack.callback(self.trace.close)
            tg = await stack.enter_async_context(anyio.create_task_group())
            self._tg = tg
            await self._setup_nodes()
            self._t0 = clock.now()
            if not self.drivers:
                self._done.set()
                self._helpers.cancel()
            if isinstance(clock, RealClock):  # first, so it sees stalls from the start
                tg.start_soon(self._watch_loop_lag, name="voicegraph:loop-lag")
            for path, driver in self.drivers.items():
                tg.start_soon(self._drive, driver, name=f"voicegraph:{path}")
        except BaseException as exc:
            await self._exit(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        await self._exit(et, exc, tb)
        return None

    async def _exit(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping = True
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        assert self._stack is not None
        try:
            await self._stack.__aexit__(et, exc, tb)
        except BaseExceptionGroup as group:
            error = _unwrap(group)
            for other in leaf_exceptions(group):
                if other is not error and isinstance(other, Exception):
                    _attach(error, other, "another failure in this run")
            self._report_close_errors(error)
            raise error from None
        except BaseException as error:
            self._report_close_errors(error)
            raise
        else:
            if exc is not None:  # the ``async with`` body's error: it propagates after us
                self._report_close_errors(exc)
            elif self._close_errors:
                first, *rest = self._close_errors
                for other in rest:
                    _attach(first, other, "another aclose() failed too")
                raise first
        finally:
            for driver in self.drivers.values():
                attach_runtime(driver.node, None)
                attach_runtime(driver.primary, None)
            self.bus.close()  # last, so events published by aclose() reach subscribers

    def stop(self) -> None:
        """Cancel every node now (e.g. on a user's hang-up); ``async with`` then returns."""
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    def background_group(self, path: str) -> anyio.abc.TaskGroup:
        """The task group of node ``path``'s run-long work (``Node.run_in_background``).

        Work started in it runs until the run stops: interrupts do not touch it; the run's
        end cancels it, before the nodes close, and gives it ``close_timeout`` seconds to end.

        Raises:
            UsageError: the run has not started yet, or is stopping.
        """
        if self._tg is None or self._stopping:
            state = "is stopping" if self._stopping else "has not started yet"
            raise UsageError(
                f"node {path!r} cannot start background work: the run {state} (start it "
                "from setup() or while the node runs)"
            )
        return self._tg

    async def _drive(self, driver: NodeDriver) -> None:
        await driver.drive()
        self._finished += 1
        if self._finished == len(self.drivers):
            assert self._done is not None and self._helpers is not None
            self._done.set()
            self._helpers.cancel()  # stop helpers such as the lag monitor

    async def _setup_nodes(self) -> None:
        async def setup(driver: NodeDriver) -> None:
            if driver.replay is not None:
                return
            try:
                await driver.node.setup()
            except Exception as exc:
                raise NodeError(driver.path, exc, port=None, frame="(during setup)") from exc

        todo = [d for d in self.drivers.values() if type(d.node).setup is not Node.setup]
        if not todo:
            return
        async with anyio.create_task_group() as tg:
            for driver in todo:
                tg.start_soon(setup, driver)

    async def _close_nodes(self) -> None:
        """Close every node within ``close_timeout``; keep the errors for :meth:`_exit`."""
        nodes = [(d.path, d.node) for d in self.drivers.values()]
        self._close_errors = await close_nodes(nodes, self.clock, self.close_timeout)

    def _report_close_errors(self, error: BaseException) -> None:
        """Attach close errors to the run's ``error``; log them if it is a cancellation."""
        for close_error in self._close_errors:
            if isinstance(error, Exception):
                _attach(error, close_error, "then, while closing")
            else:
                log.error(
                    "while the run was being cancelled: %s", close_error, exc_info=close_error
                )

    async def _watch_loop_lag(self) -> None:
        assert self._helpers is not None
        with self._helpers:
            while True:
                t = time.perf_counter()
                await anyio.sleep(_LAG_INTERVAL)
                lag = time.perf_counter() - t - _LAG_INTERVAL
                if lag > self._lag_max:
                    self._lag_max = lag

    def _deadlock(self) -> None:
        if self.finished:
            return
        waiting = []
        for path, d in self.drivers.items():
            if d.finished:
                continue
            blocked = [e.label for es in d.outs.values() for e in es if e.putters]
            state = f"blocked sending on {', '.join(blocked)}" if blocked else "waiting for input"
            waiting.append(f"{path} ({state})")
        raise DeadlockError(
            "every node is blocked and no timer is pending: "
            + "; ".join(waiting)
            + ". Check for cycles whose edges are all full, or a run() that never returns."
        )

    # ------------------------------------------------------------------ interrupts

    def interrupt(
        self, origin: str | Node, reason: str = "", *, scope: list[str] | None = None
    ) -> int:
        """Interrupt everything downstream of ``origin`` (or the nodes named in ``scope``).

        Every edge in scope moves to a new epoch and drops queued frames of older epochs,
        ahead of any data; every node in scope has its in-flight work cancelled and then
        runs ``on_interrupt``. Edges outside the scope are untouched. Returns the new epoch.
        """
        path = origin if isinstance(origin, str) else origin.path
        if path not in self.drivers:
            raise RunnerError(f"cannot interrupt from {path!r}: no such node in this run")
        self._epoch += 1
        epoch = self._epoch
        origin_driver = self.drivers[path]
        origin_driver.epoch = max(origin_driver.epoch, epoch)
        nodes, edges = self._scope(path, scope)
        event = Interrupt(epoch, reason, path)
        self.interrupts.append(event)
        if self.trace is not None:
            self.trace.record_interrupt(event, edges)
        for edge in edges:
            edge.advance(epoch)
        for driver in nodes:
            driver.deliver_interrupt(event)
        return epoch

    def _scope(
        self, origin: str, named: list[str] | None
    ) -> tuple[list[NodeDriver], list[EdgeQueue]]:
        key = (origin, tuple(named) if named is not None else None)
        cached = self._scopes.get(key)
        if cached is not None:
            return cached
        if named is not None:
            unknown = [n for n in named if n not in self.drivers]
            if unknown:
                raise RunnerError(f"interrupt scope names unknown nodes: {unknown}")
            members = set(named) - {origin}
        else:
            members = set()
            todo = list(self._children[origin])
            while todo:
                p = todo.pop()
                if p not in members and p != origin:
                    members.add(p)
                    todo.extend(self._children[p])
        senders = members | {origin}
        edges = [
            e
            for e in self.edges
            if e.spec.dst.node is not None
            and e.spec.src.node is not None
            and e.spec.dst.node.path in members
            and e.spec.src.node.path in senders
        ]
        nodes = [d for p, d in self.drivers.items() if p in members]
        self._scopes[key] = (nodes, edges)
        return nodes, edges

    # ------------------------------------------------------------------ observing

    def subscribe(self, event_type: type[E], /, *, capacity: int | None = None) -> Subscription[E]:
        """Receive the bus events of ``event_type`` and its subclasses that nodes publish.

        ``runner.subscribe(BusEvent)`` receives every event.

        Call it before the run starts to miss nothing (or any time, for the events published
        from then on). The subscription is an anyio receive stream that ends when the run
        does; a subscriber that falls ``capacity`` events behind loses the oldest ones
        (counted in ``subscription.dropped``): publishers never wait. See :class:`EventBus`.
        """
        return self.bus.subscribe(event_type, capacity=capacity)

    def stamp_send(self) -> int:
        """A new stamp for a control-event send (1, 2, 3, ... per run)."""
        self._sends += 1
        return self._sends

    def record_failure(self, event: NodeFailed) -> None:
        """Keep a node failure for inspection (``runner.failures``)."""
        self.failures.append(event)

    def metrics(self) -> RunMetrics:
        """A snapshot of every node's and edge's counters."""
        return RunMetrics(
            nodes={p: d.snapshot() for p, d in self.drivers.items()},
            edges={
                e.label: EdgeStats(
                    e.label, e.capacity, e.policy, e.frames, e.drops, e.stale, e.depth, e.high_water
                )
                for e in self.edges
            },
            elapsed=self.clock.now() - self._t0,
            loop_lag_max=self._lag_max,
            bus=self.bus.stats(),
        )


def _fallback_problems(driver: NodeDriver) -> list[str]:
    sup = driver.primary.supervision
    if sup is None or sup.policy != "fallback":
        return []
    alt = sup.fallback
    if alt is None:
        return [f"node {driver.path!r} has policy 'fallback' but no fallback node"]
    problems = []
    for name, port in driver.primary.inputs.items():
        other = alt.inputs.get(name)
        if other is None or not other.accepts(port.types):
            problems.append(f"fallback for {driver.path!r} lacks a compatible input {name!r}")
    for name, out in driver.primary.outputs.items():
        other_out = alt.outputs.get(name)
        if other_out is None or not all(issubclass(t, out.types) for t in other_out.types):
            problems.append(f"fallback for {driver.path!r} lacks a compatible output {name!r}")
    return problems


def _attach(error: BaseException, other: BaseException, how: str) -> None:
    """Note ``other`` on ``error``, so a second fault never hides the first."""
    error.add_note(f"{how}: {describe_error(other)}")


def _unwrap(group: BaseExceptionGroup) -> BaseException:
    """The most useful single error in a task group's exception group."""
    leaves = leaf_exceptions(group)
    for cls in (NodeError, VoicegraphError):
        for leaf in leaves:
            if isinstance(leaf, cls):
                return leaf
    return leaves[0] if len(leaves) == 1 else group


async def run(
    graph: Graph, *, clock: Clock | None = None, trace: Trace | None = None
) -> RunMetrics:
    """Run ``graph`` to completion and return its metrics (see :class:`Runner`)."""
    return await Runner(graph, clock=clock, trace=trace).run()


def run_sync(graph: Graph, *, clock: Clock | None = None, trace: Trace | None = None) -> RunMetrics:
    """Blocking :func:`run` for scripts: starts an asyncio event loop."""

    async def main() -> RunMetrics:
        return await run(graph, clock=clock, trace=trace)

    return anyio.run(main)

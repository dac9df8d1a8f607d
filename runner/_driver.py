"""One node's task: its inbox, handler loop or ``run()``, interrupts and supervision.

A :class:`NodeDriver` is the runtime a running node talks to (``attach_runtime``): ``emit``,
``send_event``, ``receive``, ``interrupt``, ``publish``, ``connected``,
``run_in_background``, ``clock`` and ``epoch`` are implemented here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections import deque
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.lowlevel

from voicegraph.graph import (
    UNSTAMPED,
    BusEvent,
    EndOfStream,
    Event,
    Frame,
    FrameTypeError,
    In,
    Interrupt,
    Node,
    NodeError,
    NodeFailed,
    Out,
    Port,
    Supervision,
    UsageError,
    VoicegraphError,
    attach_runtime,
)

from ._background import BackgroundWork
from ._closing import close_nodes, describe_error, log
from ._edge import EOS, EdgeQueue, Inbox
from ._metrics import NodeStats

if TYPE_CHECKING:
    from voicegraph.graph import Clock

    from ._bus import EventBus
    from ._runner import Runner

__all__ = ["NodeDriver"]

_FAIL = Supervision()
_IN_BACKGROUND = "(in its background work)"
B = TypeVar("B", bound=BusEvent)


def describe(frame: object) -> str:
    """A short description of a frame for error messages."""
    if isinstance(frame, Frame):
        fields = []
        for f in dataclasses.fields(frame):
            if f.name == "epoch":
                continue
            value = getattr(frame, f.name)
            text = f"array{getattr(value, 'shape', '')}" if hasattr(value, "shape") else repr(value)
            fields.append(f"{f.name}={text[:40]}")
        return f"{type(frame).__name__}({', '.join(fields)}, epoch={frame.epoch})"
    return repr(frame)[:80]


_SEEN = 1024
"""Control-event sends a node remembers having handled: a copy of one arriving by another path
is skipped if it comes within this many newer sends."""

_YIELD_EVERY = 64
"""Emits between forced yields: a node that never waits (e.g. an unpaced source into a
``drop_oldest`` edge, which never blocks) must not freeze the event loop."""


class NodeDriver:
    """Runs one node: dispatches its input, carries its epoch, applies its supervision."""

    __slots__ = (
        "_background",
        "_bus",
        "_cancelling",
        "_current",
        "_emits",
        "_failed",
        "_handling",
        "_holds",
        "_in_ports",
        "_pending",
        "_restart_times",
        "_scope",
        "_seen",
        "clock",
        "epoch",
        "finished",
        "inbox",
        "node",
        "open_inputs",
        "outs",
        "path",
        "primary",
        "replay",
        "runner",
        "stats",
    )

    def __init__(self, runner: Runner, node: Node, path: str) -> None:
        self.runner = runner
        self.clock: Clock = runner.clock
        self._bus: EventBus = runner.bus
        self.path = path
        self.primary = node
        self.node = node
        self.epoch = 0
        self.inbox = Inbox()
        self.outs: dict[Out[Any], list[EdgeQueue]] = {}
        self.stats = NodeStats()
        self.open_inputs = 0
        self.finished = False
        self.replay: list[tuple[float, str, Any]] | None = None
        self._scope: anyio.CancelScope | None = None
        self._pending: list[Interrupt] = []
        self._restart_times: deque[float] = deque()
        self._current: tuple[EdgeQueue, Frame] | None = None
        self._in_ports: dict[str, In[Any]] = {}
        self._emits = 0
        self._cancelling = False
        self._handling: tuple[Event, int] | None = None  # the control event in on_event
        self._seen: dict[int, None] = {}  # stamps of the control events handled, oldest first
        self._failed: list[BaseException] = []  # errors of the background work, not yet handled
        self._background = BackgroundWork(
            path, self.clock, runner.close_timeout, self._background_failed
        )
        attach_runtime(node, self)
        self.outs = {port: [] for port in node.outputs.values()}  # handlers: _bind, once wired

    # ------------------------------------------------------------------ wiring

    def bind(self, node: Node) -> None:
        """Attach ``node`` to this driver (again after a fallback swap)."""
        old_outs = {port.name: edges for port, edges in self.outs.items()}
        self.node = node
        attach_runtime(node, self)
        self._holds = type(node).holding is not Node.holding
        self.outs = {port: old_outs.get(name, []) for name, port in node.outputs.items()}
        self._in_ports = dict(node.inputs)
        for edge in self.inbox.edges:
            port = self._in_ports.get(edge.dst.name)
            edge.handler = node.handler_for(port) if port is not None else None

    def add_output(self, edge: EdgeQueue) -> None:
        """Register an edge leaving this node."""
        self.outs[edge.spec.src].append(edge)

    # ------------------------------------------------------------------ NodeRuntime

    async def emit(self, port: Out[Any], frame: Frame) -> None:
        """Stamp ``frame`` with this node's epoch and put it on every edge of ``port``."""
        try:
            edges = self.outs[port]
        except KeyError:
            raise VoicegraphError(
                f"node {self.path!r} emitted on {port!r}, which is not one of its outputs "
                f"({', '.join(p.name for p in self.outs) or 'none'})"
            ) from None
        if not isinstance(frame, port.types):  # blame the sender, not the receiver
            raise FrameTypeError(self.path, port.name, port.type_name, type(frame))
        if self._cancelling:
            # An interrupt cancelled this activity but the task has not yet reached a
            # suspension point (e.g. it was just released from a full edge): stop here, so
            # nothing of the old turn goes out stamped with the new epoch.
            await anyio.lowlevel.checkpoint()
        epoch = self.epoch
        if frame.epoch != epoch:
            if frame.epoch == UNSTAMPED:
                object.__setattr__(frame, "epoch", epoch)
            else:  # never mutate a frame another node may hold
                frame = dataclasses.replace(frame, epoch=epoch)
        self.stats.frames_out += 1
        for edge in edges:
            await edge.put(frame)
        self._emits += 1
        if self._emits >= _YIELD_EVERY:
            self._emits = 0
            await asyncio.sleep(0)

    async def send_event(self, event: Event, port: Out[Any] | None) -> None:
        """Put a control event on the priority lane of ``port``'s edges (or all outputs)."""
        if isinstance(event, EndOfStream | Interrupt):
            raise VoicegraphError(
                f"node {self.path!r}: {type(event).__name__} is sent by the runner; return from "
                "run() to end the stream, or call self.interrupt() to interrupt"
            )
        if port is not None:
            edges = self.outs.get(port, [])
        else:  # a broadcast never goes back around a cycle, or events would circle forever
            edges = [e for es in self.outs.values() for e in es if not e.spec.feedback]
        handling = self._handling
        if handling is not None and handling[0] is event:
            stamp = handling[1]  # forwarding the event being handled: the same send goes on
        else:
            stamp = self.runner.stamp_send()
        for edge in edges:
            if edge.trace is not None:
                edge.trace.record_event(edge, event)
            await edge.inbox.put_control(event, stamp, edge)

    async def receive(self) -> tuple[In[Any], Frame] | None:
        """Next ``(port, frame)`` for run-style nodes; control events are handled on the way."""
        inbox = self.inbox
        while True:
            if self._cancelling:  # take no new input once an interrupt cancelled us
                await anyio.lowlevel.checkpoint()
            if inbox.control:
                await self._handle_control(*inbox.pop_control())
                continue
            if inbox.data:
                edge, frame = inbox.data.popleft()
                if frame is EOS:
                    self._input_ended(edge)
                    continue
                edge.take()
                self.stats.frames_in += 1
                return self._in_ports[edge.dst.name], frame
            if self.open_inputs <= 0 and not self.node.awaiting_feedback():
                return None
            await inbox.wait()

    def interrupt(self, reason: str, scope: list[str] | None) -> int:
        """Interrupt everything downstream of this node (see :meth:`Runner.interrupt`)."""
        return self.runner.interrupt(self.path, reason, scope=scope)

    def publish(self, event: B) -> B:
        """Publish ``event`` on the run's bus, stamped with this node's path and epoch."""
        return self._bus.publish(event, self.path, self.epoch)

    def connected(self, port: Port[Any]) -> bool:
        """Whether ``port`` of this node has an edge in the run (by name: fallbacks share)."""
        if port.node is not self.node and port.node is not self.primary:
            raise UsageError(
                f"node {self.path!r} asked about {port!r}, which is not one of its ports"
            )
        if isinstance(port, Out):
            return any(p.name == port.name and edges for p, edges in self.outs.items())
        return any(edge.dst.name == port.name for edge in self.inbox.edges)

    def run_in_background(self, func: Callable[[], Awaitable[object]]) -> None:
        """Run ``await func()`` beside the node until the run stops (see Node)."""
        self._background.start(self.runner.background_group(self.path), func)

    def _background_failed(self, error: BaseException, stopped: bool) -> None:
        """The node's background work raised: the node fails, as if a handler had raised.

        The node's driver applies its supervision; once the node has finished, or when the
        error came while the work was being stopped, the run fails here and now.
        """
        if not (stopped or self.finished):
            self._failed.append(error)
            self._cancelling = True
            if self._scope is not None:
                self._scope.cancel()
            return
        raise self._failure(error) from error

    def _failure(self, error: BaseException) -> NodeError:
        """Record a background failure that fails the run; the error to raise for it."""
        self.stats.failures += 1
        self.runner.record_failure(
            NodeFailed(self.path, f"{type(error).__name__}: {error}", "fail", self.stats.failures)
        )
        failure = NodeError(self.path, error, frame=_IN_BACKGROUND)
        self._note_background_failures(failure)
        return failure

    # ------------------------------------------------------------------ running

    async def drive(self) -> None:
        """The node's task: run until its input ends, then send end of stream downstream."""
        try:
            while True:
                failure: Exception | None = None
                try:
                    if not self._failed and await self._activity():
                        break
                except Exception as exc:
                    failure = exc
                try:
                    if failure is not None:
                        await self._supervise(failure)
                    elif self._failed:
                        await self._supervise(self._failed.pop(0), background=True)
                except NodeError as error:
                    self._note_background_failures(error)
                    raise
            if self._failed:  # failed in the background just as the node finished
                late = self._failed.pop(0)
                raise self._failure(late) from late
        finally:
            self.finished = True
            for edge in self.inbox.edges:  # nobody reads these any more: release senders
                edge.close()
        for edges in self.outs.values():
            for edge in edges:
                edge.put_eos()

    async def _activity(self) -> bool:
        """Run handlers or ``run()`` once. False if an interrupt cancelled it."""
        node = self.node
        if self._pending:  # interrupts that came before the node started (or between runs)
            await self._deliver_pending()
        with anyio.CancelScope() as scope:
            self._scope = scope
            self._cancelling = False
            if self.replay is not None:
                await self._replay()
            elif node.has_run():
                await node.run()
            else:
                await self._handler_loop()
                self._current = None
                await node.on_end_of_stream()
            self._scope = None
            return True
        self._scope = None
        current, self._current = self._current, None
        if current is not None and self._failed and not self._pending:
            edge, frame = current  # failed in the background: the frame in flight is handled
            self.inbox.data.appendleft((edge, frame))  # again if the node recovers
            edge.depth += 1
        await self._deliver_pending()
        return False

    async def _deliver_pending(self) -> None:
        """Run ``on_interrupt`` for each interrupt that has cancelled (or preceded) an activity."""
        while self._pending:
            event = self._pending.pop(0)
            self.stats.interrupts += 1
            await self.node.on_interrupt(event)

    async def _handler_loop(self) -> None:
        inbox = self.inbox
        data = inbox.data
        stats = self.stats
        while True:
            if self._cancelling:  # take no new input once an interrupt cancelled us
                await anyio.lowlevel.checkpoint()
            if inbox.control:
                await self._handle_control(*inbox.pop_control())
                continue
            if data and not (self._holds and self.node.holding()):
                edge, frame = data.popleft()
                if frame is EOS:
                    self._input_ended(edge)
                    continue
                edge.take()
                self._current = (edge, frame)
                t0 = perf_counter()
                await edge.handler(frame)  # type: ignore[misc]
                self._current = None
                dt = perf_counter() - t0
                stats.busy += dt
                stats.frames_in += 1
                if dt > stats.max_handle:
                    stats.max_handle = dt
                continue
            if self.open_inputs <= 0 and not self.node.awaiting_feedback():
                return
            await inbox.wait()

    def _input_ended(self, edge: EdgeQueue) -> None:
        """End of stream on ``edge``; feedback edges never keep a node open (see Node)."""
        if not edge.spec.feedback:
            self.open_inputs -= 1

    async def _handle_control(self, event: Event, stamp: int) -> None:
        """Run the node's hook for ``event``; a send that arrived before by another path is
        skipped (fan-out then fan-in delivers each send once)."""
        if isinstance(event, Interrupt):
            self.stats.events += 1
            self.stats.interrupts += 1
            await self.node.on_interrupt(event)
            return
        seen = self._seen
        if stamp in seen:
            return
        seen[stamp] = None
        if len(seen) > _SEEN:
            del seen[next(iter(seen))]
        self.stats.events += 1
        self._handling = (event, stamp)
        try:
            await self.node.on_event(event)
        finally:
            self._handling = None

    async def _replay(self) -> None:
        """Emit recorded frames and events at their recorded times instead of running."""
        assert self.replay is not None
        ports = {p.name: p for p in self.outs}
        for t, port_name, item in self.replay:
            await self.clock.sleep_until(t)
            port = ports[port_name]
            if isinstance(item, Event):
                await self.send_event(item, port)
            else:
                await self.emit(port, item)

    # ------------------------------------------------------------------ interrupts

    def deliver_interrupt(self, event: Interrupt) -> None:
        """Move to the new epoch and cancel in-flight work (runs in the interrupter's task)."""
        if event.epoch > self.epoch:
            self.epoch = event.epoch
        if self.finished:
            return
        node = self.node
        if node.has_run():
            if not node.restart_on_interrupt:
                self._queue_interrupt(event)  # run() handles it itself, via receive()
                return
        elif self._current is None and self._scope is not None:
            # An idle handler node has no work in flight: no cancellation needed, it runs
            # on_interrupt from its priority lane before any further input (the fast path).
            self._queue_interrupt(event)
            return
        self._pending.append(event)
        if self._scope is not None:
            self._cancelling = True
            self._scope.cancel()

    def _queue_interrupt(self, event: Interrupt) -> None:
        if not self.inbox.edges:
            return  # a source reads no inbox: the new epoch is all it needs
        control = self.inbox.control
        stale = [item for item in control if isinstance(item[0], Interrupt)]
        for item in stale:  # only the newest interrupt matters: the lane stays bounded
            control.remove(item)
        control.appendleft((event, 0))
        self.inbox.wake()

    # ------------------------------------------------------------------ supervision

    async def _supervise(self, exc: BaseException, *, background: bool = False) -> None:
        """Apply the node's supervision policy to ``exc``; raise NodeError to fail the run."""
        self.stats.failures += 1
        current, self._current = self._current, None
        port = current[0].dst.name if current else None
        frame = describe(current[1]) if current else _IN_BACKGROUND if background else None
        error = NodeError(self.path, exc, port=port, frame=frame)
        sup = self.primary.supervision or _FAIL
        attempt = self.stats.failures
        self.runner.record_failure(
            NodeFailed(self.path, f"{type(exc).__name__}: {exc}", sup.policy, attempt)
        )
        if sup.policy == "fail":
            raise error from exc
        if sup.policy == "restart":
            now = self.clock.now()
            recent = self._restart_times  # restarts within the window, as OTP's intensity/period
            window = sup.restart_window
            while recent and window is not None and recent[0] <= now - window:
                recent.popleft()
            if len(recent) >= sup.max_restarts:
                within = f"within {window:g} s" if window is not None else "in this run"
                error.add_note(
                    f"node {self.path!r} was not restarted again: {len(recent)} restarts "
                    f"{within} already (max_restarts={sup.max_restarts}, restart_window={window})"
                )
                raise error from exc
            delay = min(sup.backoff * math.pow(2, len(recent)), sup.backoff_max)
            recent.append(now)
            self.stats.restarts += 1
            await self._background.stop()
            await self._close_failed(self.node)
            await self.clock.sleep(delay)
            await self._setup_or_fail(self.node)
        else:  # fallback
            alternate = sup.fallback
            if alternate is None or self.node is alternate:
                raise error from exc
            await self._background.stop()
            await self._close_failed(self.node)
            alternate.name = f"{self.primary.name}~fallback"
            self.bind(alternate)
            await self._setup_or_fail(alternate)
        if current is not None:  # hand the failed frame to the restarted/alternate node
            edge, item = current
            self.inbox.data.appendleft((edge, item))
            edge.depth += 1

    def _note_background_failures(self, error: NodeError) -> None:
        """Note background failures not handled yet on the run's ``error``: none is lost."""
        failed, self._failed = self._failed, []
        for other in failed:
            error.add_note(f"also failed in its background work: {describe_error(other)}")

    async def _close_failed(self, node: Node) -> None:
        """Close a node that failed before restarting or replacing it (bounded; errors logged).

        Its close error cannot hide the failure that is being recovered from: it is logged.
        """
        for error in await close_nodes([(self.path, node)], self.clock, self.runner.close_timeout):
            log.error("node %r: aclose() after a failure raised", self.path, exc_info=error)

    async def _setup_or_fail(self, node: Node) -> None:
        try:
            await node.setup()
        except Exception as exc:
            raise NodeError(self.path, exc, port=None, frame=None) from exc

    def snapshot(self) -> NodeStats:
        """A copy of this node's counters."""
        return dataclasses.replace(self.stats)

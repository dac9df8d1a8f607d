"""Node.run_in_background: run-long work beside a node, untouched by interrupts, stopped (within
close_timeout) when the run stops, its errors failing the node like a handler's."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
import pytest

from voicegraph.graph import (
    Graph,
    In,
    Node,
    NodeError,
    Out,
    Supervision,
    TextFrame,
    UsageError,
)
from voicegraph.runner import Runner, VirtualClock

Work = Callable[["Worker"], Awaitable[None]]


class Feed(Node):
    """Emits ``(time, text)`` pairs at their clock times; interrupts downstream at ``cut``."""

    out: Out[TextFrame]

    def __init__(self, script: list[tuple[float, str]], cut: float | None = None) -> None:
        super().__init__()
        self.script = script
        self.cut = cut

    async def run(self) -> None:
        for at, text in self.script:
            if self.cut is not None and self.cut <= at:
                await self.clock.sleep_until(self.cut)
                self.interrupt("barge-in")
                self.cut = None
            await self.clock.sleep_until(at)
            await self.emit(self.out, TextFrame(text))


class Worker(Node):
    """Takes 1.5 s of clock time per frame; runs ``work`` in the background from setup()."""

    inp: In[TextFrame]

    def __init__(self, work: Work) -> None:
        super().__init__()
        self.work = work
        self.log: list[tuple[float, str]] = []
        self.setups = 0

    async def setup(self) -> None:
        self.setups += 1
        self.run_in_background(lambda: self.work(self))

    async def on_inp(self, frame: TextFrame) -> None:
        self.log.append((self.clock.now(), f"got {frame.text}"))
        await self.clock.sleep(1.5)
        self.log.append((self.clock.now(), f"done {frame.text}"))

    async def on_interrupt(self, event: object) -> None:
        self.log.append((self.clock.now(), "interrupted"))

    async def aclose(self) -> None:
        self.log.append((self.clock.now(), "close"))


def graph(
    worker: Worker,
    script: list[tuple[float, str]],
    cut: float | None = None,
    on_error: Supervision | None = None,
) -> Graph:
    g = Graph()
    feed = g.add(Feed(script, cut), name="feed")
    g.add(worker, name="worker", on_error=on_error)
    g.connect(feed.out, worker.inp)
    return g


async def ticking(node: Worker) -> None:
    """Logs a tick every second until cancelled, then logs that it was."""
    try:
        while True:
            await node.clock.sleep(1.0)
            node.log.append((node.clock.now(), "tick"))
    except anyio.get_cancelled_exc_class():
        node.log.append((node.clock.now(), "stopped"))
        raise


async def test_background_work_runs_across_interrupts_and_stops_before_close() -> None:
    worker = Worker(ticking)
    script = [(0.0, "a"), (3.0, "b")]
    with anyio.fail_after(5):
        await Runner(graph(worker, script, cut=0.5), clock=VirtualClock()).run()
    assert worker.log == [
        (0.0, "got a"),
        (0.5, "interrupted"),  # the handler was cut; the background work was not
        (1.0, "tick"),
        (2.0, "tick"),
        (3.0, "tick"),
        (3.0, "got b"),
        (4.0, "tick"),
        (4.5, "done b"),
        (4.5, "stopped"),  # the run stopped: the work is cancelled, then the node closes
        (4.5, "close"),
    ]


async def test_an_error_in_the_background_fails_the_run_naming_the_node() -> None:
    async def failing(node: Worker) -> None:
        await node.clock.sleep(1.0)
        raise ValueError("retries broke")

    worker = Worker(failing)
    runner = Runner(graph(worker, [(0.0, "a"), (5.0, "b")]), clock=VirtualClock())
    with anyio.fail_after(5), pytest.raises(NodeError) as info:
        await runner.run()
    error = info.value
    assert error.node == "worker" and error.frame == "(in its background work)"
    assert isinstance(error.error, ValueError) and "retries broke" in str(error)
    assert [(f.node, f.policy) for f in runner.failures] == [("worker", "fail")]
    # the handler in flight was cancelled at once, the node closed, frame "b" never came
    assert worker.log == [(0.0, "got a"), (1.0, "close")]


async def test_a_restarted_node_stops_its_background_work_before_it_closes() -> None:
    async def fails_once(node: Worker) -> None:
        if node.setups == 1:
            try:
                await node.clock.sleep(1.0)
                raise ValueError("first background run broke")
            finally:
                node.log.append((node.clock.now(), "work 1 ended"))
        await ticking(node)

    worker = Worker(fails_once)
    restart = Supervision(policy="restart", backoff=0.25)
    runner = Runner(graph(worker, [(0.0, "a")], on_error=restart), clock=VirtualClock())
    with anyio.fail_after(5):
        await runner.run()
    assert worker.setups == 2
    assert worker.log == [
        (0.0, "got a"),
        (1.0, "work 1 ended"),
        (1.0, "close"),  # closed for the restart (the frame in flight is handled again)
        (1.25, "got a"),
        (2.25, "tick"),
        (2.75, "done a"),
        (2.75, "stopped"),
        (2.75, "close"),
    ]
    assert runner.metrics().nodes["worker"].restarts == 1


async def test_an_error_after_the_node_finished_still_fails_the_run() -> None:
    async def late(node: Worker) -> None:
        await node.clock.sleep(2.0)  # the worker finished at 1.5 s; the other branch runs on
        raise ValueError("late failure")

    worker = Worker(late)
    g = graph(worker, [(0.0, "a")])
    slow, other = g.add(Feed([(5.0, "x")]), name="slow"), g.add(Worker(ticking), name="other")
    g.connect(slow.out, other.inp)
    with anyio.fail_after(5), pytest.raises(NodeError, match="late failure") as info:
        await Runner(g, clock=VirtualClock()).run()
    assert info.value.node == "worker"


async def test_an_error_raised_while_stopping_is_not_lost() -> None:
    async def bad_cleanup(node: Worker) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            raise RuntimeError("cleanup broke")

    worker = Worker(bad_cleanup)
    with anyio.fail_after(5), pytest.raises(NodeError, match="cleanup broke") as info:
        await Runner(graph(worker, [(0.0, "a")]), clock=VirtualClock()).run()
    assert info.value.node == "worker"


async def test_work_that_ignores_cancellation_is_abandoned_after_close_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = anyio.Event()
    ended = anyio.Event()

    async def stubborn(node: Worker) -> None:
        try:
            with anyio.CancelScope(shield=True):
                await release.wait()
        finally:
            ended.set()

    worker = Worker(stubborn)
    clock = VirtualClock()
    with anyio.fail_after(5):
        await Runner(graph(worker, [(0.0, "a")]), clock=clock, close_timeout=2.0).run()
    assert clock.now() == pytest.approx(1.5 + 2.0)  # the node finished, then the grace period
    assert (3.5, "close") in worker.log  # the node still closed
    assert any(
        r.levelno == logging.ERROR and "'worker' did not stop its background work" in r.message
        for r in caplog.records
    )
    release.set()  # let the abandoned task end
    with anyio.fail_after(5):
        await ended.wait()


async def test_run_in_background_needs_a_running_node() -> None:
    async def nothing() -> None:
        pass

    lone = Worker(ticking)
    with pytest.raises(UsageError, match="not running"):
        lone.run_in_background(nothing)

    class LateStarter(Worker):
        async def aclose(self) -> None:
            try:
                self.run_in_background(nothing)
            except UsageError as exc:
                self.log.append((self.clock.now(), str(exc)))

    late = LateStarter(ticking)
    runner = Runner(graph(late, []), clock=VirtualClock())
    with pytest.raises(UsageError, match="has not started yet"):
        late.run_in_background(nothing)
    with anyio.fail_after(5):
        await runner.run()
    assert "the run is stopping" in late.log[-1][1]
    with pytest.raises(UsageError, match="not running"):
        late.run_in_background(nothing)


async def test_two_concurrent_stops_both_return() -> None:
    from voicegraph.runner._background import BackgroundWork

    clock = VirtualClock()
    errors: list[BaseException] = []
    async with clock.running(), anyio.create_task_group() as tg:
        work = BackgroundWork("n", clock, 1.0, lambda error, stopped: errors.append(error))
        work.start(tg, anyio.sleep_forever)
        await anyio.sleep(0)
        stopped: list[int] = []

        async def stop(i: int) -> None:
            await work.stop()
            stopped.append(i)

        with anyio.fail_after(5):  # real time: a hang fails the test
            async with anyio.create_task_group() as stops:
                stops.start_soon(stop, 1)
                stops.start_soon(stop, 2)
    assert sorted(stopped) == [1, 2] and not errors

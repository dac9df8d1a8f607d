"""Faults the runner must survive: hung or raising closes, double faults, rare restarts over a
long session, frames of the wrong type, interrupts before a node has started.

Every close here that ignores cancellation is released at the end of its test, so the event
loop can finish.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegraph.graph import (
    Frame,
    FrameTypeError,
    Graph,
    In,
    Interrupt,
    Node,
    NodeConfig,
    NodeError,
    Out,
    Supervision,
    TextFrame,
    VoicegraphError,
)
from voicegraph.runner import RealClock, Runner, VirtualClock

LOGGER = "voicegraph.runner"


# ---------------------------------------------------------------------------------- nodes


class Words(Node):
    """Emits its words, ``gap`` seconds of clock time apart."""

    class Config(NodeConfig):
        words: list[str] = ["a", "b"]
        gap: float = 0.0

    config: Config
    out: Out[TextFrame]

    async def run(self) -> None:
        for i, word in enumerate(self.config.words):
            if i and self.config.gap:
                await self.clock.sleep(self.config.gap)
            await self.emit(self.out, TextFrame(word))


class Endless(Node):
    """Emits a frame every 10 ms of clock time, forever."""

    out: Out[TextFrame]

    async def run(self) -> None:
        while True:
            await self.emit(self.out, TextFrame("tick"))
            await self.clock.sleep(0.01)


class Sink(Node):
    """Records what it gets; its aclose() behaves as ``close`` says.

    ``normal`` returns, ``raise`` raises, ``hang`` waits forever (cancellable), ``shielded``
    waits for ``release`` and ignores cancellation meanwhile, ``thread`` waits for
    ``thread_release`` in a worker thread started through the clock (virtual time stops).
    """

    class Config(NodeConfig):
        close: str = "normal"
        fail_on: str = ""

    config: Config
    inp: In[TextFrame]

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.got: list[str] = []
        self.closed = False
        self.close_started = False
        self.close_ended = False
        self.failed_at: float | None = None
        self.release = anyio.Event()
        self.thread_release = threading.Event()

    async def on_inp(self, frame: TextFrame) -> None:
        if frame.text == self.config.fail_on:
            self.failed_at = self.clock.now()
            raise ValueError(f"handler of {self.name} cannot take {frame.text!r}")
        self.got.append(frame.text)

    async def aclose(self) -> None:
        self.close_started = True
        kind = self.config.close
        try:
            if kind == "raise":
                raise RuntimeError(f"close of {self.name} broke")
            if kind == "hang":
                await anyio.sleep_forever()
            if kind == "shielded":
                with anyio.CancelScope(shield=True):
                    await self.release.wait()
            if kind == "thread":
                await self.clock.run_sync(self.thread_release.wait)
            self.closed = True
        finally:
            self.close_ended = True

    def let_go(self) -> None:
        self.release.set()
        self.thread_release.set()


def fan_out(source: Node, sinks: list[Sink]) -> Graph:
    g = Graph()
    g.add(source, name="src")
    for i, sink in enumerate(sinks):
        g.add(sink, name=f"sink{i}")
        g.connect(source.out, sink.inp)  # type: ignore[attr-defined]
    return g


async def settle(sinks: list[Sink]) -> None:
    """Release every close still waiting and let the abandoned close tasks end."""
    for sink in sinks:
        sink.let_go()
    with anyio.fail_after(10):
        while any(s.close_started and not s.close_ended for s in sinks):
            await anyio.sleep(0.01)


def named_in_log(caplog: pytest.LogCaptureFixture, name: str) -> bool:
    return any(
        r.levelno >= logging.ERROR and r.name == LOGGER and repr(name) in r.getMessage()
        for r in caplog.records
    )


# ------------------------------------------------------------------ 1. bounded close


@pytest.mark.parametrize("kind", ["hang", "shielded"])
async def test_a_hung_close_is_abandoned_after_the_grace_period_of_virtual_time(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    sinks = [Sink(), Sink(close=kind), Sink()]
    clock = VirtualClock()
    runner = Runner(fan_out(Words(), sinks), clock=clock, close_timeout=5.0)
    with anyio.fail_after(10):  # a generous guard; the run takes milliseconds
        async with runner:
            await runner.wait()
            ended = clock.now()
    assert clock.now() - ended == pytest.approx(5.0)  # the whole grace period, no more
    assert named_in_log(caplog, "sink1") and not named_in_log(caplog, "sink0")
    assert sinks[0].closed and sinks[2].closed and not sinks[1].closed  # the others all closed
    await settle(sinks)


async def test_the_default_grace_period_ends_a_hung_close_under_the_virtual_clock(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sinks = [Sink(close="hang")]
    clock = VirtualClock()
    with anyio.fail_after(10):
        await Runner(fan_out(Words(), sinks), clock=clock).run()
    assert named_in_log(caplog, "sink0")


@pytest.mark.parametrize("clock_type", [VirtualClock, RealClock])
async def test_a_close_blocked_in_a_thread_is_abandoned_after_close_timeout_real_seconds(
    clock_type: type[VirtualClock | RealClock], caplog: pytest.LogCaptureFixture
) -> None:
    """Virtual time stands still while a thread runs, so the real-time deadline ends it."""
    sinks = [Sink(close="thread"), Sink()]
    started = time.monotonic()
    with anyio.fail_after(10):
        await Runner(fan_out(Words(), sinks), clock=clock_type(), close_timeout=0.2).run()
    assert time.monotonic() - started < 10
    assert named_in_log(caplog, "sink0") and sinks[1].closed
    await settle(sinks)


@pytest.mark.parametrize("kind", ["hang", "shielded"])
async def test_cancelling_a_run_ends_it_even_if_a_close_hangs(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Ctrl-C cancels the run: closes get their grace period, then the run ends."""
    sinks = [Sink(close=kind), Sink()]
    with anyio.fail_after(10):
        with anyio.CancelScope() as outer:
            async with Runner(fan_out(Endless(), sinks), clock=RealClock(), close_timeout=0.2):
                await anyio.sleep(0.05)
                outer.cancel()
                await anyio.sleep_forever()
    assert outer.cancelled_caught
    assert named_in_log(caplog, "sink0") and sinks[1].closed
    await settle(sinks)


SIGINT_SCRIPT = """
import sys, anyio
from voicegraph.graph import Graph, In, Node, Out, TextFrame
from voicegraph.runner import Runner

class Endless(Node):
    out: Out[TextFrame]
    async def run(self):
        while True:
            await self.emit(self.out, TextFrame("tick"))
            await self.clock.sleep(0.01)

class Stuck(Node):
    inp: In[TextFrame]
    async def on_inp(self, frame):
        if frame.text == "tick" and not getattr(self, "said", False):
            self.said = True
            print("running", flush=True)
    async def aclose(self):
        with anyio.CancelScope(shield=True):
            await anyio.sleep_forever()

g = Graph()
src, stuck = g.add(Endless()), g.add(Stuck(), name="stuck")
g.connect(src.out, stuck.inp)
anyio.run(Runner(g, close_timeout=float(sys.argv[1])).run)
"""


@pytest.mark.parametrize(("close_timeout", "presses"), [(0.5, 1), (60.0, 2)])
async def test_ctrl_c_ends_a_run_whose_node_never_closes(
    close_timeout: float, presses: int, tmp_path: Path
) -> None:
    """A real process: one Ctrl-C ends it after the grace period, a second one at once."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", SIGINT_SCRIPT, str(close_timeout)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,  # import the installed voicegraph, not the checkout's folder
    )
    try:
        assert proc.stdout is not None
        with anyio.fail_after(60):
            line = await anyio.to_thread.run_sync(proc.stdout.readline)
        assert line.strip() == "running"
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            await anyio.sleep(0.3)
        with anyio.fail_after(30):  # generous: the grace period is 0.5 s or cut by Ctrl-C
            while proc.poll() is None:
                await anyio.sleep(0.05)
        err = proc.stderr.read() if proc.stderr else ""
        assert proc.returncode != 0 and "KeyboardInterrupt" in err
        if presses == 1:
            assert "'stuck' did not close" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(
        st.sampled_from(["normal", "raise", "hang", "shielded"]), min_size=1, max_size=6
    ),
    timeout=st.sampled_from([0.0, 0.5, 5.0]),
    failing=st.none() | st.integers(0, 5),
)
def test_shutdown_completes_within_the_grace_period_and_reports_every_close_error(
    kinds: list[str], timeout: float, failing: int | None
) -> None:
    """For any mix of normal, raising and hanging closes, with or without a failed handler."""
    if failing is not None:
        failing %= len(kinds)
    sinks = [Sink(close=k, fail_on="b" if i == failing else "") for i, k in enumerate(kinds)]
    clock = VirtualClock()
    records = Records()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(records)

    async def main() -> NodeError | None:
        try:
            with anyio.fail_after(20):  # a guard only: the run takes milliseconds
                await Runner(fan_out(Words(), sinks), clock=clock, close_timeout=timeout).run()
        except NodeError as exc:
            return exc
        finally:
            await settle(sinks)
        return None

    try:
        raised = anyio.run(main)
    finally:
        logger.removeHandler(records)
    # every node ran at virtual time 0: what the clock shows is the time shutdown took
    hung = [s.name for s in sinks if s.config.close in ("hang", "shielded")]
    assert clock.now() <= timeout
    if hung and timeout:
        assert clock.now() == pytest.approx(timeout)
    for name in hung:
        assert any(repr(name) in m and "did not close" in m for m in records.messages)
    if timeout:
        assert all(s.closed for s in sinks if s.config.close == "normal")
    # every error is reported: the handler's first, each raising close in a note
    raisers = [s.name for s in sinks if s.config.close == "raise"]
    if failing is None and not raisers:
        assert raised is None
        return
    assert raised is not None
    notes = "\n".join(getattr(raised, "__notes__", []))
    if failing is not None:
        assert raised.node == sinks[failing].name and raised.port == "inp"
        assert isinstance(raised.error, ValueError)
    else:
        assert raised.node == raisers[0] and isinstance(raised.error, RuntimeError)
    for name in raisers:
        if raised.node != name or failing is not None:
            assert f"close of {name} broke" in notes


# ------------------------------------------------------------------ 2. double fault


async def test_a_handler_error_followed_by_a_close_error_reports_both_handler_first() -> None:
    sinks = [Sink(close="raise", fail_on="b")]
    with pytest.raises(NodeError) as info:
        await Runner(fan_out(Words(words=["a", "b"]), sinks), clock=VirtualClock()).run()
    err = info.value
    assert err.node == "sink0" and err.port == "inp" and err.frame is not None
    assert "'b'" in err.frame and isinstance(err.error, ValueError)
    notes = "\n".join(getattr(err, "__notes__", []))
    assert "close of sink0 broke" in notes and "'sink0'" in notes and "close" in notes


async def test_every_close_error_is_reported_when_the_run_itself_succeeded() -> None:
    sinks = [Sink(close="raise"), Sink(), Sink(close="raise")]
    with pytest.raises(NodeError) as info:
        await Runner(fan_out(Words(), sinks), clock=VirtualClock()).run()
    err = info.value
    assert err.node == "sink0" and isinstance(err.error, RuntimeError)
    assert "close of sink2 broke" in "\n".join(getattr(err, "__notes__", []))
    assert sinks[1].closed


async def test_a_close_error_does_not_replace_the_error_of_the_async_with_body() -> None:
    sinks = [Sink(close="raise")]
    with pytest.raises(KeyError) as info:
        async with Runner(fan_out(Endless(), sinks), clock=VirtualClock()):
            raise KeyError("the caller's own error")
    assert "close of sink0 broke" in "\n".join(getattr(info.value, "__notes__", []))


# ------------------------------------------------------------------ 3. restart budget


class Glitchy(Node):
    """Fails once on every frame whose text starts with ``boom`` (the retry succeeds)."""

    text: In[TextFrame]
    out: Out[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.failed: set[str] = set()

    async def on_text(self, frame: TextFrame) -> None:
        if frame.text.startswith("boom") and frame.text not in self.failed:
            self.failed.add(frame.text)
            raise ConnectionError(f"glitch on {frame.text}")
        await self.emit(self.out, frame)


class Collect(Node):
    inp: In[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[str] = []
        self.times: list[float] = []

    async def on_inp(self, frame: TextFrame) -> None:
        self.got.append(frame.text)
        self.times.append(self.clock.now())


def glitch_graph(words: list[str], gap: float, sup: Supervision) -> tuple[Graph, Collect]:
    g = Graph()
    src, glitchy, sink = g.add(Words(words=words, gap=gap)), Glitchy(), g.add(Collect())
    g.add(glitchy, name="stt", on_error=sup)
    g.connect(src.out, glitchy.text)
    g.connect(glitchy.out, sink.inp)
    return g, sink


async def test_rare_faults_far_apart_never_use_the_restart_budget_up() -> None:
    """Four one-off faults ten minutes apart, max_restarts=3: every one recovers."""
    words = ["boom1", "boom2", "boom3", "boom4", "boom5"]
    g, sink = glitch_graph(words, 600.0, Supervision(policy="restart", backoff=0.1))
    runner = Runner(g, clock=VirtualClock())
    metrics = await runner.run()
    assert sink.got == words
    assert metrics.nodes["stt"].restarts == 5
    # the backoff restarts with the window: every recovery took the first delay
    assert [round(t % 600.0, 6) for t in sink.times] == [0.1] * 5


async def test_a_burst_of_faults_within_the_window_still_fails_the_run() -> None:
    words = ["boom1", "boom2", "boom3", "boom4"]
    g, _ = glitch_graph(words, 10.0, Supervision(policy="restart", backoff=0.0))
    with pytest.raises(NodeError, match="glitch on boom4") as info:
        await Runner(g, clock=VirtualClock()).run()
    assert "3 restarts within 60 s" in "\n".join(getattr(info.value, "__notes__", []))


async def test_restart_window_none_is_one_budget_for_the_whole_run() -> None:
    words = ["boom1", "boom2", "boom3", "boom4"]
    sup = Supervision(policy="restart", backoff=0.0, restart_window=None)
    g, _ = glitch_graph(words, 600.0, sup)
    with pytest.raises(NodeError, match="glitch on boom4"):
        await Runner(g, clock=VirtualClock()).run()


# ------------------------------------------------------------------ 4. wrong frame type


@dataclass(frozen=True, slots=True)
class Tokens(Frame):
    ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class LoudText(TextFrame):
    pass


class Liar(Node):
    """Declares TextFrame output but emits Tokens on the second frame."""

    text: In[TextFrame]
    out: Out[TextFrame]

    async def on_text(self, frame: TextFrame) -> None:
        if frame.text == "b":
            await self.emit(self.out, Tokens((1, 2)))  # type: ignore[misc]
        else:
            await self.emit(self.out, LoudText(frame.text.upper()))  # a subclass is fine


class Reader(Node):
    inp: In[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[str] = []

    async def on_inp(self, frame: TextFrame) -> None:
        self.got.append(frame.text.lower())


async def test_a_frame_of_the_wrong_type_is_refused_on_emit_and_blames_the_sender() -> None:
    g = Graph()
    src, liar, reader = g.add(Words(words=["a", "b", "c"])), g.add(Liar()), g.add(Reader())
    g.connect(src.out, liar.text)
    g.connect(liar.out, reader.inp)
    with pytest.raises(NodeError) as info:
        await Runner(g, clock=VirtualClock()).run()
    err = info.value
    assert err.node == "liar" and err.port == "text"  # the sender, handling its input "b"
    assert isinstance(err.error, FrameTypeError)
    assert isinstance(err.error, TypeError) and isinstance(err.error, VoicegraphError)
    message = str(err)
    assert "'out'" in message and "Tokens" in message and "TextFrame" in message
    assert reader.got == ["a"]  # the wrong frame was never delivered


class LiarSource(Node):
    out: Out[TextFrame]

    async def run(self) -> None:
        await self.emit(self.out, Tokens())  # type: ignore[misc]


async def test_a_run_style_sender_of_the_wrong_type_is_named() -> None:
    g = Graph()
    src, reader = g.add(LiarSource(), name="liar"), g.add(Reader())
    g.connect(src.out, reader.inp)
    with pytest.raises(NodeError, match="'liar'.*Tokens.*'out'.*TextFrame"):
        await Runner(g, clock=VirtualClock()).run()


# ------------------------------------------------------------------ 5. early interrupts


class Listener(Node):
    inp: In[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.interrupts: list[Interrupt] = []
        self.got: list[tuple[str, int]] = []

    async def on_inp(self, frame: TextFrame) -> None:
        self.got.append((frame.text, frame.epoch))

    async def on_interrupt(self, event: Any) -> None:
        self.interrupts.append(event)


class RunListener(Node):
    inp: In[TextFrame]

    def __init__(self) -> None:
        super().__init__()
        self.interrupts: list[Interrupt] = []
        self.got: list[tuple[str, int]] = []

    async def run(self) -> None:
        async for _, frame in self.frames():
            self.got.append((frame.text, frame.epoch))  # type: ignore[attr-defined]

    async def on_interrupt(self, event: Any) -> None:
        self.interrupts.append(event)


@pytest.mark.parametrize("listener_type", [Listener, RunListener])
async def test_an_interrupt_before_a_node_has_started_still_calls_on_interrupt(
    listener_type: type[Listener | RunListener],
) -> None:
    g = Graph()
    src, listener = g.add(Words(words=["a", "b"], gap=0.1)), g.add(listener_type())
    g.connect(src.out, listener.inp)
    async with Runner(g, clock=VirtualClock()) as runner:
        assert runner.interrupt("words", "early") == 1  # no node task has run yet
        await runner.wait()
    assert [(e.epoch, e.reason) for e in listener.interrupts] == [(1, "early")]
    assert listener.got == [("a", 1), ("b", 1)]

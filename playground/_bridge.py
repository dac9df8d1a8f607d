"""One browser tab's session: the agent's job in a :class:`LocalRoom`, bridged to a socket.

The page's microphone frames feed a participant's ``rtc.AudioSource`` in the room; the track
the agent publishes is read back with ``rtc.AudioStream`` (resampled to the page's rate) and
sent as binary messages. The session's events (agent state, transcripts, committed replies)
and the runner's event bus (barge-ins, replies played) become JSON events; the graph's
diagram with live metrics (``runner.metrics()``) and the conversation timeline are rendered
by :mod:`voicegraph.viz` and sent as they change.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc

from voicegraph.graph.timeline import (
    ReplyPlayed,
    ReplyProgress,
    ReplyStarted,
    TimelineEvent,
    UserInterrupted,
)
from voicegraph.runner.worker import AgentServer, JobContext, JobInfo, LocalRoom
from voicegraph.runner.worker._cli import inline_context, run_inline

from ._protocol import OUTPUT_SAMPLE_RATE, event

__all__ = ["DIAGRAM_INTERVAL", "SessionBridge"]

logger = logging.getLogger("voicegraph.playground")

DIAGRAM_INTERVAL = 1.0
"""Seconds between diagram updates while the metrics change."""

Send = Callable[[str | bytes], Awaitable[None]]


class SessionBridge:
    """Run one job of ``server`` for one page (see the module docstring).

    Args:
        server: the agent.
        session_id: the page's session id (the room's name).
        send: sends one message to the page (text: JSON event; bytes: agent audio).
        sample_rate: the page microphone's rate.

    Attributes:
        ctx: the job's context (``ctx.sessions``: the agent sessions it started).
        frames_in, frames_out: microphone frames received, agent audio frames sent.
    """

    def __init__(self, server: AgentServer, session_id: str, send: Send, sample_rate: int):
        self.server = server
        self.session_id = session_id
        self.sample_rate = sample_rate
        self.frames_in = 0
        self.frames_out = 0
        self.room = LocalRoom(f"playground-{session_id}")
        self.ctx: JobContext = inline_context(
            server, JobInfo(f"playground-{session_id}", room=self.room.name), self.room
        )
        self._send = send
        self._out, self._outbox = anyio.create_memory_object_stream[str | bytes](512)
        self._source: Any = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._turns = 0
        # after a barge-in, audio of the cut reply still on its way from the room's track is
        # stale: dropped until the next reply starts playing
        self._stale = False

    @property
    def agent_session(self) -> Any:
        """The job's first agent session, once the entrypoint started it (else ``None``)."""
        sessions = self.ctx.sessions
        return sessions[0] if sessions else None

    def emit(self, kind: str, **fields: Any) -> None:
        """Queue a JSON event for the page (dropped if the page is far behind)."""
        with contextlib.suppress(
            anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError
        ):
            self._out.send_nowait(event(kind, **fields))

    async def feed(self, pcm: bytes) -> None:
        """One microphone frame (16-bit mono PCM at ``sample_rate``)."""
        from livekit import rtc

        if self._source is None:
            return
        samples = len(pcm) // 2
        frame = rtc.AudioFrame(pcm, self.sample_rate, 1, samples)
        await self._source.capture_frame(frame)
        self.frames_in += 1

    def end(self, reason: str) -> None:
        """End the session (the page left): the job shuts down and :meth:`run` returns."""
        self.ctx.shutdown(reason)

    async def run(self) -> tuple[str, str]:
        """Run the job until it ends or :meth:`end`; return ``(status, error)``."""
        from livekit import rtc

        self._source = rtc.AudioSource(self.sample_rate, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self._source)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                self.room.on("local_track_published", self._on_published)
                tg.start_soon(self._deliver)
                tg.start_soon(self._watch)
                self.room.add_participant("browser", name="you")
                self.room.publish_audio("browser", track)
                result = await run_inline(self.server, self.ctx.info, ctx=self.ctx, signals=False)
                self.emit("closed", reason=self.ctx.shutdown_reason or "the session ended")
                await self._flush()
                tg.cancel_scope.cancel()
        finally:
            self._tg = None
            self.room.off("local_track_published", self._on_published)
            with anyio.CancelScope(shield=True):
                await self._source.aclose()
            self._source = None
            self._out.close()
        return result

    # ------------------------------------------------------------------ to the page

    async def _deliver(self) -> None:
        async for message in self._outbox:
            await self._send(message)
            if isinstance(message, bytes):
                self.frames_out += 1

    async def _flush(self) -> None:
        with anyio.move_on_after(1.0):
            while self._outbox.statistics().current_buffer_used:
                await anyio.sleep(0.01)

    def _on_published(self, publication: Any, track: Any) -> None:
        if self._tg is not None:
            self._tg.start_soon(self._relay_audio, track)

    async def _relay_audio(self, track: Any) -> None:
        from livekit import rtc

        stream = rtc.AudioStream.from_track(
            track=track, sample_rate=OUTPUT_SAMPLE_RATE, num_channels=1
        )
        try:
            async for item in stream:
                if not self._stale:
                    await self._out.send(bytes(item.frame.data))
        finally:
            with anyio.CancelScope(shield=True):
                await stream.aclose()

    # ------------------------------------------------------------------ events

    async def _watch(self) -> None:
        while self.agent_session is None or self.agent_session.runner is None:
            await anyio.sleep(0.02)
        session = self.agent_session
        handlers = {
            "agent_state_changed": lambda e: self.emit("state", state=e.new_state),
            "user_state_changed": self._user_state,
            "user_input_transcribed": lambda e: self.emit(
                "user", text=e.transcript, final=e.is_final
            ),
            "conversation_item_added": self._item,
            "error": lambda e: self.emit("error", message=str(e.error)),
        }
        for name, handler in handlers.items():
            session.on(name, handler)
        marks = session.runner.subscribe(TimelineEvent, capacity=64)
        self.emit("state", state=getattr(session, "agent_state", "listening"))  # ready
        assert self._tg is not None
        self._tg.start_soon(self._diagrams, session)
        try:
            async for mark in marks:
                if isinstance(mark, UserInterrupted):
                    self._stale = True
                    self.emit("interrupted", reason=mark.reason)
                elif isinstance(mark, ReplyStarted):
                    self._stale = False
                elif isinstance(mark, ReplyProgress):  # the words heard so far, live
                    self.emit("agent", text=mark.text, final=False, interrupted=False)
                elif isinstance(mark, ReplyPlayed):
                    self._tg.start_soon(self._timeline, session)
        finally:
            for name, handler in handlers.items():
                session.off(name, handler)

    def _user_state(self, e: Any) -> None:
        if e.new_state == "speaking":
            self.emit("user", text="", final=False)  # words come at pauses (interim) and at the end

    def _item(self, e: Any) -> None:
        item = e.item
        if getattr(item, "role", "") == "assistant":
            interrupted = bool(getattr(item, "interrupted", False))
            self.emit("agent", text=item.text_content or "", final=True, interrupted=interrupted)

    async def _diagrams(self, session: Any) -> None:
        from voicegraph.viz import render, to_dot

        last = None
        while True:
            metrics = session.runner.metrics()
            dot = to_dot(session.graph, metrics, title="voicegraph playground")
            if dot != last:
                last = dot
                diagram = await anyio.to_thread.run_sync(functools.partial(render, dot, "svg"))
                svg = diagram.text if diagram.rendered else f"<pre>{html.escape(dot)}</pre>"
                self.emit("diagram", svg=svg, edges=_edge_depths(metrics), nodes=_latency(metrics))
            await anyio.sleep(DIAGRAM_INTERVAL)

    async def _timeline(self, session: Any) -> None:
        from voicegraph.viz import Timeline, plot_timeline

        self._turns += 1
        timeline = Timeline.from_pipeline(session.pipeline)

        def draw() -> str:
            figure = plot_timeline(timeline=timeline, width=10.0)
            data = io.BytesIO()
            figure.savefig(data, format="png", dpi=80)
            return base64.b64encode(data.getvalue()).decode("ascii")

        png = await anyio.to_thread.run_sync(draw)
        self.emit("timeline", png=f"data:image/png;base64,{png}", turn=self._turns)


def _edge_depths(metrics: Any) -> dict[str, int]:
    return {name: int(edge.depth) for name, edge in metrics.edges.items()}


def _latency(metrics: Any) -> dict[str, float]:
    """Each node's mean time per frame handled (ms)."""
    return {
        name: round(1000.0 * node.busy / node.frames_in, 3)
        for name, node in metrics.nodes.items()
        if node.frames_in
    }

"""A live Jupyter view of a session: diagram with metrics, transcript, audio players, timeline."""

from __future__ import annotations

import html
import os
import warnings
from pathlib import Path
from typing import Any

import anyio

from voicegraph.graph import Clock, ConfigError, Graph, MissingDependencyError
from voicegraph.runner import RunMetrics, Runner

from ._collect import unwrap_session
from ._dot import Rankdir, bottleneck
from ._render import DiagramWarning, render
from ._session import SessionTrace

__all__ = ["LiveView"]


class LiveView:
    """Watch a session in Jupyter: the diagram with live metrics, the conversation, the audio.

    ::

        view = LiveView(pipeline)      # a voice pipeline (voice_pipeline(...)) or any Graph
        view                           # show it (the last expression of a cell)
        await view.run(clock=VirtualClock())

    While the graph runs, the view polls ``runner.metrics()`` every ``interval`` seconds and
    redraws the diagram with them (frames/s, queue depth and high-water, drops, busy time,
    the bottleneck), the conversation so far (from the pipeline's conversation log) and a
    status line. When the run is over it loads the reply recording into the reply player
    and draws the session timeline. The widgets are plain ipywidgets whose values are the
    view's state, so the view can be tested (and embedded) without a browser.

    Args:
        session: a voice pipeline (anything with a ``graph`` attribute, and optionally
            ``log``, ``source`` and ``output`` stages), a started ``AgentSession`` (its
            ``pipeline``'s stages are used; follow its run with :meth:`watch` on
            ``session.runner``), or a :class:`~voicegraph.graph.Graph`.
        interval: seconds between updates while running (default 0.5).
        input_audio: the input's WAV (path or bytes) for the input player (default: the
            pipeline source's ``path`` setting, if it has one).
        reply_audio: the reply recording's WAV path (default: the pipeline output's ``path``
            setting, if it has one); loaded when the run is over.
        rankdir: diagram direction, ``"LR"`` (default) or ``"TB"``.
        timeline: draw the session timeline when the run is over (default ``True``).

    Attributes:
        widget: the whole view (an ``ipywidgets.VBox``).
        status: one line: clock time, frames, drops, the bottleneck.
        diagram: the diagram (SVG inside an ``ipywidgets.HTML``).
        transcript: the conversation so far (``ipywidgets.HTML``).
        input_audio, reply_audio: ``ipywidgets.Audio`` players (WAV bytes in ``value``).
        timeline_image: the timeline (PNG bytes in ``value``; empty until the run is over).
        trace: the :class:`SessionTrace` that :meth:`run` records into.
        updates: how many times the view has been refreshed.

    Raises:
        MissingDependencyError: ipywidgets is not installed (``pip install 'voicegraph[jupyter]'``).
    """

    def __init__(
        self,
        session: Graph | Any,
        *,
        interval: float = 0.5,
        input_audio: str | Path | bytes | None = None,
        reply_audio: str | Path | None = None,
        rankdir: Rankdir = "LR",
        timeline: bool = True,
    ) -> None:
        try:
            import ipywidgets as widgets
        except ImportError:
            raise MissingDependencyError("ipywidgets", "jupyter", what="LiveView") from None
        self.pipeline: Any = None if isinstance(session, Graph) else unwrap_session(session)
        graph = session if isinstance(session, Graph) else getattr(session, "graph", None)
        if not isinstance(graph, Graph):
            raise ConfigError(
                f"LiveView needs a Graph or a pipeline with a .graph, not {type(session).__name__}"
            )
        self.graph = graph
        self.interval = interval
        self.rankdir: Rankdir = rankdir
        self.draw_timeline = timeline
        self.trace = SessionTrace()
        self.updates = 0
        self.metrics: RunMetrics | None = None
        self.state = "ready"
        """``"ready"``, ``"running"`` or ``"finished"``."""
        self._warned = False
        self._reply_path = (
            Path(reply_audio) if reply_audio is not None else self._stage_path("output")
        )
        self.status = widgets.HTML(value="<b>ready</b>")
        self.diagram = widgets.HTML()
        self.transcript = widgets.HTML(value=_conversation([]))
        self.input_audio = widgets.Audio(format="wav", autoplay=False, controls=True)
        self.reply_audio = widgets.Audio(format="wav", autoplay=False, controls=True)
        self.timeline_image = widgets.Image(format="png")
        source = input_audio if input_audio is not None else self._stage_path("source")
        if source is not None:
            self.set_input(source)
        players = widgets.HBox(
            [
                widgets.VBox([widgets.HTML("<b>input</b>"), self.input_audio]),
                widgets.VBox([widgets.HTML("<b>reply</b>"), self.reply_audio]),
            ]
        )
        self.widget = widgets.VBox(
            [self.status, self.diagram, self.transcript, players, self.timeline_image]
        )
        self.update()  # the structure now; this also loads the Graphviz module before a run

    # ------------------------------------------------------------------ state

    def set_input(self, audio: str | Path | bytes) -> None:
        """Load the input player with a WAV file (path) or WAV bytes."""
        self.input_audio.value = audio if isinstance(audio, bytes) else Path(audio).read_bytes()

    def set_reply(self, audio: str | Path | bytes) -> None:
        """Load the reply player with a WAV file (path) or WAV bytes."""
        self.reply_audio.value = audio if isinstance(audio, bytes) else Path(audio).read_bytes()

    def update(self, metrics: RunMetrics | None = None) -> None:
        """Redraw the diagram, the transcript and the status line (with ``metrics``, if given)."""
        if metrics is not None:
            self.metrics = metrics
        with warnings.catch_warnings():
            if self._warned:  # say it once, not at every update
                warnings.simplefilter("ignore", DiagramWarning)
            diagram = render(self.graph, "svg", metrics=self.metrics, rankdir=self.rankdir)
        if diagram.rendered:
            self.diagram.value = diagram.text
        else:
            self._warned = True
            self.diagram.value = (
                f"<p>{html.escape(diagram.message or '')}</p><pre>{html.escape(diagram.dot)}</pre>"
            )
        self.transcript.value = _conversation(self._utterances())
        self.status.value = _status(self.state, self.metrics)
        self.updates += 1

    # ------------------------------------------------------------------ running

    async def watch(self, runner: Runner) -> None:
        """Update the view every ``interval`` seconds until ``runner`` (already running) ends."""
        while not runner.finished:
            self.update(runner.metrics())
            await anyio.sleep(self.interval)
        self.update(runner.metrics())

    async def run(self, runner: Runner | None = None, *, clock: Clock | None = None) -> RunMetrics:
        """Run the graph (or ``runner``) while updating the view, then finish it; return metrics.

        Args:
            runner: a runner to use instead of ``Runner(graph, clock=clock, trace=self.trace)``
                (pass ``trace=view.trace`` to it for the timeline's speech and TTS rows).
            clock: the clock for the runner this creates (default: real time).
        """
        if runner is None:
            runner = Runner(self.graph, clock=clock, trace=self.trace)
        self.state = "running"
        async with runner, anyio.create_task_group() as tg:
            tg.start_soon(self.watch, runner)
            await runner.wait()
            tg.cancel_scope.cancel()
        self.state = "finished"
        metrics = runner.metrics()
        self.update(metrics)
        self.finish(trace=runner.trace)
        return metrics

    def finish(self, *, trace: Any = None) -> None:
        """After a run: load the reply recording and draw the session timeline."""
        if self._reply_path is not None and self._reply_path.is_file():
            self.set_reply(self._reply_path)
        if not self.draw_timeline:
            return
        trace = trace if trace is not None else self.trace
        has_trace = bool(getattr(trace, "records", None))
        if not has_trace and self.pipeline is None:
            return
        from ._timeline import plot_timeline

        fig = plot_timeline(trace if has_trace else None, self.pipeline)
        self.timeline_image.value = fig._repr_png_()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ helpers

    def _stage_path(self, stage: str) -> Path | None:
        node = getattr(self.pipeline, stage, None)
        path = getattr(getattr(node, "config", None), "path", None)
        return Path(path) if isinstance(path, str | os.PathLike) and str(path) else None

    def _utterances(self) -> list[Any]:
        log = getattr(self.pipeline, "log", None)
        return list(getattr(log, "utterances", []))

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _conversation(utterances: list[Any]) -> str:
    if not utterances:
        return "<div><i>(no conversation yet)</i></div>"
    lines = []
    for u in utterances:
        who = "🧑 user" if u.role == "user" else "🤖 agent"
        cut = " <i>[interrupted]</i>" if getattr(u, "interrupted", False) else ""
        lines.append(
            f"<div><code>{u.at:7.2f}s</code> <b>{who}</b>: {html.escape(u.text)}{cut}</div>"
        )
    return "".join(lines)


def _status(state: str, metrics: RunMetrics | None) -> str:
    if metrics is None:
        return f"<b>{state}</b>"
    frames = sum(e.frames for e in metrics.edges.values())
    drops = sum(e.drops for e in metrics.edges.values())
    slow = bottleneck(metrics)
    parts = [
        f"<b>{state}</b>",
        f"t = {metrics.elapsed:.2f} s",
        f"{frames} frames",
        f"{drops} drops",
    ]
    if slow:
        parts.append(f"bottleneck: <b>{html.escape(slow)}</b>")
    return " · ".join(parts)

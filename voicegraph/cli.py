"""The ``voicegraph`` command line (typer)."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import anyio
import typer

from voicegraph.graph import Graph, VoicegraphError

if TYPE_CHECKING:
    from voicegraph.runner import RunMetrics

app = typer.Typer(
    help="voicegraph: realtime voice agents as typed dataflow graphs.",
    no_args_is_help=True,
    add_completion=False,
)


def _load_graph(target: str) -> Graph:
    """Import ``module:attribute``: a Graph, a function returning one, or an object with a
    ``graph`` attribute (e.g. a voice pipeline)."""
    module_name, _, attr = target.partition(":")
    if not attr:
        raise typer.BadParameter(f"expected module:attribute, got {target!r}")
    sys.path.insert(0, str(Path.cwd()))
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise typer.BadParameter(f"cannot load {target!r}: {exc}") from None
    graph = obj() if callable(obj) and not isinstance(obj, Graph) else obj
    if not isinstance(graph, Graph) and isinstance(getattr(graph, "graph", None), Graph):
        graph = graph.graph
    if not isinstance(graph, Graph):
        raise typer.BadParameter(f"{target!r} is a {type(graph).__name__}, not a Graph")
    return graph


@app.command()
def run(
    input: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="A PCM WAV (8-48 kHz); default: a bundled question."),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the agent's reply audio (WAV).")
    ] = Path("voicegraph-reply.wav"),
    transcript: Annotated[
        Path | None,
        typer.Option(help="Transcript of both sides; default: beside --output."),
    ] = None,
    conversation: Annotated[
        Path | None,
        typer.Option(
            help="Also write both sides as one stereo WAV (you left, the agent right), aligned."
        ),
    ] = None,
    fast: Annotated[
        bool,
        typer.Option(
            "--fast",
            help="Run on a virtual clock: as fast as the models go (latencies then "
            "exclude model compute).",
        ),
    ] = False,
    show_graph: Annotated[
        bool, typer.Option("--graph", help="Print the graph it runs (YAML).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print the metrics.")] = False,
    diagram: Annotated[
        bool,
        typer.Option(
            "--diagram", help="Also write the graph's diagram with this run's metrics (SVG)."
        ),
    ] = False,
    timeline: Annotated[
        bool,
        typer.Option("--timeline", help="Also write the session's timeline (PNG)."),
    ] = False,
) -> None:
    """Talk to the embedded offline voice agent: your audio in, its spoken reply out.

    Runs the standard voice graph (VAD, Whisper STT, turn detection, SmolLM2, hibari TTS) on
    the input file as if it were a live microphone, writes the reply audio and a transcript,
    and prints per-turn latencies: voice-to-voice is measured from the audio, from the true
    end of your speech to the first audible reply. The reply WAV is aligned with the input
    (sample i of each is the same moment); ``--conversation`` writes both as one stereo WAV.
    ``--diagram`` / ``--timeline`` also write ``<output>-graph.svg`` /
    ``<output>-timeline.png`` beside the reply.

    Files are never destroyed: every output is written to a hidden temporary file beside it
    and moved into place only when the run succeeded, so a failed run leaves existing files
    as they were. An output that is the input, another output or a folder is refused.
    """
    from voicegraph.nodes.agent import (
        AgentController,
        ConversationLog,
        format_turn_metrics,
        turn_metrics,
        voice_pipeline,
    )
    from voicegraph.nodes.audio import WavSource, read_mono_wav, write_wav
    from voicegraph.nodes.audio import stereo_conversation as both
    from voicegraph.nodes.output import AudioOutput
    from voicegraph.nodes.samples import sample_path
    from voicegraph.runner import Runner, VirtualClock

    path = input if input is not None else sample_path("question")
    transcript = transcript if transcript is not None else output.with_suffix(".txt")
    diagram_path = output.with_name(f"{output.stem}-graph.svg") if diagram else None
    picture = output.with_name(f"{output.stem}-timeline.png") if timeline else None
    problem = _output_problem(
        path,
        {"--output": output, "--transcript": transcript, "--conversation": conversation,
         "the diagram": diagram_path, "the timeline": picture},
    )  # fmt: skip
    if problem is not None:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)

    def say(text: str) -> None:
        if not quiet:
            typer.echo(text)

    reply = _temporary(output)  # moved over --output once the run has succeeded
    try:
        pipeline = voice_pipeline(
            WavSource(path=str(path)),
            output=AudioOutput(path=str(reply)),
            log=ConversationLog(echo=not quiet),
            controller=AgentController(),  # as an AgentSession runs it: preemptive generation
        )
    except VoicegraphError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if show_graph:
        typer.echo(pipeline.graph.to_yaml())
    say(f"voicegraph: loading the embedded models, then listening to {path} ...")
    trace = None
    if timeline:
        from voicegraph.viz import SessionTrace

        trace = SessionTrace()
    runner = Runner(pipeline.graph, clock=VirtualClock() if fast else None, trace=trace)
    try:
        try:
            anyio.run(runner.run)
        except VoicegraphError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        agent = pipeline.aligned_recording()  # the reply, sample i at input sample i
        if agent is None:  # cannot happen after a run that ended: say so, never guess
            typer.echo("error: the run ended without writing the reply audio", err=True)
            raise typer.Exit(1)
        user = read_mono_wav(path)
        writes: dict[Path, Callable[[Path], object]] = {
            output: lambda p: write_wav(p, *agent),
            transcript: lambda p: p.write_text(pipeline.log.transcript() + "\n", "utf-8"),
        }
        if conversation is not None:
            writes[conversation] = lambda p: write_wav(p, *both(*user, *agent))
        _write_all(writes)
    except OSError as exc:
        typer.echo(f"error: cannot write the results ({exc})", err=True)
        raise typer.Exit(1) from None
    finally:
        reply.unlink(missing_ok=True)
    metrics = turn_metrics(pipeline, user_audio=user, agent_audio=agent)
    loaded = getattr(pipeline.source, "media_to_clock", lambda _: None)(0.0)
    if loaded is not None and not fast:
        say(f"\n(models loaded and warmed in {loaded:.1f} s, before the input started)")
    say("")
    typer.echo(format_turn_metrics(metrics))
    say(f"\nreply audio: {output} (aligned with the input)\ntranscript:  {transcript}")
    if conversation is not None:
        say(f"conversation: {conversation} (stereo: you left, the agent right)")
    if diagram_path is not None:
        written = _write_diagram(pipeline.graph, diagram_path, runner.metrics())
        say(f"diagram:     {written}")
    if picture is not None:
        from voicegraph.viz import plot_timeline

        with _replacing(picture) as temporary:
            plot_timeline(trace, pipeline).savefig(temporary, dpi=110)
        say(f"timeline:    {picture}")


def _write_all(writes: dict[Path, Callable[[Path], object]]) -> None:
    """Write every file beside its destination, then move them all into place; if any
    write fails, no destination is touched."""
    temporaries = {path: _temporary(path) for path in writes}
    try:
        for path, write in writes.items():
            write(temporaries[path])
        for path, temporary in temporaries.items():
            os.replace(temporary, path)
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)


def _temporary(path: Path) -> Path:
    """A hidden, unused file name beside ``path``, keeping its suffix (formats go by it)."""
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it over ``path`` if the block succeeds,
    else remove it (``path`` is then untouched)."""
    temporary = _temporary(path)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # hard links, case-insensitive file systems, ...
    except OSError:
        return False


def _output_problem(source: Path | None, outputs: dict[str, Path | None]) -> str | None:
    """Why these output paths cannot be written without destroying something, or ``None``."""
    chosen = [(name, path) for name, path in outputs.items() if path is not None]
    for i, (name, path) in enumerate(chosen):
        if path.is_dir():
            return (
                f"{name} {str(path)!r} is a folder; give a file name, e.g. "
                f"{str(path / 'reply.wav')!r}"
            )
        if not path.parent.is_dir():
            return (
                f"{name} {str(path)!r}: the folder {str(path.parent)!r} does not exist; "
                "create it or choose another path"
            )
        if source is not None and _same_file(path, source):
            return f"{name} {str(path)!r} is the input file; writing it would destroy the input"
        for other, earlier in chosen[:i]:
            if _same_file(path, earlier):
                return f"{name} and {other} are the same file {str(path)!r}; choose another"
    return None


@app.command()
def check(target: Annotated[str, typer.Argument(help="module:attribute of a Graph")]) -> None:
    """Check a graph and list every problem."""
    graph = _load_graph(target)
    try:
        graph.check()
    except VoicegraphError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{target}: ok ({sum(1 for _ in graph.iter_nodes())} nodes)")


@app.command()
def render(
    target: Annotated[
        str,
        typer.Argument(help="module:attribute of a Graph (or a function returning one)"),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write (.svg, .png or .dot); default: DOT on stdout."
        ),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="svg, png or dot; default: from the file's suffix."),
    ] = None,
    rankdir: Annotated[str, typer.Option(help="LR (left to right) or TB (top to bottom).")] = "LR",
) -> None:
    """Draw a graph's diagram: SVG or PNG (Graphviz compiled to WebAssembly), or DOT text.

    Without a Graphviz renderer, the DOT text is written instead (to a .dot file) with a
    message saying so.
    """
    from voicegraph.viz import FORMATS

    graph = _load_graph(target)
    if rankdir not in ("LR", "TB"):
        raise typer.BadParameter(f"--rankdir must be LR or TB, not {rankdir!r}")
    direction: Literal["LR", "TB"] = "TB" if rankdir == "TB" else "LR"
    if output is None:
        fmt = format or "dot"
    else:
        suffix = output.suffix.lower().lstrip(".")
        fmt = format or {"gv": "dot"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise typer.BadParameter(f"cannot write {fmt!r}: choose a format from {', '.join(FORMATS)}")
    if output is None and fmt != "dot":
        raise typer.BadParameter(f"{fmt} is binary or markup: write it to a file with -o")
    if output is None:
        from voicegraph.viz import to_dot

        typer.echo(to_dot(graph, rankdir=direction), nl=False)
        return
    problem = _output_problem(None, {"--output": output})
    if problem is not None:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    written = _write_diagram(graph, output, None, fmt=fmt, rankdir=direction)
    typer.echo(f"{target}: wrote {written}")


def _write_diagram(
    graph: Graph,
    path: Path,
    metrics: RunMetrics | None,
    *,
    fmt: str = "svg",
    rankdir: Literal["LR", "TB"] = "LR",
) -> Path:
    """Render and write a diagram; without a renderer write DOT and say why (on stderr)."""
    import warnings

    from voicegraph.viz import DiagramWarning
    from voicegraph.viz import render as render_diagram

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagramWarning)  # reported below, once, in plain words
        diagram = render_diagram(graph, fmt, metrics=metrics, rankdir=rankdir)
    temporary = _temporary(path)
    try:  # written beside it, then moved into place (DOT instead: the suffix says so)
        done = diagram.save(temporary)
        written = path.with_suffix(done.suffix) if done.suffix != temporary.suffix else path
        os.replace(done, written)
    finally:
        temporary.unlink(missing_ok=True)
        temporary.with_suffix(".dot").unlink(missing_ok=True)
    if not diagram.rendered:
        typer.echo(f"warning: {diagram.message} Wrote {written}.", err=True)
    return written


@app.command()
def bench(quick: Annotated[bool, typer.Option(help="A fast smoke run.")] = False) -> None:
    """Run the benchmark suite (from a source checkout: it lives in benchmarks/)."""
    sys.path.insert(0, str(Path.cwd()))
    try:
        from benchmarks import main as bench_main  # type: ignore[import-not-found]
    except ImportError:
        typer.echo("the benchmarks live in the source checkout; run this from its root", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(bench_main(["--quick"] if quick else []))


@app.command("eval")
def eval_corpus(
    corpus: Annotated[
        Path, typer.Argument(help="A folder of WAVs, or a manifest .jsonl (see the docs).")
    ],
    agent: Annotated[
        str | None,
        typer.Option(
            help="module:attribute of an Agent class or a function returning an Agent; "
            "default: the standard voice agent on the embedded models."
        ),
    ] = None,
    realtime: Annotated[
        bool,
        typer.Option("--realtime", help="Run on the real clock (voice-to-voice latency)."),
    ] = False,
    baseline: Annotated[
        Path | None, typer.Option(help="A previous run's --json: flag regressions against it.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the report as JSON.")
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option(
            help="Write the report as Markdown (default: print it), with a timeline picture "
            "per failing file in the folder FILE-timelines/ beside it, linked from its "
            "Failures table (printed Markdown has no pictures)."
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            help="Write the report as one self-contained HTML page, with a timeline picture "
            "per failing file."
        ),
    ] = None,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="Run on Ray workers, each loading the models once: the cluster in "
            "$RAY_ADDRESS, or a new local instance (pip install 'voicegraph[ray]').",
        ),
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(help="The Ray cluster to run on, e.g. ray://head:10001 (implies --ray)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Ray workers (default: one per CPU of the cluster)."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Real seconds a file may take before it is stopped and reported as an error "
            "(default: 60 plus 3 times the recording's length).",
        ),
    ] = None,
) -> None:
    """Evaluate an agent over a corpus of recordings: WER, cut-offs, replies to noise, tools.

    Each recording runs through the agent's voice graph in a new session, on the virtual
    clock (deterministic, as fast as the models go) or with --realtime, in this process or
    with --ray on a Ray cluster (the same report). Progress goes to stderr: a bar on a
    terminal, a line per file elsewhere. The outputs are written once the run has succeeded
    (a failed run leaves existing files as they were). Exits 1 when --baseline finds a
    regression, 2 for unusable input.
    """
    import json

    from voicegraph.evals import (
        EvalSettings,
        ProgressBar,
        Report,
        compare,
        evaluate,
        load_agent,
        render_html,
        render_markdown,
        render_timeline,
        timeline_files,
    )

    pictures = markdown.with_name(f"{markdown.stem}-timelines") if markdown else None
    problem = _output_problem(None, {"--json": json_out, "--markdown": markdown, "--html": html})
    if problem is None and pictures is not None and pictures.exists() and not pictures.is_dir():
        problem = f"the timelines folder {str(pictures)!r} is a file; move it or rename --markdown"
    try:
        if problem is not None:
            raise VoicegraphError(problem)
        factory = load_agent(agent) if agent is not None else None
        previous = Report.load(baseline) if baseline is not None else None
        progress = ProgressBar()
        try:
            report = evaluate(
                corpus,
                factory,
                EvalSettings(realtime=realtime, timeout=timeout),
                progress=progress,
                ray=ray_address or ray,
                workers=workers,
            )
        finally:
            progress.close()
    except VoicegraphError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if report.workers:
        memory = ", ".join(f"{w.peak_rss_mb:.0f}" for w in report.workers if not w.died)
        died = sum(w.died for w in report.workers)
        lost = f"; {died} worker(s) died, their files were retried" if died else ""
        alive = len(report.workers) - died
        typer.echo(f"ran on {alive} Ray worker(s), peak memory {memory} MiB each{lost}", err=True)
    comparison = compare(report, previous) if previous is not None else None
    names = timeline_files(report) if pictures is not None else {}
    links = {i: f"{pictures.name}/{n}" for i, n in names.items()} if pictures else None
    text = render_markdown(report, comparison, timelines=links)

    def text_file(content: str) -> Callable[[Path], object]:
        return lambda p: p.write_text(content, "utf-8")

    writes: dict[Path, Callable[[Path], object]] = {}
    if json_out is not None:
        writes[json_out] = text_file(json.dumps(report.to_json(), indent=1) + "\n")
    if markdown is not None:
        writes[markdown] = text_file(text)
    else:
        typer.echo(text)
    if html is not None:
        writes[html] = text_file(render_html(report, comparison))
    if pictures is not None and names:
        by_id = {f.id: f for f in report.files}
        for file_id, name in names.items():
            writes[pictures / name] = text_file(render_timeline(by_id[file_id]))
    try:
        if pictures is not None and names:
            pictures.mkdir(exist_ok=True)
        _write_all(writes)
    except OSError as exc:
        typer.echo(f"error: cannot write the report ({exc})", err=True)
        raise typer.Exit(1) from None
    if comparison is not None and comparison.regressions:
        typer.echo(f"{len(comparison.regressions)} regression(s) against {baseline}", err=True)
        raise typer.Exit(1)


# ---------------------------------------------------------------------- LiveKit deployment
# Thin wrappers: the commands live in voicegraph.runner.worker._cli (and _console).

_Agent = Annotated[
    str,
    typer.Argument(
        help="The agent: path/to/agent.py or a module, optionally :attribute (an AgentServer "
        "or an async entrypoint)."
    ),
]
_Url = Annotated[str | None, typer.Option(help="LiveKit server URL; default $LIVEKIT_URL.")]
_Key = Annotated[str | None, typer.Option(help="Default $LIVEKIT_API_KEY.")]
_Secret = Annotated[str | None, typer.Option(help="Default $LIVEKIT_API_SECRET.")]
_LogLevel = Annotated[str, typer.Option(help="debug, info, warning or error.")]


@app.command()
def start(
    agent: _Agent,
    url: _Url = None,
    api_key: _Key = None,
    api_secret: _Secret = None,
    http_port: Annotated[int, typer.Option(help="Health-check port (0: any free).")] = 8081,
    log_level: _LogLevel = "info",
) -> None:
    """Run a production worker: take jobs from LiveKit; drain on SIGTERM."""
    from voicegraph.runner.worker._cli import start as start_worker

    raise typer.Exit(start_worker(agent, url=url, api_key=api_key, api_secret=api_secret,
                                  http_port=http_port, log_level=log_level))  # fmt: skip


@app.command()
def dev(
    agent: _Agent,
    url: _Url = None,
    api_key: _Key = None,
    api_secret: _Secret = None,
    log_level: _LogLevel = "info",
) -> None:
    """Run a development worker, restarted when a .py file changes."""
    from voicegraph.runner.worker._cli import dev as dev_worker

    raise typer.Exit(dev_worker(agent, url=url, api_key=api_key, api_secret=api_secret,
                                log_level=log_level))  # fmt: skip


@app.command()
def connect(
    agent: _Agent,
    room: Annotated[str, typer.Option(help="The room to join.")],
    identity: Annotated[str, typer.Option(help="The agent's identity.")] = "agent",
    url: _Url = None,
    api_key: _Key = None,
    api_secret: _Secret = None,
    log_level: _LogLevel = "info",
) -> None:
    """Run the agent once in one room, joining it directly (no dispatch)."""
    from voicegraph.runner.worker._cli import connect as connect_room

    raise typer.Exit(connect_room(agent, room=room, identity=identity, url=url, api_key=api_key,
                                  api_secret=api_secret, log_level=log_level))  # fmt: skip


@app.command()
def console(
    agent: _Agent,
    log_level: _LogLevel = "warning",
    text: Annotated[
        bool, typer.Option("--text", help="Type to the agent (no sound device needed).")
    ] = False,
) -> None:
    """Talk to the agent with this machine's microphone and speaker, or by text (no server)."""
    from voicegraph.runner.worker._console import console as run_console

    raise typer.Exit(run_console(agent, log_level=log_level, text=text))


@app.command()
def playground(
    agent: Annotated[
        str | None,
        typer.Argument(
            help="Default: the standard voice agent on the embedded models. Or "
            "path/to/agent.py / a module, optionally :attribute: an AgentServer, an async "
            "entrypoint, an Agent class or a function returning an Agent."
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on; other than loopback needs a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 0,
    token: Annotated[
        str | None,
        typer.Option(
            help="Required in the page's URL (?token=); generated for a non-loopback --host."
        ),
    ] = None,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open the page in the browser.")
    ] = True,
    log_level: _LogLevel = "warning",
) -> None:
    """Talk to the agent in the browser: a local page with live transcript, graph and timeline."""
    import logging

    try:
        from voicegraph.playground import playground as serve
    except ModuleNotFoundError as exc:  # aiohttp, a dependency: a broken environment
        typer.echo(
            f"error: the playground needs {exc.name!r}, which is missing: reinstall voicegraph "
            f"(pip install voicegraph) or pip install {exc.name}",
            err=True,
        )
        raise typer.Exit(1) from None
    logging.basicConfig(level=log_level.upper())
    raise typer.Exit(serve(agent, host=host, port=port, token=token, open_browser=browser))


def main() -> None:
    """Entry point for the console script."""
    app()

"""The ``voicegraph`` command line (typer)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import anyio
import typer

from voicegraph.graph import Graph, VoicegraphError

app = typer.Typer(
    help="voicegraph: realtime voice agents as typed dataflow graphs.",
    no_args_is_help=True,
    add_completion=False,
)


def _load_graph(target: str) -> Graph:
    """Import ``module:attribute`` (a Graph, or a function returning one)."""
    module_name, _, attr = target.partition(":")
    if not attr:
        raise typer.BadParameter(f"expected module:attribute, got {target!r}")
    sys.path.insert(0, str(Path.cwd()))
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise typer.BadParameter(f"cannot load {target!r}: {exc}") from None
    graph = obj() if callable(obj) and not isinstance(obj, Graph) else obj
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
) -> None:
    """Talk to the embedded offline voice agent: your audio in, its spoken reply out.

    Runs the standard voice graph (VAD, Whisper STT, turn detection, SmolLM2, hibari TTS) on
    the input file as if it were a live microphone, writes the reply audio and a transcript,
    and prints per-turn latencies.
    """
    from voicegraph.nodes.agent import ConversationLog, format_turn_metrics, voice_pipeline
    from voicegraph.nodes.audio import WavSource
    from voicegraph.nodes.output import AudioOutput
    from voicegraph.nodes.samples import sample_path
    from voicegraph.runner import Runner, VirtualClock

    path = input if input is not None else sample_path("question")
    transcript = transcript if transcript is not None else output.with_suffix(".txt")

    def say(text: str) -> None:
        if not quiet:
            typer.echo(text)

    try:
        pipeline = voice_pipeline(
            WavSource(path=str(path)),
            output=AudioOutput(path=str(output)),
            log=ConversationLog(echo=not quiet),
        )
    except VoicegraphError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if show_graph:
        typer.echo(pipeline.graph.to_yaml())
    say(f"voicegraph: loading the embedded models, then listening to {path} ...")
    runner = Runner(pipeline.graph, clock=VirtualClock() if fast else None)
    try:
        anyio.run(runner.run)
    except VoicegraphError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    transcript.write_text(pipeline.log.transcript() + "\n", encoding="utf-8")
    say("")
    typer.echo(format_turn_metrics(pipeline.turn_metrics()))
    say(f"\nreply audio: {output}\ntranscript:  {transcript}")


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
def bench(quick: Annotated[bool, typer.Option(help="A fast smoke run.")] = False) -> None:
    """Run the benchmark suite (from a source checkout: it lives in benchmarks/)."""
    sys.path.insert(0, str(Path.cwd()))
    try:
        from benchmarks import main as bench_main  # type: ignore[import-not-found]
    except ImportError:
        typer.echo("the benchmarks live in the source checkout; run this from its root", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(bench_main(["--quick"] if quick else []))


def main() -> None:
    """Entry point for the console script."""
    app()

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
    seconds: Annotated[float, typer.Option(help="Length of the demo input.")] = 2.0,
    show_graph: Annotated[bool, typer.Option("--graph", help="Print the graph it runs.")] = False,
) -> None:
    """Run the demo graph (tone bursts >> level meter >> printer) and print its metrics."""
    from voicegraph.nodes import demo_graph
    from voicegraph.runner import Runner

    graph = demo_graph(seconds)
    if show_graph:
        typer.echo(graph.to_yaml())
    metrics = anyio.run(Runner(graph).run)
    typer.echo("")
    typer.echo(metrics.table())


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

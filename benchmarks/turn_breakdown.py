"""Where a text-only turn's time goes: ``turn_cost``'s measured turns again, under cProfile.

Self time is summed per voicegraph module (``vg runner/_edge``), per third-party package
(``pydantic``), for the asyncio stdlib and for C builtins, per turn; the hottest functions
follow with their self and cumulative time and calls per turn (for a coroutine cProfile counts
every resumption as a call). cProfile inflates every Python call, so read the shares, not the
absolute figures.

::

    python -m benchmarks.turn_breakdown [--quick] [--clock virtual] [--peers PYTHON]

prints ``turn_cost``'s rows (with the peers when ``--peers`` is given), then the breakdown,
then the **task steps** of a turn: how many times each task was resumed by the event loop
(:class:`StepCounter`), labelled by where it was waiting. Every resumption costs a loop
callback and a walk down the task's coroutine stack, so a hop added to a turn shows up here
first (an extra reader, a command node, a ``sleep(0)`` loop), whatever the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import math
import pstats
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

import anyio

from . import turn_cost
from .common import Settings
from .report import machine, render

__all__ = ["Breakdown", "StepCounter", "count_steps", "main", "profile_voicegraph"]

_ROOT = Path(__file__).resolve().parents[1]
_PACKAGES = ("graph", "runner", "nodes", "viz", "voicegraph")


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Self time per group (seconds per turn) and the hottest functions."""

    turns: int
    groups: list[tuple[str, float]]
    functions: list[tuple[str, float, float, float]]
    """``(function, self us per turn, cumulative us per turn, calls per turn)``."""

    def render(self, top: int = 25) -> str:
        """The breakdown as two short tables."""
        total = sum(s for _, s in self.groups) or math.nan
        out = [
            f"breakdown under cProfile ({self.turns} turns; cProfile inflates every call: "
            "read the shares)",
            "",
            f"  {'self time by module / package':<52} {'us/turn':>9} {'share':>6}",
        ]
        for name, sec in self.groups[:top]:
            out.append(f"  {name:<52} {sec * 1e6:9.1f} {sec / total:6.1%}")
        out += [
            "",
            f"  {'hottest functions (by self time)':<60} {'self us':>8} {'cum us':>8} {'calls':>7}",
        ]
        for name, own, cum, calls in self.functions[:top]:
            out.append(f"  {name[:60]:<60} {own:8.1f} {cum:8.1f} {calls:7.1f}")
        return "\n".join(out)


def group_of(filename: str) -> str:
    """A voicegraph module (``vg runner/_edge``), a package (``pydantic``), or a builtin."""
    if filename.startswith(("~", "<")):
        return "builtins (C functions, frozen modules)"
    path = Path(filename)
    try:
        rel: Path | None = path.resolve().relative_to(_ROOT)
    except ValueError:
        rel = None
    if rel is not None and rel.parts and rel.parts[0] in _PACKAGES:
        return "vg " + str(rel.with_suffix(""))
    if rel is not None and rel.parts and rel.parts[0] == "benchmarks":
        return "benchmark (the LLM stub)"
    parts = path.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            inside = parts[parts.index(marker) + 1 :]
            if inside[0] == "voicegraph" and len(inside) > 1:
                # an installed (non-editable) voicegraph: name it as in the checkout
                rest = inside[1:] if inside[1] in _PACKAGES else inside
                return "vg " + str(Path(*rest).with_suffix(""))
            return inside[0].removesuffix(".py")
    if "asyncio" in parts:
        return "asyncio (stdlib)"
    return f"stdlib {path.stem}"


def _function_name(key: tuple[str, int, str]) -> str:
    filename, line, func = key
    group = group_of(filename)
    if group.startswith("builtins"):
        return func
    return f"{group.removeprefix('vg ')}:{line} {func}"


async def profile_voicegraph(clock: str, warmup: int, turns: int) -> Breakdown:
    """Run ``turn_cost``'s turns with cProfile on during the measured ones; aggregate."""
    profiler = cProfile.Profile()
    await turn_cost.run_turns(clock, warmup, turns, profiler)
    # {(file, line, func): (cc, nc, tt, ct, callers)}; undocumented, so not in typeshed
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    groups: dict[str, float] = defaultdict(float)
    functions: list[tuple[str, float, float, float]] = []
    for key, (_cc, nc, tt, ct, _callers) in stats.items():
        groups[group_of(key[0])] += tt / turns
        functions.append((_function_name(key), tt / turns * 1e6, ct / turns * 1e6, nc / turns))
    functions.sort(key=lambda f: f[1], reverse=True)
    groups_sorted = sorted(groups.items(), key=lambda g: g[1], reverse=True)
    return Breakdown(turns, groups_sorted, functions)


class StepCounter:
    """Count the event loop's callbacks (task resumptions) while enabled, by label.

    A task's step is labelled with the innermost frames of the coroutine chain it resumes
    (where it was waiting), e.g. ``AgentController._read``; any other callback by its name.
    It wraps ``asyncio.Handle._run`` while enabled (a diagnostic for benchmarks and
    tests, not for production); ``enable``/``disable`` as a ``cProfile.Profile``, so
    ``turn_cost.run_turns`` can run it around each measured turn.
    """

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth
        self.steps: dict[str, int] = defaultdict(int)
        self._original: Any = None

    @property
    def total(self) -> int:
        """Steps counted so far."""
        return sum(self.steps.values())

    def enable(self) -> None:
        """Start counting (the loop's callbacks from now on)."""
        if self._original is not None:
            return
        original = asyncio.Handle._run
        counter = self

        def _run(handle: asyncio.Handle) -> None:
            counter.steps[counter.label(handle)] += 1
            original(handle)

        self._original = original
        asyncio.Handle._run = _run  # type: ignore[method-assign,assignment]

    def disable(self) -> None:
        """Stop counting."""
        if self._original is not None:
            asyncio.Handle._run = self._original  # type: ignore[method-assign]
            self._original = None

    def label(self, handle: asyncio.Handle) -> str:
        """Where the callback of ``handle`` resumes."""
        callback = handle._callback  # type: ignore[attr-defined]
        task = getattr(callback, "__self__", None)
        if not isinstance(task, asyncio.Task):
            return f"callback {getattr(callback, '__qualname__', repr(callback))}"
        codes: list[CodeType] = []
        awaited: Any = task.get_coro()
        while awaited is not None:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
            if frame is None:
                break
            if group_of(frame.f_code.co_filename).startswith("vg "):
                codes.append(frame.f_code)
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
        names = [code.co_qualname for code in codes[-self.depth :]]
        return "task " + (
            " > ".join(names) if names else getattr(task.get_coro(), "__qualname__", "?")
        )

    def render(self, turns: int) -> str:
        """Steps per turn by label, as a short table."""
        out = [
            f"task steps per turn ({turns} turns; {self.total / turns:.1f} a turn): "
            "where each resumed task was waiting",
            "",
        ]
        for name, n in sorted(self.steps.items(), key=lambda kv: -kv[1]):
            out.append(f"  {name[:88]:<88} {n / turns:6.2f}")
        return "\n".join(out)


async def count_steps(clock: str, warmup: int, turns: int) -> StepCounter:
    """Run ``turn_cost``'s turns, counting the loop's task steps during the measured ones."""
    counter = StepCounter()
    await turn_cost.run_turns(clock, warmup, turns, counter)
    return counter


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.turn_breakdown``: ``turn_cost``'s rows, then the breakdown."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.turn_breakdown")
    parser.add_argument("--quick", action="store_true", help="3 warm-up + 20 measured turns")
    parser.add_argument("--peers", help="a Python with pipecat-ai and livekit-agents installed")
    parser.add_argument("--clock", choices=("real", "virtual"), default="real",
                        help="the clock of the profiled session (default real)")  # fmt: skip
    parser.add_argument("--top", type=int, default=25, help="rows per table (default 25)")
    args = parser.parse_args(argv)
    turn_cost.set_peers_python(args.peers)
    settings = Settings.for_mode(args.quick)
    rows = anyio.run(turn_cost.run, settings)
    print(f"machine: {machine()}")
    print(render(rows, {turn_cost.SECTION: turn_cost.NOTE}))
    warmup, turns = turn_cost.sizes(settings)
    breakdown = anyio.run(profile_voicegraph, args.clock, warmup, turns)
    print()
    print(f"{args.clock} clock, " + breakdown.render(args.top))
    counter = anyio.run(count_steps, args.clock, warmup, turns)
    print()
    print(f"{args.clock} clock, " + counter.render(turns))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark 5 — the cost of a text-only agent turn, and where it goes.

A turn is ``await session.run(user_input=...)`` on an :class:`AgentSession` with no audio (the
session's graph is ``agent -> llm -> tools``), whose LLM yields 20 text chunks with no delay
and no await between them. 10 warm-up turns, then 100 measured turns (quick: 3 + 20) in one
session, so the chat history grows by two messages a turn, as it does in a real conversation.
Figures are wall-clock ``perf_counter`` times around each ``run`` call: median, p90, mean.

voicegraph runs on the ``RealClock`` (what a spoken turn pays) and on the ``VirtualClock``
(what every test pays). The peers, Pipecat and LiveKit Agents, are measured the same way by
``turn_cost_peers.py`` in a subprocess with another interpreter (``--peers PYTHON``; they are
not dependencies of voicegraph). Without ``--peers`` only voicegraph is reported and the
table says the baselines were not measured.

The breakdown of where a turn's time goes is ``turn_breakdown.py``; run both alone with::

    python -m benchmarks.turn_breakdown [--quick] [--peers /tmp/peers-venv/bin/python]
"""

from __future__ import annotations

import gc
import json
import math
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import anyio

from voicegraph.graph import Clock
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.llm import ChatContext, LLMChunk, LLMEngine
from voicegraph.nodes.tools import FunctionTool
from voicegraph.runner import RealClock, VirtualClock

from .common import Row, Settings, at_most, mean, median, percentile

__all__ = [
    "CHUNKS",
    "NOTE",
    "Probe",
    "SECTION",
    "TwentyChunks",
    "measure_peer",
    "measure_voicegraph",
    "run",
    "run_turns",
    "set_peers_python",
    "sizes",
]

SECTION = "5. text-only turn cost"
NOTE = (
    "await session.run(user_input=...) with no audio; the LLM yields 20 chunks, no delay; "
    "10 warm-up + 100 measured turns in one session (quick: 3 + 20); baselines: (a) Pipecat "
    "(pipeline task: user context aggregator -> LLM service -> assistant aggregator), "
    "(b) LiveKit Agents (AgentSession.run, text only), each in a subprocess with --peers"
)

CHUNKS = 20
WORDS = tuple(f" word{i}" for i in range(CHUNKS))
"""The reply: 20 chunks of one word each (the same text in every framework)."""

PEERS_SCRIPT = Path(__file__).with_name("turn_cost_peers.py")
PEER_NAMES = ("pipecat", "livekit")
_PEER_TIMEOUT = 300.0

_peers_python: str | None = None


def set_peers_python(python: str | None) -> None:
    """Measure the peers with this interpreter (a venv with pipecat-ai and livekit-agents)."""
    global _peers_python
    _peers_python = python


def sizes(settings: Settings) -> tuple[int, int]:
    """``(warm-up turns, measured turns)`` for a run."""
    return (3, 20) if settings.quick else (10, 100)


class TwentyChunks(LLMEngine):
    """An LLM engine that replies with :data:`WORDS`, one chunk each, without awaiting."""

    async def generate(
        self, chat: ChatContext, tools: Sequence[FunctionTool], *, step: int = 0
    ) -> AsyncIterator[LLMChunk]:
        for word in WORDS:
            yield LLMChunk(text=word, completion_tokens=1)


def _clock(kind: str) -> Clock:
    return VirtualClock() if kind == "virtual" else RealClock()


class Probe(Protocol):
    """What ``run_turns`` switches on around each measured turn (a ``cProfile.Profile``)."""

    def enable(self) -> None: ...
    def disable(self) -> None: ...


async def run_turns(
    clock: str, warmup: int, turns: int, profiler: Probe | None = None
) -> list[float]:
    """Run ``warmup + turns`` text turns in one session; the measured turns' seconds.

    With ``profiler`` (a ``cProfile.Profile``, or any :class:`Probe`), it is enabled around
    each measured turn only.
    """
    times: list[float] = []
    async with AgentSession(llm=TwentyChunks(), clock=_clock(clock)) as session:
        await session.start(Agent(instructions="You are a benchmark."))
        for i in range(warmup):
            await session.run(user_input=f"warm-up {i}")
        gc.collect()
        for i in range(turns):
            if profiler is not None:
                profiler.enable()
            t0 = time.perf_counter()
            result = await session.run(user_input=f"turn {i}")
            times.append(time.perf_counter() - t0)
            if profiler is not None:
                profiler.disable()
            if i == 0:
                _check_reply(result)
    return times


def _check_reply(result: Any) -> None:
    """The turn did reply with the 20 chunks (so the figure is not the cost of a no-op)."""
    texts = [getattr(getattr(e, "item", None), "text", None) for e in result.events]
    if "".join(WORDS) not in texts and "".join(WORDS).strip() not in texts:
        raise RuntimeError(f"turn_cost: the agent did not reply with the 20 chunks: {texts!r}")


async def measure_voicegraph(clock: str, warmup: int, turns: int) -> list[float]:
    """Seconds per measured turn of voicegraph on the ``"real"`` or ``"virtual"`` clock."""
    return await run_turns(clock, warmup, turns)


def measure_peer(python: str, name: str, warmup: int, turns: int) -> list[float] | str:
    """Seconds per measured turn of peer ``name`` (run by ``python``), or why it failed."""
    cmd = [python, str(PEERS_SCRIPT), name, "--warmup", str(warmup), "--turns", str(turns)]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=_PEER_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{name}: {exc}"
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{name}: exit status {done.returncode}: {tail}"
    try:
        payload = json.loads(done.stdout.strip().splitlines()[-1])
        return [float(x) for x in payload["seconds"]]
    except (ValueError, KeyError, IndexError) as exc:
        return f"{name}: unreadable output ({exc})"


def _stats(times: list[float] | None) -> tuple[float | None, float | None, float | None]:
    if not times:
        return None, None, None
    ms = [t * 1e3 for t in times]
    return median(ms), percentile(ms, 90), mean(ms)


def _part(times: list[float] | None, part: slice) -> list[float] | None:
    return None if times is None else times[part]


async def run(settings: Settings) -> list[Row]:
    """Measure voicegraph (both clocks) and, with ``--peers``, Pipecat and LiveKit Agents."""
    warmup, turns = sizes(settings)
    peers: dict[str, list[float] | None] = dict.fromkeys(PEER_NAMES)
    problems: list[str] = []
    if _peers_python is not None:
        for name in PEER_NAMES:
            got = await anyio.to_thread.run_sync(measure_peer, _peers_python, name, warmup, turns)
            if isinstance(got, str):
                problems.append(got)
            else:
                peers[name] = got
    real = await measure_voicegraph("real", warmup, turns)
    virtual = await measure_voicegraph("virtual", warmup, turns)

    pc, lk = _stats(peers["pipecat"]), _stats(peers["livekit"])
    rows: list[Row] = []
    for label, times in (("RealClock", real), ("VirtualClock", virtual)):
        vg = _stats(times)
        for i, stat in enumerate(("median", "p90", "mean")):
            row = Row(SECTION, f"{label}: turn, {stat}", "ms", vg[i])
            if label == "RealClock":  # the peers run on real time only
                row.base_a, row.base_b = pc[i], lk[i]
            rows.append(row)
    # the cost's growth with the history: the first and the last tenth of the measured turns
    tenth = max(1, turns // 10)
    for label, part in (
        (f"first {tenth}", slice(None, tenth)),
        (f"last {tenth}", slice(-tenth, None)),
    ):
        rows.append(
            Row(
                SECTION,
                f"RealClock: median of the {label} turns",
                "ms",
                _stats(real[part])[0],
                _stats(_part(peers["pipecat"], part))[0],
                _stats(_part(peers["livekit"], part))[0],
            )
        )
    head = rows[0]
    head.target = "<= 0.6 ms"
    head.verdict = at_most(head.vg or math.nan, 0.6, "ms")
    ratio = head.ratio(head.base_a)
    judged = Row(
        SECTION,
        "RealClock median / Pipecat median",
        "x",
        ratio,
        target="<= 0.5x Pipecat",
        verdict=at_most(ratio if ratio is not None else math.nan, 0.5, "x"),
    )
    if _peers_python is None:
        judged.verdict = "n/a: peers not measured (pass --peers PYTHON)"
    elif problems:
        judged.verdict = "n/a: " + "; ".join(problems)
    rows.append(judged)
    return rows

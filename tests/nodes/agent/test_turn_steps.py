"""A text turn's task steps: the guard rail of the per-turn cost (issue 12 §4).

Wall time depends on the machine; the number of times the event loop resumes a task during
a turn does not, and every resumption costs a loop callback and a walk down a coroutine
stack. A hop added to a turn (an extra reader wake, a ``sleep(0)`` loop, another node on
the command path) shows up here first. ``python -m benchmarks.turn_breakdown`` prints the
same count by task.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.runner import VirtualClock

ROOT = Path(__file__).resolve().parents[3]


def bench(name: str) -> ModuleType:
    """``benchmarks.<name>`` from the checkout (benchmarks/ is not in the installed package)."""
    sys.path.insert(0, str(ROOT))
    try:
        return __import__(f"benchmarks.{name}", fromlist=["_"])
    finally:
        sys.path.remove(str(ROOT))


TURNS = 10
STEP_BUDGET = 16
"""Task steps a text turn may take (15 when written: the session's command node, the
controller, the scheduler, the LLM, the session's bus reader and ``run`` itself)."""
_CLOCK_DRIVER = "task VirtualClock._drive"  # the virtual clock's own task (not a turn's work)


async def _count(turns: int) -> tuple[Any, list[str]]:
    counter = bench("turn_breakdown").StepCounter()
    TwentyChunks = bench("turn_cost").TwentyChunks
    texts: list[str] = []
    async with AgentSession(llm=TwentyChunks(), clock=VirtualClock()) as session:
        await session.start(Agent(instructions="Count my steps."))
        for i in range(3):
            await session.run(user_input=f"warm-up {i}")
        for i in range(turns):
            counter.enable()
            try:
                result = await session.run(user_input=f"turn {i}")
            finally:
                counter.disable()
            texts += [e.item.text for e in result.events if hasattr(e, "item")]
    return counter, texts


async def test_a_text_turn_takes_a_bounded_number_of_task_steps() -> None:
    counter, texts = await _count(TURNS)
    words = bench("turn_cost").WORDS
    assert [t.strip() for t in texts] == ["".join(words).strip()] * TURNS  # each turn replied
    steps = {k: v for k, v in counter.steps.items() if k != _CLOCK_DRIVER}
    per_turn = sum(steps.values()) / TURNS
    table = "\n".join(
        f"{n / TURNS:6.2f} {k}" for k, n in sorted(steps.items(), key=lambda kv: -kv[1])
    )
    assert per_turn <= STEP_BUDGET, f"{per_turn:.1f} task steps a turn:\n{table}"


async def test_the_session_reader_wakes_at_most_once_per_batch_of_events() -> None:
    """Each wake of the session's bus reader is one step (no second yield after a wake), and
    ``run()`` catches up by draining, without ``sleep(0)`` rounds."""
    counter, _ = await _count(3)
    reader = sum(n for k, n in counter.steps.items() if "AgentSession._read_events" in k)
    idle = sum(n for k, n in counter.steps.items() if "AgentSession.run" in k)
    assert reader <= 4 * 3, counter.render(3)
    assert idle == 3, counter.render(3)

"""Job entrypoints that start an AgentSession and return, as every LiveKit entrypoint does
(run in spawned job processes by test_job_lifetime). Metadata is JSON: ``out`` a folder for
the records, ``release`` a file whose appearance closes the session."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.runner.worker import JobContext, get_job_context


def _out(ctx: JobContext) -> Path:
    return Path(json.loads(ctx.metadata)["out"])


def _record(ctx: JobContext, name: str, **data: Any) -> None:
    path = _out(ctx) / f"{ctx.job_id}.{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


async def session_then_return(ctx: JobContext) -> None:
    """Start a session, answer one turn, return; the session closes when ``release`` exists."""
    release = Path(json.loads(ctx.metadata)["release"])
    session: AgentSession[None] = AgentSession(llm=ScriptedLLM(replies=["Hello there."]))
    await session.start(Agent(instructions="Be brief."))
    await session.run(user_input="hi")

    async def no_reason() -> None:
        _record(ctx, "callback0", same_job=get_job_context() is ctx)

    def with_reason(reason: str) -> None:
        _record(ctx, "callback1", reason=reason)

    ctx.add_shutdown_callback(no_reason)
    ctx.add_shutdown_callback(with_reason)

    async def close_on_release() -> None:
        while not release.exists():
            await asyncio.sleep(0.02)
        await session.aclose()

    asyncio.get_running_loop().create_task(close_on_release())
    _record(ctx, "returned")


async def save_report(ctx: JobContext) -> None:
    """``on_session_end``: the session report, as LiveKit's examples save it."""
    report = ctx.make_session_report()
    data = report.to_dict()
    _record(
        ctx,
        "report",
        job_id=data["job_id"],
        types=[e["type"] for e in data["events"]],
        texts=[m.text for m in report.chat_history.messages if m.role != "system"],
        callbacks_ran=(_out(ctx) / f"{ctx.job_id}.callback1.json").exists(),
    )

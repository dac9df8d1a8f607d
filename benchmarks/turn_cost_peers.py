"""The peers' side of ``turn_cost.py``: one text-only turn in Pipecat or LiveKit Agents.

Run by ``turn_cost.py`` with the interpreter given as ``--peers`` (a venv with
``pip install pipecat-ai livekit-agents``); it imports neither voicegraph nor the rest of
``benchmarks``, so it runs as a plain script::

    /tmp/peers-venv/bin/python benchmarks/turn_cost_peers.py pipecat --warmup 10 --turns 100

It prints one JSON line, ``{"framework": ..., "version": ..., "seconds": [...]}``, the
wall-clock seconds of each measured turn. Each framework gets what voicegraph gets: an LLM
that yields the same 20 one-word chunks with no delay, no audio, one conversation whose
history grows by a user and an assistant message per turn.

* **Pipecat**: a ``PipelineTask`` running ``user context aggregator -> LLM -> assistant
  context aggregator -> end``. The LLM is a ``FrameProcessor`` that answers each context
  frame with ``LLMFullResponseStartFrame``, 20 ``LLMTextFrame`` and ``LLMFullResponseEndFrame``
  (what an ``LLMService`` pushes). A turn is ``task.queue_frames([LLMMessagesAppendFrame(
  [user message], run_llm=True)])`` until the ``LLMContextAssistantTurnFrame`` the assistant
  aggregator sends once the reply is in the context reaches the end of the pipeline (the
  closest Pipecat has to "send this user text and let the agent answer").
* **LiveKit Agents**: ``AgentSession(llm=...)`` with no room, ``session.run(user_input=...)``
  (LiveKit's own text test mode). The LLM is an ``llm.LLM`` whose stream sends the 20
  ``ChatChunk`` deltas.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import time
import warnings
from importlib.metadata import version
from typing import Any

CHUNKS = 20
WORDS = tuple(f" word{i}" for i in range(CHUNKS))


async def pipecat_turns(warmup: int, turns: int) -> list[float]:
    """Seconds per measured Pipecat turn."""
    from loguru import logger

    logger.remove()  # pipecat logs every frame processor's start at DEBUG
    from pipecat.frames.frames import (
        Frame,
        LLMContextAssistantTurnFrame,
        LLMContextFrame,
        LLMFullResponseEndFrame,
        LLMFullResponseStartFrame,
        LLMMessagesAppendFrame,
        LLMTextFrame,
    )
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.runner import PipelineRunner
    from pipecat.pipeline.task import PipelineParams, PipelineTask
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

    class TwentyChunks(FrameProcessor):  # type: ignore[misc]
        async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
            await super().process_frame(frame, direction)
            if isinstance(frame, LLMContextFrame):
                await self.push_frame(LLMFullResponseStartFrame())
                for word in WORDS:
                    await self.push_frame(LLMTextFrame(word))
                await self.push_frame(LLMFullResponseEndFrame())
            else:
                await self.push_frame(frame, direction)

    done = asyncio.Event()

    class EndOfTurn(FrameProcessor):  # type: ignore[misc]
        async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
            await super().process_frame(frame, direction)
            await self.push_frame(frame, direction)
            if isinstance(frame, LLMContextAssistantTurnFrame):  # the reply is in the context
                done.set()

    context = LLMContext([{"role": "system", "content": "You are a benchmark."}])
    pair = LLMContextAggregatorPair(context)
    pipeline = Pipeline([pair.user(), TwentyChunks(), pair.assistant(), EndOfTurn()])
    task = PipelineTask(pipeline, params=PipelineParams(), enable_rtvi=False)
    runner = PipelineRunner(handle_sigint=False)
    running = asyncio.create_task(runner.run(task))

    async def turn(text: str) -> None:
        done.clear()
        message = {"role": "user", "content": text}
        await task.queue_frames([LLMMessagesAppendFrame(messages=[message], run_llm=True)])
        await done.wait()

    times = await _measure(turn, warmup, turns)
    replies = [m for m in context.get_messages() if m.get("role") == "assistant"]
    if len(replies) != warmup + turns or "".join(WORDS).strip() not in str(replies[-1]):
        raise RuntimeError(f"pipecat: {len(replies)} replies, last {replies[-1:]!r}")
    await task.cancel()
    await running
    return times


async def livekit_turns(warmup: int, turns: int) -> list[float]:
    """Seconds per measured LiveKit Agents turn."""
    from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, Agent, AgentSession, llm

    class TwentyChunksStream(llm.LLMStream):  # type: ignore[misc]
        async def _run(self) -> None:
            for word in WORDS:
                self._event_ch.send_nowait(
                    llm.ChatChunk(id="bench", delta=llm.ChoiceDelta(role="assistant", content=word))
                )

    class TwentyChunks(llm.LLM):  # type: ignore[misc]
        def chat(
            self,
            *,
            chat_ctx: Any,
            tools: Any = None,
            conn_options: Any = DEFAULT_API_CONNECT_OPTIONS,
            **_: Any,
        ) -> Any:
            return TwentyChunksStream(
                self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
            )

    async with TwentyChunks() as model, AgentSession(llm=model) as session:
        await session.start(Agent(instructions="You are a benchmark."))
        last: list[Any] = []

        async def turn(text: str) -> None:
            last[:] = [await session.run(user_input=text)]

        times = await _measure(turn, warmup, turns)
        said = [getattr(getattr(e, "item", None), "text_content", None) for e in last[0].events]
        if "".join(WORDS) not in said and "".join(WORDS).strip() not in said:
            raise RuntimeError(f"livekit: the last turn said {said!r}")
    return times


async def _measure(turn: Any, warmup: int, turns: int) -> list[float]:
    for i in range(warmup):
        await turn(f"warm-up {i}")
    gc.collect()
    times: list[float] = []
    for i in range(turns):
        t0 = time.perf_counter()
        await turn(f"turn {i}")
        times.append(time.perf_counter() - t0)
    return times


PEERS = {
    "pipecat": (pipecat_turns, "pipecat-ai"),
    "livekit": (livekit_turns, "livekit-agents"),
}


def main() -> int:
    """Measure one peer and print the JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("framework", choices=sorted(PEERS))
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--turns", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore", DeprecationWarning)  # Pipecat 1.x renames its task/runner
    measure, dist = PEERS[args.framework]
    seconds = asyncio.run(measure(args.warmup, args.turns))
    print(json.dumps({"framework": args.framework, "version": version(dist), "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which agent the playground runs: the standard voice agent, or the user's.

``voicegraph playground [TARGET]`` accepts as ``TARGET`` (``path/to/file.py`` or a module,
then ``:attribute``):

* nothing: the standard voice agent on the embedded models (``AgentSession()``: Silero VAD,
  Whisper, SmolLM2, hibari) with short, spoken-style instructions;
* an ``AgentServer`` or an ``async def entrypoint(ctx)``: exactly what ``voicegraph console``
  runs (the module's ``server`` or ``entrypoint`` when no attribute is named); the
  entrypoint starts its session with ``session.start(agent, room=ctx.room)``;
* an ``Agent`` subclass, or a plain function returning a new ``Agent``: run in the
  standard session (embedded models unless the agent names its own).

Each browser tab is its own session and gets its own agent, so an ``Agent`` *instance* is
refused: name its class or a function that builds it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voicegraph.graph import ConfigError
from voicegraph.nodes.agent import Agent, AgentSession, agent_factory
from voicegraph.runner.worker import AgentServer, JobContext, load_server

__all__ = ["DEFAULT_INSTRUCTIONS", "agent_server"]

DEFAULT_INSTRUCTIONS = (
    "You are a friendly voice assistant. Answer in one or two short spoken sentences, "
    "without lists, markdown or emojis."
)
"""The standard playground agent's instructions."""


def _standard_agent() -> Agent:
    return Agent(instructions=DEFAULT_INSTRUCTIONS)


def session_server(make_agent: Callable[[], Agent]) -> AgentServer:
    """An :class:`AgentServer` whose jobs run ``make_agent()`` in the standard session."""

    async def entrypoint(ctx: JobContext) -> None:
        session: AgentSession[Any] = AgentSession()
        await session.start(make_agent(), room=ctx.room)

    return AgentServer(entrypoint)


def agent_server(target: str | None) -> AgentServer:
    """The :class:`AgentServer` for ``target`` (see the module docstring).

    Raises:
        ConfigError: the target cannot be loaded or is not one of the accepted kinds.
    """
    if target is None:
        return session_server(_standard_agent)
    try:
        return load_server(target)
    except ConfigError as not_a_server:
        spec, _, attr = target.partition(":")
        module_name = Path(spec).stem if spec.endswith(".py") else spec
        try:
            obj = getattr(importlib.import_module(module_name), attr) if attr else None
        except (ImportError, AttributeError):
            raise not_a_server from None
        try:
            factory = agent_factory(obj, target, "browser tab")
        except ConfigError as exc:
            raise exc from None  # its own error, not chained to the AgentServer attempt
        if isinstance(factory, type):
            return session_server(factory)
        if factory is not None:
            made = factory

            def make_agent() -> Agent:
                agent = made()
                if not isinstance(agent, Agent):
                    raise ConfigError(f"{target!r} returned a {type(agent).__name__}, not an Agent")
                return agent

            return session_server(make_agent)
        raise ConfigError(
            f"{target!r} is a {type(obj).__name__}: expected an AgentServer, an "
            "`async def entrypoint(ctx)`, an Agent class or a function returning an Agent"
        ) from None

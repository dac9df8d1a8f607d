"""Which agent an eval runs: the standard voice agent, or the user's ``module:attribute``."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voicegraph.graph import Clock, ConfigError
from voicegraph.nodes.agent import Agent, AgentSession, agent_factory

__all__ = ["load_agent", "standard_agent", "standard_session"]


def standard_agent() -> Agent:
    """The standard voice agent: the playground's instructions (short spoken answers)."""
    from voicegraph.playground import DEFAULT_INSTRUCTIONS

    return Agent(instructions=DEFAULT_INSTRUCTIONS)


def standard_session(clock: Clock) -> AgentSession[Any]:
    """The standard session on the embedded models (Silero VAD, Whisper tiny.en, the
    heuristic turn detector, SmolLM2, hibari), as ``voicegraph run`` and the playground run
    it, on ``clock``."""
    return AgentSession(clock=clock)


def load_agent(target: str) -> Callable[[], Agent]:
    """The agent factory named by ``module:attribute`` (the current folder is importable):
    an ``Agent`` subclass or a function returning a new ``Agent``. Each file gets its own
    agent, so an ``Agent`` instance is refused.

    Raises:
        ConfigError: the target cannot be imported or is not one of those.
    """
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"--agent: expected module:attribute, got {target!r}")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"--agent: cannot load {target!r}: {exc}") from None
    factory = agent_factory(obj, target, "recording")
    if factory is not None:
        return factory
    raise ConfigError(
        f"{target!r} is a {type(obj).__name__}: expected an Agent class or a function "
        "returning an Agent"
    )

""":func:`mock_tools`: replace an agent class's tools in tests, as LiveKit Agents' ``mock_tools``.

::

    with mock_tools(Receptionist, {"book": lambda time: "Fully booked."}):
        result = await session.run(user_input="A table at 7 please")
    result.expect.contains_function_call_output(output="Fully booked.")
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from voicegraph.graph import Clock, ConfigError
from voicegraph.nodes.tools import FunctionTool

from ._agent import Agent

__all__ = ["mock_tools", "mocked"]

_active: list[tuple[type[Agent], dict[str, Callable[..., Any]]]] = []


@contextmanager
def mock_tools(agent: type[Agent], mocks: Mapping[str, Callable[..., Any]]) -> Iterator[None]:
    """Within the block, calls of the tools named in ``mocks`` made for an agent of class
    ``agent`` (or a subclass) run the fake instead of the tool.

    The LLM still sees the real tool (its name, description and schema), and the call's
    arguments are validated against it; the fake receives those of them its signature
    names (and, for a parameter named ``context`` or annotated ``RunContext``, the call's
    context). It may be sync or async; what it returns or raises is the tool's result.
    Blocks nest: the innermost mock of a tool wins.

    Raises:
        ConfigError: ``agent`` is not an ``Agent`` class, or a mock is not callable.
    """
    if not (isinstance(agent, type) and issubclass(agent, Agent)):
        raise ConfigError(f"mock_tools() takes an Agent class, got {agent!r}")
    for name, fake in mocks.items():
        if not callable(fake):
            raise ConfigError(f"mock_tools(): the mock of {name!r} is not callable: {fake!r}")
    entry = (agent, dict(mocks))
    _active.append(entry)
    try:
        yield
    finally:
        _active.remove(entry)


def mocked(agent: Agent | None, tool: FunctionTool) -> FunctionTool:
    """``tool``, or its mock for ``agent`` if a :func:`mock_tools` block names it."""
    if agent is None:
        return tool
    for cls, mocks in reversed(_active):
        fake = mocks.get(tool.name)
        if fake is not None and isinstance(agent, cls):
            return _MockedTool(tool, fake)
    return tool


class _MockedTool(FunctionTool):
    """``tool`` as the LLM sees it, running ``fake``."""

    def __init__(self, tool: FunctionTool, fake: Callable[..., Any]) -> None:
        super().__init__(tool.fn, name=tool.name, description=tool.description,
                         timeout=tool.timeout)  # fmt: skip
        self.fake = fake
        params = inspect.signature(fake).parameters.values()
        self._any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        self._names = {p.name for p in params}
        self._context = [
            p.name for p in params
            if p.name == "context" or "RunContext" in str(p.annotation)
        ]  # fmt: skip

    async def invoke(
        self, arguments: str = "{}", *, clock: Clock | None = None, context: Any = None
    ) -> Any:
        kwargs = self.validate_arguments(arguments)
        kwargs = {k: v for k, v in kwargs.items() if self._any or k in self._names}
        for name in self._context:
            kwargs[name] = context
        result = self.fake(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

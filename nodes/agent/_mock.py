""":func:`mock_tools`: replace an agent class's tools in tests, as LiveKit Agents' ``mock_tools``.

::

    with mock_tools(Receptionist, {"book": lambda time: "Fully booked."}):
        result = await session.run(user_input="A table at 7 please")
    result.expect.contains_function_call_output(output="Fully booked.")
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, overload

from voicegraph.graph import Clock, ConfigError
from voicegraph.nodes.tools import FunctionTool

from ._agent import Agent

if TYPE_CHECKING:
    from ._session import AgentSession

__all__ = ["mock_tools", "mocked"]

_active: list[tuple[type[Agent], dict[str, Callable[..., Any]]]] = []
_per_session: weakref.WeakKeyDictionary[Any, dict[type[Agent], dict[str, Callable[..., Any]]]] = (
    weakref.WeakKeyDictionary()
)


@overload
def mock_tools(
    agent: type[Agent], mocks: Mapping[str, Callable[..., Any]]
) -> AbstractContextManager[None]: ...


@overload
def mock_tools(
    agent: type[Agent], mocks: Mapping[str, Callable[..., Any]], *, session: AgentSession[Any]
) -> None: ...


def mock_tools(
    agent: type[Agent],
    mocks: Mapping[str, Callable[..., Any]],
    *,
    session: AgentSession[Any] | None = None,
) -> AbstractContextManager[None] | None:
    """Run fakes instead of the tools named in ``mocks`` for agents of class ``agent``
    (exactly that class, as LiveKit matches it), as LiveKit's ``mock_tools``.

    Without ``session``: a context manager; the mocks apply within the ``with`` block (to
    every session). With ``session``: the mocks apply to that session from now on, for its
    lifetime; calling again replaces that set, ``{}`` removes it. A block's mocks win over
    a session's.

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
    if session is not None:
        _per_session.setdefault(session, {})[agent] = dict(mocks)
        return None
    return _block(agent, dict(mocks))


@contextmanager
def _block(agent: type[Agent], mocks: dict[str, Callable[..., Any]]) -> Iterator[None]:
    entry = (agent, mocks)
    _active.append(entry)
    try:
        yield
    finally:
        _active.remove(entry)


def mocked(agent: Agent | None, tool: FunctionTool, session: Any = None) -> FunctionTool:
    """``tool``, or its mock for ``agent`` (in ``session``) if :func:`mock_tools` names it."""
    if agent is None:
        return tool
    for cls, mocks in reversed(_active):
        fake = mocks.get(tool.name)
        if fake is not None and type(agent) is cls:
            return _MockedTool(tool, fake)
    if session is not None:
        fake = _per_session.get(session, {}).get(type(agent), {}).get(tool.name)
        if fake is not None:
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

"""Function tools: a Python function plus the JSON schema an LLM needs to call it.

A tool's argument schema is a pydantic model derived from the function's type hints and its
Google-style docstring (the description before the sections, and one description per argument
from ``Args:``)::

    @function_tool
    async def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        '''Look up the current weather.

        Args:
            city: The city, e.g. "Paris".
            unit: Temperature unit.
        '''
        return f"Sunny, 22 {unit} in {city}"

    await get_weather.call('{"city": "Paris"}')   # 'Sunny, 22 C in Paris'

Sync functions run in a worker thread, async ones on the event loop. Each call has a timeout
(the decorator's ``timeout``, else the caller's, else 10 s).

A parameter annotated with a *context type* (a class with ``__tool_context__ = True``, such as
the agent layer's ``RunContext``) is not part of the schema: the caller passes it with
``context=`` when it runs the tool. Raise :class:`StopResponse` in a tool to record its result
without a follow-up reply from the LLM.
"""

from __future__ import annotations

import inspect
import json
import re
import threading
import typing
from collections.abc import Callable
from typing import Any, overload

import anyio
import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import to_jsonable_python

from voicegraph.graph import Clock, ConfigError, RealClock, ToolCall, ToolResult, deadline

from ._docstring import parse_docstring
from ._errors import StopResponse, ToolArgumentsError, ToolError, ToolTimeoutError
from ._faults import must_propagate, safe_str
from ._results import SilentToolResult

__all__ = [
    "DEFAULT_TOOL_TIMEOUT",
    "FunctionTool",
    "error_result",
    "function_tool",
    "is_tool_context",
    "output_text",
]

DEFAULT_TOOL_TIMEOUT = 10.0
"""Seconds a tool call may take when neither the tool nor the caller sets a timeout."""

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_POLL = 0.05  # seconds between checks while waiting for a sync tool's thread


class FunctionTool:
    """A callable tool with a validated, JSON-schema-described argument model.

    Create it with :func:`function_tool`. Calling the tool object directly (``tool(...)``)
    calls the wrapped function unchanged.

    Attributes:
        fn: the wrapped function (sync or async).
        name: the name the LLM uses (default: the function's name).
        description: what the tool does (default: the docstring's description).
        args_model: the pydantic model of the arguments.
        timeout: seconds per call, or ``None`` to use the caller's (default 10 s).
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if not callable(fn):
            raise ConfigError(
                f"function_tool needs a function, got {fn!r}; decorate a def or pass a callable"
            )
        doc = parse_docstring(inspect.getdoc(fn))
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", ""))
        if not _NAME.match(self.name):
            raise ConfigError(
                f"invalid tool name {self.name!r}: use 1-64 letters, digits, '_' or '-'"
            )
        self.description = description if description is not None else doc.description
        if timeout is not None and timeout <= 0:
            raise ConfigError(f"tool {self.name!r}: timeout must be positive, got {timeout}")
        self.timeout = timeout
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - an object with an async __call__
        )
        self.args_model, self.context_params = _args_model(fn, self.name, doc.args)
        self._positional = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind is inspect.Parameter.POSITIONAL_ONLY
        ]

    def __repr__(self) -> str:
        return f"<FunctionTool {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    # ------------------------------------------------------------------ schema

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments (an ``object`` schema, without titles)."""
        schema: dict[str, Any] = _strip_titles(self.args_model.model_json_schema())
        return schema

    def to_openai(self) -> dict[str, Any]:
        """The tool in OpenAI / llama-cpp ``tools=[...]`` format."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    # ------------------------------------------------------------------ calling

    def validate_arguments(self, arguments: str) -> dict[str, Any]:
        """Parse and validate the LLM's JSON arguments into keyword arguments.

        An empty string counts as ``{}``.

        Raises:
            ToolArgumentsError: the JSON is malformed, not an object, or fails the schema.
        """
        text = arguments.strip() or "{}"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ToolArgumentsError(
                f"tool {self.name!r}: the arguments are not valid JSON ({exc.msg} at "
                f"position {exc.pos}): {_clip(text)}"
            ) from None
        if not isinstance(data, dict):
            raise ToolArgumentsError(
                f"tool {self.name!r}: the arguments must be a JSON object, got {_clip(text)}"
            )
        try:
            model = self.args_model.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ToolArgumentsError(
                f"tool {self.name!r}: invalid arguments {_clip(text)}: {problems}"
            ) from None
        return {field: getattr(model, field) for field in type(model).model_fields}

    async def call(
        self,
        arguments: str = "{}",
        *,
        clock: Clock | None = None,
        timeout: float | None = None,
        context: Any = None,
    ) -> str:
        """Validate ``arguments`` (JSON), run the tool and return its output as text.

        Strings are returned as they are, ``None`` as ``""``, anything else as JSON
        (see :func:`output_text`).

        Args:
            arguments: the arguments as a JSON object string.
            clock: the clock for the timeout and for running sync tools
                (``clock.run_sync``); default real time.
            timeout: seconds allowed when the tool sets none (default 10 s).
            context: the value for the tool's context parameter, if it has one.

        Raises:
            ToolArgumentsError: malformed or invalid arguments.
            ToolTimeoutError: the call took longer than the timeout.
            ToolError: the tool returned a value that cannot be turned into text, or raised a
                ``BaseException`` that is not a cancellation (see :meth:`invoke`).
            Exception: whatever the tool raised (a :class:`ToolError` carries a message for
                the LLM).
        """
        limit = self.timeout or timeout or DEFAULT_TOOL_TIMEOUT

        def timed_out() -> ToolTimeoutError:
            return ToolTimeoutError(f"tool {self.name!r} timed out after {limit:g} s")

        async with deadline(clock or RealClock(), limit, error=timed_out):
            value = await self.invoke(arguments, clock=clock, context=context)
        return output_text(value, tool=self.name)

    async def invoke(
        self, arguments: str = "{}", *, clock: Clock | None = None, context: Any = None
    ) -> Any:
        """Validate ``arguments``, run the tool without a timeout and return what it returned.

        For callers that handle the return value themselves (the agent layer turns a returned
        ``Agent`` into a handoff); :meth:`call` is this plus the timeout and the conversion
        to text.

        A ``BaseException`` that is not an ``Exception`` (such as an ``asyncio.CancelledError``
        the tool raised itself, with its call not cancelled) becomes a :class:`ToolError`
        naming the tool, so it reaches the LLM as an error result like any failure. A real
        cancellation of the call, ``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit``
        propagate unchanged.

        Raises:
            ToolArgumentsError: malformed or invalid arguments.
            ToolError: the tool has a context parameter but no ``context`` was given, or it
                raised a ``BaseException`` that is not a cancellation of the call.
            Exception: whatever the tool raised.
        """
        try:
            return await self._invoke(arguments, clock, context)
        except Exception:
            raise
        except BaseException as exc:
            if await must_propagate(exc):
                raise
            raise ToolError(_failure(self.name, exc)) from exc

    async def _invoke(self, arguments: str, clock: Clock | None, context: Any) -> Any:
        kwargs = self.validate_arguments(arguments)
        if self.context_params:
            if context is None:
                raise ToolError(
                    f"tool {self.name!r} takes a context ({', '.join(self.context_params)}) "
                    "but none was given; run it inside an AgentSession"
                )
            for name in self.context_params:
                kwargs[name] = context
        args = [kwargs.pop(name) for name in self._positional]
        if self.is_async:
            return await self.fn(*args, **kwargs)
        return await run_in_thread(lambda: self.fn(*args, **kwargs), clock)

    async def execute(
        self,
        call: ToolCall,
        *,
        clock: Clock | None = None,
        timeout: float | None = None,
        context: Any = None,
    ) -> ToolResult:
        """Run ``call`` and return its :class:`ToolResult`; errors become error results.

        A tool that raises :class:`StopResponse` gives a :class:`SilentToolResult` (its
        output is ``""``): the LLM records it without replying. Never raises for a failing
        tool, whatever it raises or returns: only a cancellation of the call,
        ``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit`` propagate.
        """
        try:
            output = await self.call(call.arguments, clock=clock, timeout=timeout, context=context)
        except StopResponse:
            return SilentToolResult(call.call_id, call.name, "")
        except Exception as exc:
            return error_result(call, exc, self.name)
        return ToolResult(call.call_id, call.name, output)


@overload
def function_tool(fn: Callable[..., Any], /) -> FunctionTool: ...
@overload
def function_tool(
    *, name: str | None = None, description: str | None = None, timeout: float | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...
def function_tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Turn a sync or async function into a :class:`FunctionTool`.

    Use as ``@function_tool`` or ``@function_tool(name=..., description=..., timeout=...)``.

    Args:
        fn: the function (its type hints and Google-style docstring make the schema).
        name: the tool's name; default the function's name.
        description: the tool's description; default the docstring's description.
        timeout: seconds per call; default ``None`` (the caller's timeout, 10 s by default).

    Raises:
        ConfigError: an invalid name or timeout, or a parameter a JSON schema cannot express.
    """

    def wrap(f: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(f, name=name, description=description, timeout=timeout)

    return wrap(fn) if fn is not None else wrap


# ---------------------------------------------------------------------- helpers


def is_tool_context(hint: Any) -> bool:
    """Whether ``hint`` is a context type (a class, or a generic of one, with
    ``__tool_context__ = True``), which tools receive from their caller, not from the LLM."""
    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and bool(getattr(origin, "__tool_context__", False))


def error_result(call: ToolCall, exc: BaseException, name: str | None = None) -> ToolResult:
    """The error :class:`ToolResult` for a call that raised ``exc``.

    A :class:`ToolError` gives its own message; any other exception
    ``"tool 'x' failed: Type: message"`` (``"tool 'x' failed: Type"`` without a message).
    Never raises, even for an exception whose ``str()`` raises.
    """
    if isinstance(exc, ToolError):
        return ToolResult(call.call_id, call.name, safe_str(exc), is_error=True)
    return ToolResult(call.call_id, call.name, _failure(name or call.name, exc), is_error=True)


def _failure(name: str, exc: BaseException) -> str:
    text = safe_str(exc)
    return f"tool {name!r} failed: {type(exc).__name__}" + (f": {text}" if text else "")


def _args_model(
    fn: Callable[..., Any], name: str, docs: dict[str, str]
) -> tuple[type[BaseModel], list[str]]:
    try:
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn, include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise ConfigError(f"tool {name!r}: cannot read the signature of {fn!r}: {exc}") from None
    fields: dict[str, Any] = {}
    context: list[str] = []
    for param in sig.parameters.values():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise ConfigError(
                f"tool {name!r}: *{param.name} / **{param.name} cannot be described by a JSON "
                "schema; give the tool named parameters"
            )
        hint = hints.get(param.name, Any)
        if is_tool_context(hint):
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                raise ConfigError(
                    f"tool {name!r}: the context parameter {param.name!r} cannot be positional-only"
                )
            context.append(param.name)
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        described = docs.get(param.name)  # None would hide an Annotated[..., Field(description)]
        info = Field(default, description=described) if described else Field(default)
        fields[param.name] = (hint, info)
    config = ConfigDict(extra="ignore")  # small models add stray keys: tolerate them
    try:
        model: type[BaseModel] = create_model(f"{name}_args", __config__=config, **fields)
        model.model_json_schema()
    except Exception as exc:
        raise ConfigError(
            f"tool {name!r}: its parameters cannot be turned into a JSON schema: {exc}"
        ) from None
    return model, context


def _strip_titles(schema: Any) -> Any:
    """Drop pydantic's ``title`` keys (noise in a prompt); property names are kept."""
    if isinstance(schema, list):
        return [_strip_titles(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {k: _strip_titles(v) for k, v in value.items()}
        else:
            out[key] = _strip_titles(value)
    return out


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def output_text(value: Any, *, tool: str | None = None) -> str:
    """A tool's return value as the text the LLM sees.

    Strings as they are, ``None`` as ``""``, pydantic models and anything JSON can express
    as JSON, anything else as ``str(value)``.

    Args:
        value: what the tool returned.
        tool: the tool's name, for the error message.

    Raises:
        ToolError: the value cannot be turned into text (its ``str()`` raised, or a pydantic
            model failed to serialize); the message names the tool and the value's type.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return str.__str__(value)  # a plain str, even from a subclass that overrides __str__
    try:
        if isinstance(value, BaseModel):
            return value.model_dump_json()
        try:
            return json.dumps(to_jsonable_python(value), ensure_ascii=False)
        except Exception:
            return str(value)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # sync code: no cancellation can arrive through it
        who = f"tool {tool!r}" if tool else "a tool"
        raise ToolError(
            f"{who} returned a value of type {type(value).__name__} that cannot be turned "
            "into text "
            f"({type(exc).__name__}: {safe_str(exc)}); return a str, a pydantic model or "
            "JSON-serializable data"
        ) from exc


async def run_in_thread(func: Callable[[], Any], clock: Clock | None = None) -> Any:
    """Run blocking ``func()`` in its own thread; cancellation stops waiting for it.

    The wait goes through ``clock.run_sync`` (so a virtual clock counts the thread as busy)
    in short slices, so a cancel or timeout returns within ~50 ms; the abandoned thread runs
    on until ``func`` returns and its result is discarded (a thread cannot be killed).
    """
    done = threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="voicegraph-tool", daemon=True).start()
    while not done.is_set():
        if clock is not None:
            await clock.run_sync(done.wait, _POLL)
        else:
            await anyio.to_thread.run_sync(done.wait, _POLL)
    if "error" in box:
        raise box["error"]
    return box.get("value")

"""Tools by import path (``"package.module:function"``), so node configs stay serializable."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from voicegraph.graph import ConfigError, check_file_import

from ._tool import FunctionTool, function_tool

__all__ = ["ToolLike", "load_tool", "load_tools", "resolve_tools", "tool_path"]

ToolLike = str | FunctionTool | Callable[..., Any]
"""What a ``tools=[...]`` setting accepts: an import path, a FunctionTool or a function."""


def load_tool(path: str) -> FunctionTool:
    """Import the tool at ``path`` (``"package.module:function"``).

    A plain function found there is wrapped with :func:`function_tool`.

    Raises:
        ConfigError: the path is malformed, the module cannot be imported, or the attribute
            is missing or not callable.
    """
    module_name, sep, qualname = path.partition(":")
    if not sep or not module_name or not qualname:
        raise ConfigError(f"tool {path!r}: expected an import path 'package.module:function'")
    check_file_import(path, what=f"tool {path!r}")  # a graph file names only allowed code
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            f"tool {path!r}: cannot import module {module_name!r} ({type(exc).__name__}: {exc})"
        ) from None
    for attr in qualname.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ConfigError(
                f"tool {path!r}: module {module_name!r} has no attribute {qualname!r}"
            ) from None
    if isinstance(obj, FunctionTool):
        return obj
    if not callable(obj):
        raise ConfigError(f"tool {path!r} is {obj!r}, not a function")
    return function_tool(obj)


def tool_path(tool: FunctionTool | Callable[..., Any]) -> str | None:
    """The import path that :func:`load_tool` turns back into ``tool``, or ``None``.

    Only module-level objects of importable modules have one: functions defined in
    ``__main__``, inside other functions, lambdas and tools whose settings differ from what
    loading the path would give return ``None``.
    """
    fn = tool.fn if isinstance(tool, FunctionTool) else tool
    module_name = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module_name or not qualname or module_name == "__main__" or "<" in qualname:
        return None
    obj: Any = sys.modules.get(module_name)
    if obj is None:
        return None
    for attr in qualname.split("."):
        obj = getattr(obj, attr, None)
    path = f"{module_name}:{qualname}"
    if obj is tool:
        return path
    if obj is fn and isinstance(tool, FunctionTool):
        plain = function_tool(fn)
        same = (plain.name, plain.description, plain.timeout) == (
            tool.name,
            tool.description,
            tool.timeout,
        )
        return path if same else None
    return None


def resolve_tools(items: Iterable[ToolLike]) -> tuple[list[str], list[FunctionTool]]:
    """Split a ``tools=[...]`` setting into import paths and tools that have none.

    Import paths go into a node's (serializable) config; the other tools are kept on the node
    only, so a graph saved to YAML/JSON does not include them.
    """
    paths: list[str] = []
    extra: list[FunctionTool] = []
    for item in items:
        if isinstance(item, str):
            paths.append(item)
            continue
        if not callable(item):
            raise ConfigError(
                f"tools must be import paths, FunctionTools or functions, got {item!r}"
            )
        path = tool_path(item)
        if path is not None:
            paths.append(path)
        else:
            extra.append(item if isinstance(item, FunctionTool) else function_tool(item))
    return paths, extra


def load_tools(paths: Sequence[str], extra: Sequence[FunctionTool] = ()) -> dict[str, FunctionTool]:
    """Load ``paths`` and add ``extra``: the tools by name, in order.

    Raises:
        ConfigError: a path cannot be loaded, or two tools share a name.
    """
    tools: dict[str, FunctionTool] = {}
    for tool in [*(load_tool(p) for p in paths), *extra]:
        if tool.name in tools and tools[tool.name] is not tool:
            raise ConfigError(
                f"two tools are named {tool.name!r}; give one another name with "
                "function_tool(name=...)"
            )
        tools[tool.name] = tool
    return tools

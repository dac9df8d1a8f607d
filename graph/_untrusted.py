"""Limits for loading graph files, which are untrusted input.

A graph file names node types as ``"module:QualName"``. Loading one must not run code the
caller did not choose, nor take unbounded time or memory:

* **Imports.** A type is resolved only in voicegraph's own modules (``voicegraph`` and
  ``voicegraph.*``) and in the modules the caller allows (``allow=["myapp.nodes"]`` allows
  ``myapp.nodes`` and its submodules). Any other module is never imported; the error says
  how to allow it. The class found must be a :class:`Node` subclass defined in a module of
  the same set. Code that a node's config names to be imported and called later (tool import
  paths) is checked with :func:`check_file_import`: only modules the caller allows.
* **Size.** The text may be at most :data:`MAX_TEXT` long; the data may nest at most
  :data:`MAX_DEPTH` containers deep and hold at most :data:`MAX_ITEMS` values (shared
  references count each time they are reached, so a structure that expands exponentially
  is refused after :data:`MAX_ITEMS` steps). YAML anchors and aliases are refused (they are
  how a 300-byte file expands to gigabytes).
* **Messages.** User data quoted in an error is cut short (:func:`short`).
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import reprlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ._errors import ConfigError, GraphError
from ._node import Node
from ._redact import clip

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_TEXT",
    "check_file_import",
    "describe",
    "loading",
    "normalize_allow",
    "resolve_type",
    "shape_problem",
    "short",
    "yaml_loader",
]

OWN = "voicegraph"
"""voicegraph's own top-level package: its node types load without being allowed."""

MAX_DEPTH = 100
"""Most containers (mappings, lists) a graph file may nest inside each other."""

MAX_ITEMS = 1_000_000
"""Most values a graph file may hold (counted as reached, shared references each time)."""

MAX_TEXT = 10_000_000
"""Most characters (or bytes) of graph file text; PyYAML parses about 100 kB a second."""

_ALLOWED: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "voicegraph_graph_file_allow", default=None
)

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlong = 60
for _attr in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset"):
    setattr(_REPR, _attr, 6)


def short(value: Any, limit: int = 200) -> str:
    """``repr(value)`` in at most ``limit`` characters, in time bounded by the limit too."""
    try:
        text = _REPR.repr(value)
    except Exception:  # a broken __repr__ must not hide the problem being reported
        text = f"<{type(value).__name__}>"
    return clip(text, limit)


def describe(exc: BaseException) -> str:
    """``"TypeName: message"``, the message clipped; never raises (even if ``str`` does)."""
    try:
        message = str(exc)
    except Exception:
        message = "(its message cannot be shown)"
    return f"{type(exc).__name__}: {clip(message)}"


# ---------------------------------------------------------------------------- imports


def normalize_allow(allow: Iterable[str] | str) -> tuple[str, ...]:
    """The modules in ``allow`` (a single name is accepted too), checked to be module names.

    Raises:
        GraphError: an entry is not a dotted module name.
    """
    names = (allow,) if isinstance(allow, str) else tuple(allow)
    bad = [n for n in names if not isinstance(n, str) or not _is_module_name(n)]
    if bad:
        raise GraphError(f"allow must list module names such as 'myapp.nodes', got {short(bad)}")
    return names


def _is_module_name(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def _in(module: str, names: Iterable[str]) -> bool:
    return any(module == n or module.startswith(n + ".") for n in names)


def _own(module: str) -> bool:
    return _in(module, (OWN,)) and "__main__" not in module.split(".")


def _how_to_allow(module: str) -> str:
    top = module.split(".")[0]
    return (
        f"if you trust this graph file and module {module!r}, allow it: "
        f"Graph.from_yaml(text, allow=[{top!r}]) (or allow=[{module!r}]; "
        "from_json, from_dict and graph_from_dict take allow= too)"
    )


def resolve_type(ref: str, allow: tuple[str, ...], kind: type[Any] = Node) -> type[Any]:
    """The ``kind`` subclass (a node or engine class) that ``ref`` (``"module:QualName"``)
    names, importing only allowed modules.

    Raises:
        LookupError: saying why ``ref`` does not name an allowed node type.
    """
    module_name, sep, qualname = ref.partition(":")
    if not sep or not module_name or not qualname:
        raise LookupError("expected 'module:QualName'")
    if "<locals>" in qualname:
        raise LookupError("it is defined inside a function")
    if not _is_module_name(module_name) or not _is_module_name(qualname):
        raise LookupError("expected 'module:QualName' made of Python names")
    if any(part.startswith("__") for part in qualname.split(".")):
        raise LookupError("a node type's name cannot start with '__'")
    if not (_own(module_name) or _in(module_name, allow)):
        raise LookupError(
            f"module {module_name!r} is not allowed: a graph file may only name voicegraph's "
            f"node types and those of modules the caller allows; {_how_to_allow(module_name)}"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # an allowed module that fails to import is a reported problem
        raise LookupError(f"cannot import module {module_name!r}: {describe(exc)}") from None
    for attr in qualname.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise LookupError(f"module {module_name!r} has no attribute {qualname!r}") from None
    if not (isinstance(obj, type) and issubclass(obj, kind)):
        raise LookupError(f"it is {short(obj)}, not a {kind.__name__} subclass")
    defined_in = obj.__module__
    if not (_own(defined_in) or _in(defined_in, allow)):
        raise LookupError(
            f"the class is defined in module {defined_in!r}, which is not allowed; "
            f"{_how_to_allow(defined_in)}"
        )
    return obj


@contextmanager
def loading(allow: tuple[str, ...]) -> Iterator[None]:
    """Mark the current context as loading a graph file that allows ``allow``."""
    token = _ALLOWED.set(allow)
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def check_file_import(ref: str, *, what: str) -> None:
    """Refuse to import ``ref`` (``"module:name"``) for a graph file being loaded.

    Nodes call this before importing code their config names by import path, such as tools
    (``LLMNode(tools=["myapp.tools:lookup"])``). While :func:`graph_from_dict`,
    :meth:`Graph.from_yaml` or :meth:`Graph.from_json` builds nodes, only modules the caller
    passed in ``allow=`` (and their submodules) may be named; voicegraph's own modules are
    not allowed by default here, since such a callable runs with arguments chosen at run
    time (a tool's arguments come from the model). Outside loading this does nothing.

    Args:
        ref: the import path, ``"module:name"``.
        what: what names it, for the message (e.g. ``"tool 'x:y'"``).

    Raises:
        ConfigError: a graph file is being loaded and ``ref``'s module is not allowed.
    """
    allow = _ALLOWED.get()
    if allow is None:
        return
    module_name = ref.partition(":")[0]
    if _is_module_name(module_name) and _in(module_name, allow):
        return
    raise ConfigError(
        f"{what}: a graph file may only name code in modules the caller allows, and "
        f"{short(module_name)} is not allowed; {_how_to_allow(module_name)}"
    )


# ---------------------------------------------------------------------------- size


def shape_problem(data: Any) -> str | None:
    """Why ``data`` is too deep or too large to load, or ``None``. Never recurses."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    items = 0
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, Mapping):
            children = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            return (
                f"the graph data is nested more than {MAX_DEPTH} levels deep; "
                "a graph file needs far fewer"
            )
        items += len(value)
        if items > MAX_ITEMS:
            return (
                f"the graph data holds more than {MAX_ITEMS:,} values (shared references "
                "count each time); split it or shrink its configs"
            )
        stack.extend((child, depth + 1) for child in children)
    return None


# ---------------------------------------------------------------------------- YAML


@functools.cache
def yaml_loader() -> type[Any]:
    """A ``yaml.SafeLoader`` that refuses anchors/aliases and nesting beyond MAX_DEPTH."""
    import yaml
    from yaml.composer import ComposerError

    class Loader(yaml.SafeLoader):
        def __init__(self, stream: Any) -> None:
            super().__init__(stream)
            self._depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event: Any = self.peek_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ComposerError(
                    None,
                    None,
                    "YAML anchors and aliases (&name, *name) are not allowed in a graph "
                    "file; write each value out in full",
                    event.start_mark,
                )
            if self._depth >= MAX_DEPTH:
                raise ComposerError(
                    None,
                    None,
                    f"the graph data is nested more than {MAX_DEPTH} levels deep",
                    event.start_mark,
                )
            self._depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    return Loader

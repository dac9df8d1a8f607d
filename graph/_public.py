"""Public homes: a re-exported name shows the module users import it from, as anyio's do.

A class defined in ``voicegraph.graph._node`` and exported by ``voicegraph.graph`` reports
``__module__ == "voicegraph.graph"``, so reprs, tracebacks, help(), pickles, graph files and
traces name the public path, and moving code between private modules breaks none of them.
Each package ``__init__`` calls :func:`rehome` on the names it exports.

A class's string annotations (``from __future__ import annotations``) are evaluated in its
defining module before the move wherever they can be, because ``typing.get_type_hints``, port
discovery and pydantic resolve them in ``sys.modules[cls.__module__]``, which no longer holds
the defining module's imports.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping, MutableMapping

__all__ = ["lazy_exports", "rehome"]


def _private(module: str) -> bool:
    return module.startswith("voicegraph.") and any(p.startswith("_") for p in module.split("."))


def _freeze_annotations(cls: type, defining: str) -> None:
    annotations = inspect.get_annotations(cls)
    module = sys.modules.get(defining)
    if module is None or not any(isinstance(hint, str) for hint in annotations.values()):
        return
    namespace, local = vars(module), dict(vars(cls))
    for key, hint in annotations.items():
        if isinstance(hint, str):
            try:
                annotations[key] = eval(hint, namespace, local)
            except Exception:  # a TYPE_CHECKING-only name stays a string
                continue
    type.__setattr__(cls, "__annotations__", annotations)


def _move(obj: object, old: str, new: str) -> None:
    """Move ``obj`` from module ``old`` to ``new``, with the methods and nested classes it
    defines (so doctest, which goes by ``__module__``, finds their examples there too)."""
    if isinstance(obj, type):
        _freeze_annotations(obj, old)
        for value in vars(obj).values():
            inner = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
            inner = inner.fget if isinstance(inner, property) else inner
            if (isinstance(inner, type) or inspect.isfunction(inner)) and (
                getattr(inner, "__module__", None) == old
                and inner.__qualname__.startswith(f"{obj.__qualname__}.")
            ):
                _move(inner, old, new)
    obj.__module__ = new


def rehome(module: str, namespace: Mapping[str, object], names: Iterable[str]) -> None:
    """Set ``__module__`` of each class and function in ``names`` to ``module``.

    Only names still at home in a private voicegraph module move (a name another package
    already rehomed keeps its home), and only under their own name (an alias such as
    ``load_model as load_whisper_model`` stays where it is, so pickle still finds it).
    ``module`` is imported if it is not yet (e.g. ``voicegraph.testing``, which loads its
    names lazily), since graph files look a type up among the modules already loaded.
    """
    if module not in sys.modules:
        importlib.import_module(module)
    for name in names:
        obj = namespace[name]
        if not (isinstance(obj, type) or inspect.isfunction(obj)):
            continue
        current = getattr(obj, "__module__", None)
        if isinstance(current, str) and _private(current) and obj.__name__ == name:
            _move(obj, current, module)


def lazy_exports(
    module: str, namespace: MutableMapping[str, object], table: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A facade module's ``__getattr__`` and ``__dir__`` (PEP 562) for names loaded on first use.

    ``table`` maps each name to the module that defines it; the first access imports that
    module and keeps the value in ``namespace`` (the facade's globals), so later accesses are
    plain lookups::

        __getattr__, __dir__ = lazy_exports(__name__, globals(), {"Runner": "voicegraph.runner"})
    """

    def __getattr__(name: str) -> object:
        source = table.get(name)
        if source is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *table})

    return __getattr__, __dir__

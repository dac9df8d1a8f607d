"""The examples in voicegraph's docstrings run: ``pytest`` runs them with :mod:`doctest`.

Every module of every package the distribution ships (``[tool.setuptools] packages`` in
pyproject.toml) is imported and each docstring with examples is one test. Examples marked
``# doctest: +SKIP`` are illustrations that need a running session, a server or top-level
``await``; everything else must run as written. A module whose optional dependency (an
extra) is not installed is skipped, with the import error as the reason.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import pkgutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "setuptools"
]["packages"]

# Examples that do not run, in modules being reworked elsewhere: make each one run (or mark
# it +SKIP), then drop it here. test_the_skip_list_names_real_examples keeps the list honest.
KNOWN_FAILING: dict[str, str] = {}


def module_names() -> list[str]:
    """Every module the distribution ships (each nested package is listed in pyproject)."""
    names: list[str] = []
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations is not None, package
        # an editable install adds the repository root after the package's own folder
        folder = list(spec.submodule_search_locations)[:1]
        names.append(package)
        names += [
            f"{package}.{info.name}"
            for info in pkgutil.iter_modules(folder)
            if not info.ispkg and info.name != "__main__"
        ]
    return names


def defining_globals(obj: object) -> dict[str, Any] | None:
    """The globals of the module that defines ``obj`` (a function, or a class via its methods)."""
    if inspect.isfunction(obj):
        return inspect.unwrap(obj).__globals__
    for value in vars(obj).values() if isinstance(obj, type) else ():
        value = getattr(value, "__func__", getattr(value, "fget", value))
        if inspect.isfunction(value):
            return value.__globals__
    return None


class Finder(doctest.DocTestFinder):
    """Runs each example with the imports of the module that defines it: a re-exported name
    reports its package as ``__module__`` (where doctest finds it), not its defining module."""

    def _get_test(self, obj: Any, name: str, module: Any, globs: Any, lines: Any) -> Any:
        own = defining_globals(obj)
        return super()._get_test(obj, name, module, {**own, **globs} if own else globs, lines)


def collect() -> list[Any]:
    finder = Finder(exclude_empty=True)
    params: list[Any] = []
    for name in module_names():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # an extra that is not installed
            skip = pytest.mark.skip(reason=f"cannot import {name}: {exc}")
            params.append(pytest.param(None, id=name, marks=skip))
            continue
        for public in getattr(module, "__all__", ()):
            getattr(module, public)  # load lazy re-exports: doctest finds a class in its __module__
        for test in finder.find(module, name):
            if not test.examples or test.filename != module.__file__:
                continue
            reason = KNOWN_FAILING.get(test.name)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            params.append(pytest.param(test, id=test.name, marks=marks))
    return params


DOCTESTS = collect()


@pytest.mark.parametrize("test", DOCTESTS)
def test_docstring_examples_run(test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)


def test_the_skip_list_names_real_examples() -> None:
    names = {p.id for p in DOCTESTS}
    assert set(KNOWN_FAILING) <= names, "drop fixed or removed examples from KNOWN_FAILING"


def test_the_docstrings_of_the_whole_package_are_collected() -> None:
    # a sample of modules with examples, from each layer
    names = {p.id for p in DOCTESTS}
    for name in (
        "voicegraph.graph.AudioFrame",  # a class shows its public module
        "voicegraph.nodes.llm._chat",
        "voicegraph.nodes.tools",
        "voicegraph.viz._dot",
    ):
        assert name in names

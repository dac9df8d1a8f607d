"""Engines know nothing of graphs: what their modules import, checked two ways.

import-linter's contract "engines import neither the runner, the agent layer, viz nor host
nodes" (pyproject.toml, run by .ci/run) forbids the modules; this test finds every module
that defines an engine, checks the contract lists exactly those, and forbids the graph
machinery's names (Node, ports, Graph) in their imports.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import tomllib
from pathlib import Path

import voicegraph.nodes
from voicegraph.graph import Engine

ROOT = Path(__file__).resolve().parents[1]
GRAPH_MACHINERY = {"Node", "NodeRuntime", "In", "Out", "Port", "Graph", "Edge", "FlatGraph"}
CONTRACT = "engines import neither the runner, the agent layer, viz nor host nodes"


def engine_modules() -> set[str]:
    """Every module under voicegraph.nodes (but the agent layer) defining an Engine subclass.

    Found from each module's source (``class X(...)`` statements), not ``__module__``: the
    packages set re-exported classes' ``__module__`` to their public package.
    """
    found: set[str] = set()
    for info in pkgutil.walk_packages(voicegraph.nodes.__path__[:1], "voicegraph.nodes."):
        if info.name.startswith("voicegraph.nodes.agent"):
            continue
        module = importlib.import_module(info.name)
        tree = ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))
        for node in tree.body:
            obj = getattr(module, node.name, None) if isinstance(node, ast.ClassDef) else None
            if inspect.isclass(obj) and issubclass(obj, Engine):
                found.add(info.name)
    return found


def imported_names(module_name: str) -> list[tuple[str, str]]:
    """``(module, name)`` for each ``from module import name`` in the module's source."""
    source = Path(inspect.getfile(importlib.import_module(module_name)))
    tree = ast.parse(source.read_text(encoding="utf-8"))
    return [
        (node.module or "", alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]


def test_the_contract_lists_every_engine_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["name"] == CONTRACT]
    assert "voicegraph.runner" in contract["forbidden_modules"]
    assert "voicegraph.nodes.agent" in contract["forbidden_modules"]
    listed, found = set(contract["source_modules"]), engine_modules()
    assert found, "no engine module found: the discovery is broken"
    assert not found - listed, f"add to the contract's source_modules: {sorted(found - listed)}"
    assert not listed - found, (
        f"remove from the contract's source_modules: {sorted(listed - found)}"
    )


def test_engine_modules_import_no_graph_machinery() -> None:
    offending = {
        module: sorted(name for source, name in imported_names(module)
                       if source.startswith("voicegraph.graph") and name in GRAPH_MACHINERY)
        for module in engine_modules()
    }  # fmt: skip
    assert not {m: names for m, names in offending.items() if names}

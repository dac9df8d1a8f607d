"""What an import loads: one stage loads neither the agent layer nor the runner, the facades
resolve their lazy names, a graph draws itself without graph importing viz, and the
dependency contract in pyproject.toml covers every node package.

Import *time* is a benchmark (``python -m benchmarks --only import_time``), not a test: a
wall-clock threshold here would fail on a loaded machine.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from voicegraph.graph import Graph, set_svg_renderer

ROOT = Path(__file__).resolve().parents[1]

LAYERS = [
    "voicegraph.graph",
    "voicegraph.runner",
    "voicegraph.nodes",
    "voicegraph.nodes.agent",
    "voicegraph.nodes.vad",
    "voicegraph.viz",
]


def loaded_by(statement: str, candidates: list[str]) -> list[str]:
    """Which of ``candidates`` are in ``sys.modules`` after ``statement``, in a fresh process."""
    code = f"import sys\n{statement}\nprint(sorted(m for m in {candidates!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: list[str] = ast.literal_eval(out.stdout.strip())
    return result


def test_one_stage_loads_neither_the_agent_layer_nor_the_runner() -> None:
    assert loaded_by("import voicegraph.nodes.vad", LAYERS) == [
        "voicegraph.graph",
        "voicegraph.nodes",
        "voicegraph.nodes.vad",
    ]


def test_import_voicegraph_loads_only_the_graph_kernel() -> None:
    assert loaded_by("import voicegraph", LAYERS) == ["voicegraph.graph"]


def test_the_testing_module_loads_what_a_test_uses() -> None:
    assert loaded_by("import voicegraph.testing", LAYERS) == ["voicegraph.graph"]
    assert loaded_by("from voicegraph.testing import ScriptedLLM", LAYERS) == [
        "voicegraph.graph",
        "voicegraph.nodes",
    ]
    assert "voicegraph.runner" in loaded_by(
        "from voicegraph.testing import FakeLiveKitServer", LAYERS
    )


def test_a_lazy_name_loads_its_layer_on_first_use() -> None:
    assert loaded_by("import voicegraph; voicegraph.Runner", LAYERS) == [
        "voicegraph.graph",
        "voicegraph.runner",
    ]


def test_the_facades_resolve_every_lazy_name() -> None:
    import voicegraph.nodes
    import voicegraph.nodes.agent
    import voicegraph.nodes.llm
    import voicegraph.runner
    import voicegraph.testing

    assert voicegraph.testing.ScriptedLLM is voicegraph.nodes.llm.ScriptedLLM
    assert voicegraph.Runner is voicegraph.runner.Runner
    assert voicegraph.AgentSession is voicegraph.nodes.agent.AgentSession
    assert voicegraph.nodes.ConversationLog is voicegraph.nodes.agent.ConversationLog
    for name in voicegraph.nodes.__all__:
        assert getattr(voicegraph.nodes, name) is not None, name
    assert set(voicegraph.__all__) <= set(dir(voicegraph))
    assert set(voicegraph.nodes.__all__) <= set(dir(voicegraph.nodes))
    for name in voicegraph.testing.__all__:
        assert getattr(voicegraph.testing, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = voicegraph.testing.Nope
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = voicegraph.nodes.Nope
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = voicegraph.Nope


def test_a_graph_draws_itself_through_the_renderer_the_facade_installs() -> None:
    drawn: list[Graph] = []

    def fake(graph: Graph) -> str:
        drawn.append(graph)
        return "<svg/>"

    previous = set_svg_renderer(fake)
    try:
        assert previous is not None  # installed by `import voicegraph`
        g = Graph()
        assert g._repr_svg_() == "<svg/>" and drawn == [g]
        set_svg_renderer(None)
        assert g._repr_svg_() is None  # Jupyter then shows the text repr
    finally:
        set_svg_renderer(previous)


def test_the_installed_renderer_loads_viz_on_first_use() -> None:
    statement = (
        "import voicegraph\n"
        "from voicegraph.graph import Graph\n"
        "assert 'voicegraph.viz' not in sys.modules\n"
        "assert '<svg' in Graph(name='g')._repr_svg_()"
    )
    assert "voicegraph.viz" in loaded_by(statement, LAYERS)


def nodes_modules() -> set[str]:
    """Every module and package directly inside voicegraph.nodes."""
    spec = importlib.util.find_spec("voicegraph.nodes")
    assert spec is not None and spec.submodule_search_locations is not None
    folder = list(spec.submodule_search_locations)[:1]  # editable installs add the root after
    return {f"voicegraph.nodes.{info.name}" for info in pkgutil.iter_modules(folder)}


def test_the_contract_names_every_node_package_but_the_agent_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (stages,) = [c for c in contracts if c["name"].startswith("among nodes, only nodes.agent")]
    assert "voicegraph.runner" in stages["forbidden_modules"]
    missing = nodes_modules() - {"voicegraph.nodes.agent"} - set(stages["source_modules"])
    gone = set(stages["source_modules"]) - nodes_modules()
    assert not missing, f"add to the contract's source_modules: {sorted(missing)}"
    assert not gone, f"remove from the contract's source_modules: {sorted(gone)}"

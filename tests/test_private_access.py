"""No module reads or writes another module's private members (issue 12's rule, kept by CI).

For every ``x._name`` in the library where ``x`` is not ``self``/``cls``, ``_name`` must be
defined in the same module (a method, a class, or a ``self._name`` attribute). Members shared
across modules get a public name, a property, or a helper function beside the class that owns
them (``attach_runtime``, ``join_graph``). IPython's display hooks (``_repr_svg_``) are a
protocol, not private state.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("graph", "runner", "nodes", "viz", "playground", "voicegraph")
PROTOCOL = {"_repr_svg_", "_repr_png_", "_repr_html_", "_repr_mimebundle_"}


def defined_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in ("self", "cls"):
                names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def foreign_private_uses(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = defined_names(tree)
    return [
        f"{path.relative_to(root)}:{node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and node.attr not in own | PROTOCOL
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]


def test_no_module_touches_another_modules_private_members() -> None:
    uses = [use for pkg in PACKAGES for path in sorted((ROOT / pkg).rglob("*.py"))
            for use in foreign_private_uses(path)]  # fmt: skip
    assert not uses, "\n".join(uses)


def test_the_check_sees_foreign_private_reads_and_writes(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "class Mine:\n"
        "    def __init__(self):\n"
        "        self._ok = 1\n"
        "def f(session, node, mine):\n"
        "    node._graph = None\n"
        "    return session._emit, mine._ok, session._repr_svg_\n",
        encoding="utf-8",
    )
    assert foreign_private_uses(sample, tmp_path) == ["sample.py:5: ._graph", "sample.py:6: ._emit"]

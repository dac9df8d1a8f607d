"""The ``>>`` operator: connect nodes, subgraphs and ports when one port pair matches."""

from __future__ import annotations

from typing import Any

from ._errors import GraphError
from ._graph import Graph, _current_graph
from ._node import Node
from ._ports import In, Out, Port, type_label

__all__ = ["connect_operands"]


def _operand_graph(item: Node | Graph) -> Graph | None:
    return item.owner


def _ancestors(g: Graph | None) -> list[Graph]:
    chain = []
    while g is not None:
        chain.append(g)
        g = g.owner
    return chain


def connect_operands(left: Any, right: Any) -> Any:
    """Implement ``left >> right`` for nodes, subgraphs and ports."""
    lnode: Any = left.node if isinstance(left, Port) else left
    rnode: Any = right.node if isinstance(right, Port) else right
    if not isinstance(lnode, Node | Graph) or not isinstance(rnode, Node | Graph):
        return NotImplemented
    # match ports before adding anything, so a failed `>>` leaves the graph unchanged
    outs = [left] if isinstance(left, Out) else list(lnode.outputs.values())
    ins = [right] if isinstance(right, In) else list(rnode.inputs.values())
    pairs = [(o, i) for o in outs for i in ins if i.accepts(o.types)]
    if len(pairs) > 1:  # prefer required inputs (an optional side input such as `reverse`)
        required = [(o, i) for o, i in pairs if i.required]
        pairs = required or pairs
    if len(pairs) != 1:
        options = ", ".join(f"{o.name}->{i.name}" for o, i in pairs) or "none"
        produced = type_label(tuple(t for o in outs for t in o.types))
        raise GraphError(
            f"{left!r} >> {right!r} needs exactly one matching port pair, found "
            f"{len(pairs)} ({options}); outputs {produced or '-'}, "
            "use g.connect(a.port, b.port) to choose"
        )
    lg, rg = _operand_graph(lnode), _operand_graph(rnode)
    current = _current_graph.get()
    graph: Graph | None
    if lg is None and rg is None:
        graph = current
        if graph is None:
            raise GraphError(
                f"cannot connect {left!r} >> {right!r}: neither is in a graph; use g.add(...) "
                "first or build inside `with Graph() as g:`"
            )
        graph.add(lnode)
        graph.add(rnode)
    elif lg is None or rg is None:
        owned = lg or rg
        assert owned is not None
        # inside `with g:`, a new node joins g even when the other end is inside a subgraph of g
        graph = current if current is not None and current in _ancestors(owned) else owned
        graph.add(rnode if lg is not None else lnode)
    else:
        right_chain = _ancestors(rg)
        graph = next((g for g in _ancestors(lg) if g in right_chain), None)
        if graph is None:
            raise GraphError(f"cannot connect {left!r} >> {right!r}: they are in unrelated graphs")
    graph.connect(*pairs[0])
    return rnode

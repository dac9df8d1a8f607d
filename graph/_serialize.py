"""Serialize a :class:`Graph` to plain data (JSON / YAML) and back, exactly.

The format is a mapping; every key is always written, so the output is canonical::

    name: agent
    nodes:
      - name: mic
        type: my_agent.nodes:Microphone        # "module:QualName", imported on load
        config: {sample_rate: 16000}            # node.config.model_dump(mode="json")
      - name: llm
        type: my_agent.nodes:LLM
        config: {model: small}
        on_error:                               # only when supervision was set
          policy: fallback
          max_restarts: 3
          backoff: 0.05
          backoff_max: 2.0
          fallback: {type: my_agent.nodes:LocalLLM, config: {}}
    subgraphs:                                  # nested graphs, in the same format
      - name: asr
        nodes: [...]
        subgraphs: []
        edges: [...]
        exposed: {audio: vad.audio, text: stt.text}
    edges:
      - {src: mic.audio, dst: asr.audio, capacity: 8, policy: block, feedback: false}
    exposed: {}

An edge endpoint is ``"member.port"`` where ``member`` is a node or subgraph of the graph that
holds the edge; for a subgraph, ``port`` is the name it exposes. A port of a nested node that
its subgraph does not expose is written as a path, ``"asr/vad.audio"``.

``graph_to_dict(graph_from_dict(d)) == d`` for every ``d`` that :func:`graph_to_dict` produced.
Nodes are added before subgraphs when loading, so :meth:`Graph.iter_nodes` may list them in a
different order than in the graph that was saved; names, edges and settings are identical.

A graph file is untrusted input (see :mod:`._untrusted`): loading resolves ``type`` only in
voicegraph's own modules and in modules the caller allows (``allow=["myapp.nodes"]``), never
imports anything else, and refuses data that is nested too deep, too large, or (YAML) uses
anchors and aliases.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, cast

from pydantic import ValidationError

from ._engine import Engine
from ._errors import GraphError
from ._graph import DEFAULT_CAPACITY, Graph, Policy, Supervision
from ._node import Node, set_supervision
from ._ports import In, Out, Port
from ._redact import clip, listing
from ._untrusted import (
    MAX_TEXT,
    describe,
    loading,
    normalize_allow,
    resolve_type,
    shape_problem,
    short,
    yaml_loader,
)

__all__ = ["graph_from_dict", "graph_to_dict"]

_GRAPH_KEYS = ("name", "nodes", "subgraphs", "edges", "exposed")
_NODE_KEYS = ("name", "type", "config", "parts", "on_error")
_PART_KEYS = ("type", "config", "parts")
_EDGE_KEYS = ("src", "dst", "capacity", "policy", "feedback")


# ---------------------------------------------------------------------------- writing


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    """Return ``graph`` as plain data that :func:`graph_from_dict` turns back into it.

    Raises:
        GraphError: listing every node whose type cannot be imported back (e.g. a class
            defined inside a function), duplicate names, and edges to unknown nodes.
    """
    problems: list[str] = []
    data = _graph_data(graph, problems, {})
    if problems:
        raise GraphError(problems)
    return data


Exposed = dict[int, dict[int, str]]
"""Per subgraph (by id), the name each exposed port (by id) is written as."""


def _graph_data(graph: Graph, problems: list[str], exposed_names: Exposed) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    subgraphs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for member in graph.members:
        if member.name in seen:
            problems.append(
                f"duplicate name {_where(graph, member.name)!r}: rename it before serializing"
            )
        seen.add(member.name)
        if isinstance(member, Graph):
            subgraphs.append(_graph_data(member, problems, exposed_names))
        else:
            nodes.append(_node_data(member, problems))
    edges = [
        {
            "src": _port_ref(graph, e.src, problems, exposed_names),
            "dst": _port_ref(graph, e.dst, problems, exposed_names),
            "capacity": e.capacity,
            "policy": e.policy,
            "feedback": e.feedback,
        }
        for e in graph.edges
    ]
    exposed = {
        name: _port_ref(graph, port, problems, exposed_names)
        for name, port in graph.exposed.items()
    }
    return {
        "name": graph.name,
        "nodes": nodes,
        "subgraphs": subgraphs,
        "edges": edges,
        "exposed": exposed,
    }


def _node_data(node: Node, problems: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": node.name,
        "type": _type_ref(node, problems),
        "config": node.config.model_dump(mode="json"),
    }
    parts = _parts_data(node, node.parts(), problems)
    if parts:
        data["parts"] = parts
    sup = node.supervision
    if sup is not None:
        on_error = sup.model_dump(mode="json", exclude={"fallback"})
        if sup.fallback is not None:
            on_error["fallback"] = {
                "type": _type_ref(sup.fallback, problems, owner=node),
                "config": sup.fallback.config.model_dump(mode="json"),
            }
        data["on_error"] = on_error
    return data


def _parts_data(
    owner: Node, parts: Mapping[str, Engine | Sequence[Engine]], problems: list[str]
) -> dict[str, Any]:
    """``{keyword: {type, config[, parts]}}`` (a list of them for a sequence of engines)."""

    def one(engine: Engine) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": _type_ref(engine, problems, owner=owner),
            "config": engine.config.model_dump(mode="json"),
        }
        nested = _parts_data(owner, engine.parts(), problems)
        if nested:
            data["parts"] = nested
        return data

    return {
        key: one(value) if isinstance(value, Engine) else [one(e) for e in value]
        for key, value in parts.items()
    }


def _public_module(cls: type) -> str:
    """The shortest public module that exports ``cls`` (``a.b._impl`` -> ``a.b`` if re-exported)."""
    parts = cls.__module__.split(".")
    while parts and parts[-1].startswith("_"):
        candidate = ".".join(parts[:-1])
        module = sys.modules.get(candidate)
        if module is None or getattr(module, cls.__qualname__.split(".")[0], None) is not cls:
            break
        parts.pop()
    return ".".join(parts)


def _type_ref(node: Node | Engine, problems: list[str], owner: Node | None = None) -> str:
    cls = type(node)
    ref = f"{_public_module(cls)}:{cls.__qualname__}"
    try:
        found = _loaded_type(ref)
    except LookupError as exc:
        found, reason = None, str(exc)
    else:
        reason = f"it resolves to {found!r} instead"
    if found is not cls:
        kind = "engine" if isinstance(node, Engine) else "node"
        if isinstance(node, Engine):
            what = f"engine {cls.__name__} of node {owner.path if owner else '?'!r}"
        else:
            what = f"fallback of node {owner.path!r}" if owner else f"node {node.path!r}"
        problems.append(
            f"{what}: its type {ref} cannot be imported back ({reason}); define {kind} "
            "classes at module level in an importable module"
        )
    return ref


def _port_ref(graph: Graph, port: Port[Any], problems: list[str], exposed_names: Exposed) -> str:
    """Write ``port`` relative to ``graph``: ``member.port``, via exposed names where possible.

    The member holding the port's node is found by walking the node's owners up to ``graph``
    (not by scanning members), so writing a graph stays linear in its size.
    """
    node = port.node
    member: Node | Graph | None = node
    owner = node.owner if node is not None else None
    while owner is not None and owner is not graph:
        member, owner = owner, owner.owner
    if owner is None or member is None:
        problems.append(f"port {port!r} is not in graph {graph.path or '(root)'!r}")
        return f"?.{port.name}"
    if member is node:
        return f"{member.name}.{port.name}"
    assert isinstance(member, Graph)
    names = exposed_names.get(id(member))
    if names is None:
        names = exposed_names[id(member)] = {}
        for exposed_name, exposed in member.exposed.items():
            names.setdefault(id(exposed), exposed_name)
    found = names.get(id(port))
    if found is not None:
        return f"{member.name}.{found}"
    return f"{member.name}/{_port_ref(member, port, problems, exposed_names)}"


def _where(graph: Graph, name: str) -> str:
    return f"{graph.path}/{name}" if graph.path else name


# ---------------------------------------------------------------------------- reading


def graph_from_dict(data: Mapping[str, Any], *, allow: Iterable[str] | str = ()) -> Graph:
    """Build a :class:`Graph` from data written by :func:`graph_to_dict`.

    Node types (``"module:QualName"``) are resolved only in voicegraph's own modules and in
    the modules named in ``allow`` (each with its submodules); no other module is imported.
    Configs are validated and the nodes built, so a node's constructor runs with the
    file's settings (see :meth:`Graph.from_yaml` for what that lets a file do). Edges are
    connected (so frame types and edge settings are checked); the graph is not otherwise
    validated: call :meth:`Graph.check` before running it.

    Args:
        data: the graph as plain data.
        allow: modules (``"myapp.nodes"``) whose node types, and tool import paths, the
            data may name besides voicegraph's own node types.

    Raises:
        GraphError: listing every problem found: data nested deeper than 100 levels or
            holding more than a million values, unknown keys, node types that are not
            allowed or cannot be imported, invalid configs or supervision, duplicate names,
            unknown members or ports, and edges that do not type-check.
    """
    allowed = normalize_allow(allow)
    problem = shape_problem(data)
    if problem is not None:
        raise GraphError(problem)
    loader = _Loader(allowed)
    with loading(allowed):
        graph = loader.graph(data, parent=None)
    if loader.problems:
        raise GraphError(loader.problems)
    return graph


class _Loader:
    """Builds graphs from data, collecting problems instead of stopping at the first."""

    def __init__(self, allow: tuple[str, ...]) -> None:
        self.allow = allow
        self.problems: list[str] = []
        # names (members, exposed ports) that failed to load, per graph, so that references
        # to them are not reported a second time
        self.broken: dict[int, set[str]] = {}
        # members by name, per graph (Graph.__getitem__ scans; a big file must stay linear)
        self.members: dict[int, dict[str, Node | Graph]] = {}

    def graph(self, data: Any, parent: str | None) -> Graph:
        label = "the graph" if parent is None else f"subgraph {parent!r}"
        graph = Graph()
        self.broken[id(graph)] = set()
        self.members[id(graph)] = {}
        if not isinstance(data, Mapping):
            self.problems.append(f"{label} must be a mapping, got {type(data).__name__}")
            return graph
        self._unknown_keys(data, _GRAPH_KEYS, label)
        name = data.get("name", "")
        if isinstance(name, str):
            graph.name = name
        else:
            self.problems.append(f"{label}: name must be a string, got {short(name)}")
        prefix = f"{parent}/" if parent else ""
        taken: set[str] = set()
        for i, item in enumerate(self._list(data, "nodes", label)):
            self._add_node(graph, item, f"{label}: nodes[{i}]", prefix, taken)
        for i, item in enumerate(self._list(data, "subgraphs", label)):
            where = f"{label}: subgraphs[{i}]"
            if not isinstance(item, Mapping):
                self.problems.append(f"{where} must be a mapping, got {type(item).__name__}")
                continue
            sub_name = item.get("name")
            if not isinstance(sub_name, str):
                self.problems.append(f"{where} needs a name (a string)")
                continue
            if not self._new_name(sub_name, taken, f"subgraph {prefix + sub_name!r}"):
                continue
            sub = self.graph(item, parent=prefix + sub_name)
            self._add(graph, sub, sub_name, where)
        exposed = data.get("exposed", {})
        if not isinstance(exposed, Mapping):
            self.problems.append(f"{label}: exposed must be a mapping of name to 'node.port'")
            exposed = {}
        for name, ref in exposed.items():
            port = self._resolve(graph, ref, f"{label}: exposed port {name!r}")
            if port is None:
                self.broken[id(graph)].add(str(name))
                continue
            try:
                graph.expose(str(name), port)
            except GraphError as exc:
                self.problems.extend(exc.problems)
        for i, item in enumerate(self._list(data, "edges", label)):
            self._connect(graph, item, f"{label}: edges[{i}]")
        return graph

    # -------------------------------------------------------------------- pieces

    def _add_node(self, graph: Graph, item: Any, where: str, prefix: str, taken: set[str]) -> None:
        if not isinstance(item, Mapping):
            self.problems.append(f"{where} must be a mapping, got {type(item).__name__}")
            return
        name = item.get("name")
        if not isinstance(name, str):
            self.problems.append(f"{where} needs a name (a string)")
            return
        where = f"node {prefix + name!r}"
        self._unknown_keys(item, _NODE_KEYS, where)
        if not self._new_name(name, taken, where):
            return
        node = self._node(item, where)
        supervision = self._supervision(item["on_error"], where) if "on_error" in item else None
        if node is None:
            self.broken[id(graph)].add(name)
            return
        self._add(graph, node, name, where)
        set_supervision(node, supervision)

    def _node(self, item: Mapping[str, Any], where: str) -> Node | None:
        ref = item.get("type")
        config = item.get("config", {})
        if not isinstance(ref, str):
            self.problems.append(
                f"{where}: type must be a 'module:QualName' string, got {short(ref)}"
            )
            return None
        try:
            cls = resolve_type(ref, self.allow)
        except LookupError as exc:
            self.problems.append(f"{where}: unknown node type {short(ref)} ({exc})")
            return None
        return cast("Node | None", self._build(cls, ref, config, item.get("parts", {}), where))

    def _build(self, cls: type[Any], ref: str, config: Any, parts: Any, where: str) -> Any:
        """``cls(config, **parts)``, or ``None`` with the problems recorded."""
        if not isinstance(config, Mapping):
            self.problems.append(f"{where}: config must be a mapping, got {short(config)}")
            return None
        try:
            settings = cls.Config.model_validate(config)
        except ValidationError as exc:
            self.problems.append(f"{where}: invalid config for {ref}: {_errors(exc)}")
            settings = None
        built = self._parts(parts, where)  # its problems are reported too
        if settings is None or built is None:
            return None
        try:
            return cls(settings, **built)
        except Exception as exc:  # report every node that cannot be built, then fail once
            self.problems.append(f"{where}: cannot create {ref}: {describe(exc)}")
            return None

    def _parts(self, data: Any, where: str) -> dict[str, Any] | None:
        """The engines under a node's (or engine's) ``parts``, built; ``None`` if one fails."""
        if not isinstance(data, Mapping):
            self.problems.append(f"{where}: parts must be a mapping, got {short(data)}")
            return None
        built: dict[str, Any] = {}
        ok = True
        for key, value in data.items():
            if not isinstance(key, str) or not key.isidentifier() or key.startswith("_"):
                self.problems.append(f"{where}: parts key {short(key)} is not a keyword name")
                ok = False
                continue
            if isinstance(value, list):
                engines = [
                    self._engine(v, f"{where}: parts.{key}[{i}]") for i, v in enumerate(value)
                ]
                ok = ok and all(e is not None for e in engines)
                built[key] = engines
            else:
                built[key] = engine = self._engine(value, f"{where}: parts.{key}")
                ok = ok and engine is not None
        return built if ok else None

    def _engine(self, item: Any, where: str) -> Engine | None:
        if not isinstance(item, Mapping):
            self.problems.append(f"{where} must be {{type, config}}, got {short(item)}")
            return None
        self._unknown_keys(item, _PART_KEYS, where)
        ref = item.get("type")
        if not isinstance(ref, str):
            self.problems.append(
                f"{where}: type must be a 'module:QualName' string, got {short(ref)}"
            )
            return None
        try:
            cls = resolve_type(ref, self.allow, Engine)
        except LookupError as exc:
            self.problems.append(f"{where}: unknown engine type {short(ref)} ({exc})")
            return None
        return cast(
            "Engine | None",
            self._build(cls, ref, item.get("config", {}), item.get("parts", {}), where),
        )

    def _supervision(self, data: Any, where: str) -> Supervision | None:
        if isinstance(data, str):
            data = {"policy": data}
        if not isinstance(data, Mapping):
            self.problems.append(f"{where}: on_error must be a mapping, got {short(data)}")
            return None
        fields = dict(data)
        if fields.get("fallback") is not None:
            fallback = fields["fallback"]
            if not isinstance(fallback, Mapping):
                self.problems.append(f"{where}: on_error.fallback must be {{type, config}}")
                return None
            self._unknown_keys(fallback, ("type", "config"), f"{where}: on_error.fallback")
            fields["fallback"] = self._node(fallback, f"{where}: on_error.fallback")
            if fields["fallback"] is None:
                return None
        try:
            return Supervision.model_validate(fields)
        except ValidationError as exc:
            self.problems.append(f"{where}: invalid on_error: {_errors(exc)}")
            return None

    def _connect(self, graph: Graph, item: Any, where: str) -> None:
        if not isinstance(item, Mapping):
            self.problems.append(f"{where} must be a mapping, got {type(item).__name__}")
            return
        if isinstance(item.get("src"), str) and isinstance(item.get("dst"), str):
            where = f"{where} ({item['src']} -> {item['dst']})"
        self._unknown_keys(item, _EDGE_KEYS, where)
        capacity = item.get("capacity", DEFAULT_CAPACITY)
        policy = item.get("policy", "block")
        feedback = item.get("feedback", False)
        ok = True
        if not isinstance(capacity, int) or isinstance(capacity, bool):
            self.problems.append(f"{where}: capacity must be an integer, got {short(capacity)}")
            ok = False
        if not isinstance(policy, str):
            self.problems.append(f"{where}: policy must be a string, got {short(policy)}")
            ok = False
        if not isinstance(feedback, bool):
            self.problems.append(f"{where}: feedback must be true or false, got {short(feedback)}")
            ok = False
        src = self._resolve(graph, item.get("src"), f"{where}: src", want="out")
        dst = self._resolve(graph, item.get("dst"), f"{where}: dst", want="in")
        if src is None or dst is None or not ok:
            return
        assert isinstance(src, Out) and isinstance(dst, In)
        try:
            graph.connect(
                src, dst, capacity=capacity, policy=cast(Policy, policy), feedback=feedback
            )
        except GraphError as exc:
            self.problems.extend(exc.problems)

    def _resolve(
        self, graph: Graph, ref: Any, where: str, want: Literal["in", "out"] | None = None
    ) -> Port[Any] | None:
        """Find the port ``ref`` names in ``graph``; ``None`` (and a problem) if there is none."""
        if not isinstance(ref, str) or "." not in ref:
            self.problems.append(f"{where}: expected 'node.port', got {short(ref)}")
            return None
        path, _, port_name = ref.partition(".")
        target: Node | Graph = graph
        for part in path.split("/"):
            scope = target
            if not isinstance(scope, Graph):
                self.problems.append(f"{where}: {scope.name!r} in {ref!r} is a node, not a graph")
                return None
            if part in self.broken[id(scope)]:
                return None  # already reported
            found = self.members[id(scope)].get(part)
            if found is None:
                members = listing(m.name for m in scope.members)
                inside = f" inside {scope.name!r}" if scope is not graph else ""
                self.problems.append(
                    f"{where}: no node or subgraph {part!r}{inside} (members: {members})"
                )
                return None
            target = found
        port: Port[Any] | None
        if isinstance(target, Graph):
            if port_name in self.broken[id(target)]:
                return None
            port = target.exposed.get(port_name)
            known = sorted(target.exposed)
            owner = f"subgraph {path!r}"
        else:
            port = {**target.inputs, **target.outputs}.get(port_name)
            known = sorted([*target.inputs, *target.outputs])
            owner = f"node {path!r} ({type(target).__name__})"
        if port is None:
            self.problems.append(
                f"{where}: {owner} has no port {port_name!r} (ports: {listing(known)})"
            )
            return None
        if want == "out" and not isinstance(port, Out):
            self.problems.append(f"{where}: {ref!r} is an input port; an edge's src is an output")
            return None
        if want == "in" and not isinstance(port, In):
            self.problems.append(f"{where}: {ref!r} is an output port; an edge's dst is an input")
            return None
        return port

    def _add(self, graph: Graph, item: Node | Graph, name: str, where: str) -> None:
        try:
            graph.add(item, name=name)
        except GraphError as exc:
            self.problems.extend(f"{where}: {p}" for p in exc.problems)
            self.broken[id(graph)].add(name)
        else:
            self.members[id(graph)].setdefault(name, item)

    def _new_name(self, name: str, taken: set[str], where: str) -> bool:
        if name in taken:
            self.problems.append(f"{where}: duplicate name {name!r}; names must be unique")
            return False
        taken.add(name)
        return True

    def _list(self, data: Mapping[str, Any], key: str, label: str) -> list[Any]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problems.append(f"{label}: {key} must be a list, got {type(value).__name__}")
            return []
        return value

    def _unknown_keys(self, data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        unknown = [k for k in data if k not in allowed]
        if unknown:
            self.problems.append(
                f"{where}: unknown key(s) {listing(map(short, unknown), sort=False)}; "
                f"expected {', '.join(allowed)}"
            )


def _errors(exc: ValidationError, limit: int = 10) -> str:
    errors = exc.errors()
    text = "; ".join(
        f"{clip('.'.join(map(str, e['loc'])), 80) if e['loc'] else '(config)'}: {e['msg']}"
        for e in errors[:limit]
    )
    if len(errors) > limit:
        text += f"; ... and {len(errors) - limit} more"
    return text


def _loaded_type(ref: str) -> Any:
    """What ``"module:QualName"`` names among imported modules (writing imports nothing)."""
    module_name, _, qualname = ref.partition(":")
    if "<locals>" in qualname:
        raise LookupError("it is defined inside a function")
    obj: Any = sys.modules.get(module_name)
    if obj is None:
        raise LookupError(f"module {module_name!r} is not imported")
    for attr in qualname.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise LookupError(f"module {module_name!r} has no attribute {qualname!r}") from None
    return obj


# ---------------------------------------------------------------------------- text


def _dump(graph: Graph, fmt: Literal["json", "yaml"], indent: int | None = 2) -> str:
    data = graph_to_dict(graph)
    if fmt == "json":
        return json.dumps(data, indent=indent, ensure_ascii=False)
    import yaml  # imported here: keeps `import voicegraph` fast

    return yaml.dump(
        data, Dumper=_yaml_dumper(), sort_keys=False, allow_unicode=True, default_flow_style=False
    )


@functools.cache
def _yaml_dumper() -> type[Any]:
    import yaml

    class Dumper(yaml.SafeDumper):
        """``SafeDumper`` that double-quotes strings holding Unicode line breaks.

        PyYAML writes ``"\x85"`` in single quotes, where it reads back as a space. It never
        writes anchors and aliases (the loader refuses them), even for shared values.
        """

        def ignore_aliases(self, data: Any) -> bool:
            return True

    def represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
        if any(c in data for c in "\x85\u2028\u2029"):
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
        return dumper.represent_str(data)

    Dumper.add_representer(str, represent_str)
    return Dumper


def _load(
    text: str | bytes, fmt: Literal["json", "yaml"], allow: Iterable[str] | str = ()
) -> Graph:
    if not isinstance(text, str | bytes):
        raise GraphError(
            f"a graph in {fmt.upper()} is text (str or bytes), not {type(text).__name__}"
        )
    if len(text) > MAX_TEXT:
        raise GraphError(
            f"the {fmt.upper()} text is {len(text):,} long; a graph file may be at most "
            f"{MAX_TEXT:,} characters"
        )
    try:
        if fmt == "json":
            data = json.loads(text)
        else:
            import yaml  # imported here: keeps `import voicegraph` fast

            data = yaml.load(text, Loader=yaml_loader())  # a SafeLoader
    except RecursionError:
        raise GraphError(f"not valid {fmt.upper()}: nested too deeply for a graph file") from None
    except Exception as exc:  # any parser failure is bad input, reported as such
        raise GraphError(f"not valid {fmt.upper()}: {describe(exc)}") from None
    if not isinstance(data, Mapping):
        raise GraphError(f"a graph in {fmt.upper()} must be a mapping, got {type(data).__name__}")
    return graph_from_dict(data, allow=allow)

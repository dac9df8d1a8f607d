"""The graphs an :class:`AgentSession` runs: the standard voice graph, or LLM and tools only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voicegraph.graph import ConfigError, Graph, GraphError, Node
from voicegraph.nodes.llm import LLMNode
from voicegraph.nodes.output import AudioOutput, BackgroundAudio
from voicegraph.nodes.stt import STTNode
from voicegraph.nodes.tools import ToolExecutor
from voicegraph.nodes.tts import SentenceSplitter, TTSNode
from voicegraph.nodes.turn import TurnDetector
from voicegraph.nodes.vad import VADNode

from ._commands import SessionCommands
from ._controller import AgentController
from ._executor import AgentToolExecutor
from ._stages import SessionStages
from ._voice import VoicePipeline, voice_pipeline

if TYPE_CHECKING:
    from ._options import SessionOptions
    from ._session import AgentSession

__all__ = [
    "SessionGraph",
    "adopt_graph",
    "bind_user_graph",
    "build_graph",
    "build_session_graph",
    "stages_of",
]


@dataclass
class SessionGraph:
    """A graph a session runs and the nodes it works with."""

    graph: Graph
    controller: AgentController
    commands: SessionCommands
    llm: LLMNode
    pipeline: VoicePipeline | None = None
    executors: list[AgentToolExecutor] = field(default_factory=list)


def controller_settings(options: SessionOptions) -> dict[str, Any]:
    """The :class:`AgentController` config that follows from the session's options (the
    options both share by name)."""
    shared = AgentController.Config.model_fields.keys() & type(options).model_fields.keys()
    return {name: getattr(options, name) for name in shared}


def build_session_graph(
    session: AgentSession[Any],
    stages: SessionStages,
    *,
    audio: Node | None,
    output: AudioOutput | None,
) -> SessionGraph:
    """The graph ``session`` builds around its ``stages`` (see :func:`build_graph`)."""
    llm = stages.llm if stages.llm is not None else _default_llm()
    controller = AgentController(**controller_settings(session.options))
    executor = AgentToolExecutor(timeout=session.options.tool_timeout)
    graph, pipeline = build_graph(
        stages, session.options, session.turn_mode, controller, llm, executor,
        audio=audio, output=output,
    )  # fmt: skip
    return adopt_graph(pipeline if pipeline is not None else graph)


def bind_user_graph(
    session: AgentSession[Any],
    stages: SessionStages,
    graph: Graph | VoicePipeline,
    *,
    audio: Node | None,
    output: AudioOutput | None,
) -> SessionGraph:
    """Bind a graph the user built to ``session`` (see ``AgentSession.start``).

    Raises:
        ConfigError: stages were given to the session as well.
        GraphError: see :func:`adopt_graph`.
    """
    extra = [name for name, value in (("audio", audio), ("output", output)) if value is not None]
    extra += stages.given()
    if extra:
        raise ConfigError(
            f"AgentSession: graph= already holds the stages; do not also pass "
            f"{', '.join(extra)} (put those nodes in your graph)"
        )
    found = adopt_graph(graph)
    found.controller.config = found.controller.config.model_copy(
        update=controller_settings(session.options)
    )
    timeout = {"timeout": session.options.tool_timeout}
    for executor in found.executors:
        executor.config = executor.config.model_copy(update=timeout)
    return found


def adopt_graph(built: Graph | VoicePipeline) -> SessionGraph:
    """Find the session's nodes in a graph the user built (see ``AgentSession.start``).

    Raises:
        GraphError: no single ``AgentController``, no LLM fed by it, a plain
            ``ToolExecutor`` instead of an ``AgentToolExecutor``, or the graph's own problems.
    """
    pipeline = built if isinstance(built, VoicePipeline) else None
    graph = built.graph if isinstance(built, VoicePipeline) else built
    fix = (
        "build it with voice_pipeline(source, controller=AgentController(), "
        "tools=AgentToolExecutor(), ...) and add your nodes to its graph"
    )
    controllers = [n for n in graph.iter_nodes() if isinstance(n, AgentController)]
    if len(controllers) != 1:
        raise GraphError(
            f"AgentSession.start(graph=...): graph {graph.name!r} must hold exactly one "
            f"AgentController, found {len(controllers)}; {fix}"
        )
    (controller,) = controllers
    fed = [e.dst.node for e in graph.iter_edges() if e.src is controller.user_turns]
    llms = [n for n in fed if isinstance(n, LLMNode)]
    if len(llms) != 1:
        raise GraphError(
            f"AgentSession.start(graph=...): {controller.path}.user_turns must feed exactly one "
            f"LLM node's 'turn' input, found {len(llms)}; {fix}"
        )
    executors: list[AgentToolExecutor] = []
    for node in graph.iter_nodes():
        if isinstance(node, AgentToolExecutor):
            executors.append(node)
        elif isinstance(node, ToolExecutor):
            raise GraphError(
                f"AgentSession.start(graph=...): {node.path} is a plain {type(node).__name__}; "
                "an agent's tools need an AgentToolExecutor (it runs the active agent's tools)"
            )
    commands = _commands_of(graph, controller)
    _wire_turn(graph, commands, pipeline.turn if pipeline is not None else None)
    graph.check()
    return SessionGraph(graph, controller, commands, llms[0], pipeline, executors)


def _commands_of(graph: Graph, controller: AgentController) -> SessionCommands:
    """The command node feeding ``controller`` (one is added to ``graph`` if none does)."""
    for edge in graph.iter_edges():
        source = edge.src.node
        if edge.dst is controller.commands and isinstance(source, SessionCommands):
            return source
    taken = {member.name for member in graph.members}
    name = "commands"
    while name in taken:
        name = f"_{name}"
    commands = SessionCommands()
    graph.add(commands, name=name)
    graph.connect(commands.commands, controller.commands, feedback=True)
    return commands


def _wire_turn(graph: Graph, commands: SessionCommands, turn: TurnDetector | None) -> None:
    """Connect ``commands.turn`` to ``turn`` (default: the graph's one turn detector, if it
    has exactly one), unless it is connected already."""
    if turn is None:
        turns = [n for n in graph.iter_nodes() if isinstance(n, TurnDetector)]
        if len(turns) != 1:
            return
        (turn,) = turns
    if not any(e.src is commands.turn and e.dst is turn.commands for e in graph.iter_edges()):
        graph.connect(commands.turn, turn.commands, feedback=True)


def stages_of(found: SessionGraph) -> dict[str, Node]:
    """The model stages the session switches per agent and reads metrics from, by kind.

    From a :class:`VoicePipeline`, its stages; from any other graph, the one node of each
    kind (``stt``, ``tts``, ``vad``, ``turn``), when there is exactly one.
    """
    if found.pipeline is not None:
        p = found.pipeline
        return {"stt": p.stt, "tts": p.tts, "vad": p.vad, "turn": p.turn}
    kinds: dict[str, type[Node]] = {
        "stt": STTNode, "tts": TTSNode, "vad": VADNode, "turn": TurnDetector,
    }  # fmt: skip
    stages: dict[str, Node] = {}
    for kind, cls in kinds.items():
        nodes = [n for n in found.graph.iter_nodes() if isinstance(n, cls)]
        if len(nodes) == 1:
            stages[kind] = nodes[0]
    return stages


def build_graph(
    stages: SessionStages,
    opts: SessionOptions,
    turn_mode: str,
    controller: AgentController,
    llm: LLMNode,
    executor: AgentToolExecutor,
    *,
    audio: Node | None,
    output: AudioOutput | None,
) -> tuple[Graph, VoicePipeline | None]:
    """The session's graph: the voice graph around ``audio``, or (without audio) just::

    agent ─(user_turns, requests)─> llm ─(text, feedback)─> agent
                                    llm ─> tools ─(results, feedback)─> llm
    """
    if audio is None:
        g = Graph("agent_session")
        commands = g.add(SessionCommands(), name="commands")
        agent = g.add(controller, name="agent")
        g.connect(commands.commands, agent.commands, feedback=True)
        llm_node = g.add(llm, name="llm")
        tools = g.add(executor, name="tools")
        g.connect(agent.user_turns, llm_node.turn)
        g.connect(agent.requests, llm_node.requests)
        g.connect(llm_node.text, agent.llm_text, feedback=True)
        g.connect(llm_node.tool_calls, tools.calls)
        g.connect(tools.results, llm_node.tool_results, feedback=True)
        g.check()
        return g, None
    turn = stages.turn or TurnDetector(
        engine=stages.turn_engine,
        mode="manual" if turn_mode == "manual" else "auto",
        min_endpointing_delay=opts.min_endpointing_delay,
        max_endpointing_delay=opts.max_endpointing_delay,
        quick_endpointing_delay=opts.quick_endpointing_delay,
        allow_interruptions=opts.allow_interruptions,
        min_interruption_duration=opts.min_interruption_duration,
        min_interruption_words=opts.min_interruption_words,
        false_interruption_timeout=(
            opts.false_interruption_timeout if opts.resume_false_interruption else None
        ),
        aec_warmup_duration=opts.aec_warmup_duration,
    )
    pipeline = voice_pipeline(
        audio,
        vad=stages.vad,
        stt=stages.stt,
        turn=turn,
        llm=llm,
        tts=stages.tts,
        output=output,
        controller=controller,
        tools=executor,
        splitter=SentenceSplitter(
            filter_markdown="filter_markdown" in opts.tts_text_transforms,
            filter_emoji="filter_emoji" in opts.tts_text_transforms,
        ),
        name="agent_session",
        background=BackgroundAudio(),  # silent until a BackgroundAudioPlayer plays sounds
    )
    return pipeline.graph, pipeline


def _default_llm() -> LLMNode:
    from voicegraph.nodes.llm import LlamaLLM

    return LLMNode(engine=LlamaLLM())

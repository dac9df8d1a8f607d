""":class:`HistoryScanner`: reports what the LLM committed to the history, once each.

After each reply (and at each step of one), the session scans the chat's new items and
reports them: ``conversation_item_added`` for messages and handoff records,
``function_tools_executed`` once a tool round's results were taken up, the items a
running :class:`RunResult` collects, and the stages' new metrics. Scans start from the
end of the chat and stop at the first item already seen (no rescans of the whole chat).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voicegraph.graph import Node
from voicegraph.graph.timeline import STTDone, TTSFirstAudio
from voicegraph.nodes.llm import (
    AgentHandoffItem,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    LLMNode,
)
from voicegraph.nodes.stt import STTNode
from voicegraph.nodes.tts import TTSNode
from voicegraph.nodes.turn import TurnDetector

from ._events import (
    ConversationItemAddedEvent,
    FunctionToolsExecutedEvent,
    MetricsCollectedEvent,
    SessionEvent,
)
from ._lk_metrics import eou_metrics, llm_metrics, stt_metrics, tts_metrics

if TYPE_CHECKING:
    from ._agent import Agent
    from ._testing import RunResult

__all__ = ["HistoryScanner"]


class HistoryScanner:
    """Report the history's new items, tool rounds and metrics of ``llm`` (and ``stages``).

    Args:
        llm: the session's LLM node (its chat and metrics).
        stages: the session's other stage nodes by kind (``turn`` and ``tts`` metrics).
        emit: reports a session event.
    """

    def __init__(
        self, llm: LLMNode, stages: dict[str, Node], emit: Callable[[SessionEvent], None]
    ) -> None:
        self.llm = llm
        self.stages = stages
        self.emit = emit
        self.results: list[RunResult] = []
        """The runs collecting what the agent does (``session.run``)."""
        self._seen: set[str] = set()
        self._seen_outputs: set[str] = set()
        self._open_calls: dict[str, FunctionCall] = {}  # calls whose outputs are not in yet
        self._handoff_agents: dict[str, tuple[Agent | None, Agent]] = {}
        self._metrics_read: dict[str, int] = {}  # how far each stage's metrics list was read

    def record_handoff(self, old: Agent | None, new: Agent) -> None:
        """Add a handoff record (``old`` -> ``new``) to the history."""
        item = AgentHandoffItem(old_agent_id=old.id if old else None, new_agent_id=new.id)
        self._handoff_agents[item.id] = (old, new)
        self.llm.chat.add(item)

    def mark_seen(self) -> None:
        """Treat every item now in the history as reported (a history replaced by
        ``Agent.update_chat_ctx`` is not news)."""
        ids = {item.id for item in self.llm.chat.items}
        self._seen |= ids
        self._seen_outputs |= ids

    def _new_items(self, seen: set[str]) -> list[Any]:
        new = []
        for item in reversed(self.llm.chat.items):
            if item.id in seen:
                break
            new.append(item)
        new.reverse()
        return new

    def items(self, *, upto_reply: bool = False) -> None:
        """Report the items committed to the history since the last scan.

        With ``upto_reply``, stop before the first assistant message (a reply still being
        generated or played is committed when it is done).
        """
        for item in self._new_items(self._seen):
            if upto_reply and isinstance(item, ChatMessage) and item.role == "assistant":
                break
            self._seen.add(item.id)
            if isinstance(item, ChatMessage) and item.role == "system":
                continue
            if isinstance(item, ChatMessage | AgentHandoffItem):
                self.emit(ConversationItemAddedEvent(item=item))
            for result in self.results:
                if not (isinstance(item, ChatMessage) and item.role == "user"):
                    old, new = self._handoff_agents.get(item.id, (None, None))
                    result.add(item, old, new)

    def tools(self) -> None:
        """Report a tool round once the LLM has taken its results up, and the user's message
        once the LLM has taken it.

        A call is in the chat from the moment its tool starts, its output once the round is
        complete: the calls seen wait here for their outputs.
        """
        self.items(upto_reply=True)
        rounds: list[tuple[list[FunctionCall], list[FunctionCallOutput]]] = []
        calls: list[FunctionCall] = []
        outputs: list[FunctionCallOutput] = []
        for item in self._new_items(self._seen_outputs):
            self._seen_outputs.add(item.id)
            if isinstance(item, FunctionCallOutput):  # a round's outputs come together
                call = self._open_calls.pop(item.call_id, None)
                if call is not None:
                    calls.append(call)
                outputs.append(item)
                continue
            if outputs:
                rounds.append((calls, outputs))
                calls, outputs = [], []
            if isinstance(item, FunctionCall):
                self._open_calls[item.call_id] = item
        if outputs:
            rounds.append((calls, outputs))
        for round_calls, round_outputs in rounds:
            self.emit(
                FunctionToolsExecutedEvent(
                    function_calls=round_calls, function_call_outputs=round_outputs
                )
            )

    def metrics(self) -> None:
        """Report the stages' metrics recorded since the last call."""
        llm = self.llm
        sources: list[tuple[str, list[Any], Callable[[Any, int], Any]]] = [
            ("llm", list(llm.metrics), lambda m, i: llm_metrics(m, llm.engine))
        ]
        turn, tts, stt = self.stages.get("turn"), self.stages.get("tts"), self.stages.get("stt")
        if isinstance(stt, STTNode):
            done = [e for e in stt.timeline_events if isinstance(e, STTDone)]
            sources.append(("stt", done, lambda e, i: stt_metrics(e, stt.engine, i)))
        if isinstance(turn, TurnDetector):
            sources.append(("turn", list(turn.decisions), lambda d, i: eou_metrics(d)))
        if isinstance(tts, TTSNode):
            first = [e for e in tts.timeline_events if isinstance(e, TTSFirstAudio)]
            sources.append(("tts", first, lambda e, i: tts_metrics(e, tts.engine, i)))
        for name, values, convert in sources:
            read = self._metrics_read.get(name, 0)
            if len(values) < read:  # a bounded history rolled over
                read = 0
            for i, value in enumerate(values[read:], start=read):
                self.emit(MetricsCollectedEvent(metrics=convert(value, i)))
            self._metrics_read[name] = len(values)

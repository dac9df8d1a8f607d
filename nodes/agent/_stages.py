"""The session's model stages: engines (or host nodes) in, the host nodes of the voice graph out.

``AgentSession(llm=, stt=, tts=, vad=, turn_detection=)`` takes engines, as LiveKit's session
takes plugins, and builds the standard host node around each (``LLMNode(engine=...)``, ...).
A host node is accepted too, for host settings the session does not set itself (a
``TTSNode`` with other pauses, a ``TurnDetector`` with its own endpointing). ``Agent(llm=,
stt=, tts=, vad=)`` takes engines only: an agent's model is swapped into the session's host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from voicegraph.graph import ConfigError, Engine, Node
from voicegraph.nodes.llm import LLMEngine, LLMNode
from voicegraph.nodes.stt import STTEngine, STTNode
from voicegraph.nodes.tts import TTSEngine, TTSNode
from voicegraph.nodes.turn import TurnDetector, TurnEngine
from voicegraph.nodes.vad import VADEngine, VADNode

__all__ = ["HOSTS", "Host", "SessionStages", "as_host", "check_engine_kind"]

H = TypeVar("H", bound=Node)

HOSTS: dict[str, tuple[type[Node], type[Engine]]] = {
    "llm": (LLMNode, LLMEngine),
    "stt": (STTNode, STTEngine),
    "tts": (TTSNode, TTSEngine),
    "vad": (VADNode, VADEngine),
    "turn": (TurnDetector, TurnEngine),
    "turn_detection": (TurnDetector, TurnEngine),
}
"""Per stage keyword: its host node class and its engine interface."""


class Host(Protocol):
    """A host node as the agent layer uses it: its engine can be checked and swapped."""

    def check_engine(self, engine: Any) -> None: ...
    def set_engine(self, engine: Any) -> None: ...


def as_host(value: Engine | Node | None, host: type[H], who: str, keyword: str) -> H | None:
    """``value`` as a host node: an engine gets a new ``host(engine=value)``, a host is kept.

    Raises:
        ConfigError: ``value`` is neither an engine of the stage nor its host node.
    """
    if value is None or isinstance(value, host):
        return value
    kind = HOSTS[keyword][1]
    if isinstance(value, kind):
        return host(engine=value)
    raise ConfigError(
        f"{who}: {keyword}= must be a {kind.__name__} (an engine such as "
        f"{_example(keyword)}) or a {host.__name__}, got a {type(value).__name__}"
    )


def check_engine_kind(value: object, who: str, keyword: str) -> None:
    """Raise ``ConfigError`` unless ``value`` is ``None`` or an engine for ``keyword``'s stage."""
    if value is None:
        return
    host, kind = HOSTS[keyword]
    if isinstance(value, kind):
        return
    hint = (
        f"; pass its engine ({keyword}=node.engine): an agent's model is swapped into the "
        "session's node"
        if isinstance(value, host)
        else ""
    )
    raise ConfigError(
        f"{who}: {keyword}= must be a {kind.__name__} (an engine such as "
        f"{_example(keyword)}), got a {type(value).__name__}{hint}"
    )


def _example(keyword: str) -> str:
    return {
        "llm": "ScriptedLLM or LlamaLLM",
        "stt": "ScriptedSTT or WhisperSTT",
        "tts": "ScriptedTTS or HibariTTS",
        "vad": "SileroVAD",
    }.get(keyword, "the text heuristic")


@dataclass
class SessionStages:
    """The host nodes given to a session (``None``: the stage's default is built)."""

    llm: LLMNode | None = None
    stt: STTNode | None = None
    tts: TTSNode | None = None
    vad: VADNode | None = None
    turn: TurnDetector | None = None
    turn_engine: TurnEngine | None = None
    """A turn engine for the turn detector the session builds from its options."""

    @classmethod
    def of(
        cls,
        *,
        llm: LLMEngine | LLMNode | None,
        stt: STTEngine | STTNode | None,
        tts: TTSEngine | TTSNode | None,
        vad: VADEngine | VADNode | None,
        turn: TurnEngine | TurnDetector | None,
    ) -> SessionStages:
        """Check the session's keywords and wrap each engine in its host node.

        Raises:
            ConfigError: a keyword holds something else than its stage's engine or host.
        """
        who = "AgentSession"
        engine = turn if isinstance(turn, TurnEngine) else None
        return cls(
            llm=as_host(llm, LLMNode, who, "llm"),
            stt=as_host(stt, STTNode, who, "stt"),
            tts=as_host(tts, TTSNode, who, "tts"),
            vad=as_host(vad, VADNode, who, "vad"),
            turn=None if engine is not None else as_host(turn, TurnDetector, who, "turn_detection"),
            turn_engine=engine,
        )

    def given(self) -> list[str]:
        """The keywords given (for the message when a user graph holds the stages)."""
        names = {"llm": self.llm, "stt": self.stt, "tts": self.tts, "vad": self.vad}
        found = [name for name, value in names.items() if value is not None]
        if self.turn is not None or self.turn_engine is not None:
            found.append("turn_detection")
        return found

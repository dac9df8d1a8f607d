""":class:`Preemption`: the controller's preemptive generation (LiveKit's
``preemptive_generation``): start replying on a tentative turn, keep or discard the reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicegraph.graph import LLMText, UserTurn

from ._agent import Agent

if TYPE_CHECKING:
    from ._controller import AgentController
    from ._speech import SpeechHandle

__all__ = ["Preemption"]


class Preemption:
    """A reply generated ahead of the end of the user's turn, for an :class:`AgentController`.

    A tentative turn (:meth:`preflight`, the turn detector's final transcript before its
    endpointing delay has passed) starts the LLM at once, while nothing else runs; the
    reply's text is held back (:meth:`hold`) and its tool calls wait
    (``SpeechHandle.authorized``). When the turn ends (:meth:`settle`) with the same words,
    the reply is kept and its text released; if the user went on (speech started again, or
    the turn ended with other words) it is discarded (:meth:`discard`): cut off, and the
    messages it added removed from the history. Not used for agents that override
    ``on_user_turn_completed`` (the hook may change the message).

    Attributes:
        speech: the reply being generated ahead (``None`` if none).
        outcomes: each preemptive generation: ``(text, kept)``.
    """

    def __init__(self, controller: AgentController) -> None:
        self._controller = controller
        self.speech: SpeechHandle | None = None
        self.outcomes: list[tuple[str, bool]] = []
        self._held: list[LLMText] = []
        self._known: set[str] = set()  # history items from before the reply

    async def preflight(self, frame: UserTurn) -> None:
        """A tentative turn: start generating for it if nothing else runs."""
        c = self._controller
        agent = c.session.current_agent
        hooked = type(agent).on_user_turn_completed is not Agent.on_user_turn_completed
        if not c.config.preemptive_generation or hooked or not frame.text.strip():
            return
        self.discard()
        if c.current is not None or c._queue or c._closing:
            return
        speech = c.session._turn_speech(frame, user_initiated=False)
        speech._speculate()
        speech.agent = agent
        speech.epoch = c.epoch
        self.speech, self._held = speech, []
        self._known = {item.id for item in c.session.history.items}
        await c.emit(c.user_turns, frame)

    async def settle(self, frame: UserTurn) -> bool:
        """The turn ended: keep the reply if it was generated for these words (returns
        ``True``: the turn is answered), else discard it."""
        speech = self.speech
        if speech is None:
            return False
        assert isinstance(speech.frame, UserTurn)
        c = self._controller
        if speech.frame.text != frame.text or c.current is not None:
            self.discard()
            return False
        self.speech = None
        self.outcomes.append((frame.text, True))
        speech.frame = frame
        speech._confirm()
        c.current = speech
        c.session._announce(speech)
        c._set_agent_state("thinking")
        c.session._update_interruptions()
        held, self._held = self._held, []
        for text in held:
            await c._relay(text)
        return True

    def discard(self) -> None:
        """The user went on: drop the reply generated ahead, and its messages."""
        speech, self.speech, self._held = self.speech, None, []
        if speech is None:
            return
        assert isinstance(speech.frame, UserTurn)
        c = self._controller
        self.outcomes.append((speech.frame.text, False))
        c.interrupt("preemptive generation discarded")
        chat = c.session.history
        chat.items = [item for item in chat.items if item.id in self._known]
        speech._mark_done(interrupted=True)
        c._poke()

    def hold(self, frame: LLMText) -> bool:
        """Keep ``frame`` back if it belongs to the reply generated ahead."""
        speech = self.speech
        if speech is None or frame.epoch != speech.epoch:
            return False
        self._held.append(frame)
        speech.generated = speech.generated or frame.final
        return True

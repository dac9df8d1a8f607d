""":class:`Preemption`: the scheduler's preemptive generation (LiveKit's
``preemptive_generation``): start replying on a tentative turn, keep or discard the reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voicegraph.graph import LLMText, UserTurn

from ._agent import Agent

if TYPE_CHECKING:
    from ._scheduler import SpeechScheduler
    from ._speech import SpeechHandle

__all__ = ["Preemption", "join_held"]


def join_held(frames: list[LLMText]) -> list[LLMText]:
    """``frames`` with each run of text deltas joined into one frame.

    Released one delta at a time, held text would reach the ``SentenceSplitter`` as a burst
    it cannot see the end of: a reply generated long enough ago would have its first chunk
    cut at a word boundary (its ``first_wait`` is over) though the rest of the sentence is
    in the next frames. A joined frame keeps the first delta's ``generated`` time and
    epoch; empty and final frames (a step's or the reply's end) are kept as they are.

    >>> [f.text for f in join_held([LLMText("The "), LLMText("end."), LLMText("", final=True)])]
    ['The end.', '']
    """
    joined: list[LLMText] = []
    for frame in frames:
        last = joined[-1] if joined else None
        if (
            last is not None
            and frame.text
            and not frame.final
            and last.text
            and not last.final
            and frame.epoch == last.epoch
        ):
            joined[-1] = LLMText(last.text + frame.text, generated=last.generated, epoch=last.epoch)
        else:
            joined.append(frame)
    return joined


class Preemption:
    """A reply generated ahead of the end of the user's turn, for a :class:`SpeechScheduler`.

    A tentative turn (:meth:`preflight`, the turn detector's final transcript before its
    endpointing delay has passed) starts the LLM at once, while nothing else runs; the
    reply's text is held back (:meth:`hold`) and its tool calls wait
    (``SpeechHandle.authorized``). When the turn ends (:meth:`settle`) with the same words,
    the reply is kept and its text released (the held deltas joined into one frame, so the
    splitter sees at once all the text there is: see :func:`join_held`); if the user went
    on (speech started again, or the turn ended with other words) it is discarded
    (:meth:`discard`): cut off, and the messages it added removed from the history. Not
    used for agents that override ``on_user_turn_completed`` (the hook may change the
    message).

    Attributes:
        enabled: generate ahead at all (the controller's ``preemptive_generation``).
        speech: the reply being generated ahead (``None`` if none).
        outcomes: each preemptive generation: ``(text, kept)``.
    """

    def __init__(self, scheduler: SpeechScheduler) -> None:
        self._scheduler = scheduler
        self.enabled = True
        self.speech: SpeechHandle | None = None
        self.outcomes: list[tuple[str, bool]] = []
        self._held: list[LLMText] = []
        self._known: set[str] = set()  # history items from before the reply

    async def preflight(self, frame: UserTurn) -> None:
        """A tentative turn: start generating for it if nothing else runs."""
        s = self._scheduler
        agent = s.port.agent()
        hooked = (
            agent is not None
            and type(agent).on_user_turn_completed is not Agent.on_user_turn_completed
        )
        if not self.enabled or hooked or not frame.text.strip():
            return
        self.discard()
        if s.current is not None or s.waiting or s.closing:
            return
        speech = s.port.reply_to_turn(frame, announce=False)
        speech.speculate()
        speech.agent = agent
        speech.epoch = s.io.epoch
        self.speech, self._held = speech, []
        history = s.port.history()
        self._known = {item.id for item in history.items} if history is not None else set()
        await s.io.send_turn(frame)

    async def settle(self, frame: UserTurn) -> bool:
        """The turn ended: keep the reply if it was generated for these words (returns
        ``True``: the turn is answered), else discard it."""
        speech = self.speech
        if speech is None:
            return False
        assert isinstance(speech.frame, UserTurn)
        s = self._scheduler
        if speech.frame.text != frame.text or s.current is not None:
            self.discard()
            return False
        self.speech = None
        self.outcomes.append((frame.text, True))
        speech.frame = frame
        speech.confirm()
        s.port.announce(speech)
        s.adopt(speech, "thinking")
        held, self._held = self._held, []
        for text in join_held(held):
            await s.relay(text)
        return True

    def discard(self) -> None:
        """The user went on: drop the reply generated ahead, and its messages."""
        speech, self.speech, self._held = self.speech, None, []
        if speech is None:
            return
        assert isinstance(speech.frame, UserTurn)
        s = self._scheduler
        self.outcomes.append((speech.frame.text, False))
        s.io.interrupt("preemptive generation discarded")
        history = s.port.history()
        if history is not None:
            history.items = [item for item in history.items if item.id in self._known]
        speech.mark_done(interrupted=True)
        s.poke()

    def hold(self, frame: LLMText) -> bool:
        """Keep ``frame`` back if it belongs to the reply generated ahead."""
        speech = self.speech
        if speech is None or frame.epoch != speech.epoch:
            return False
        self._held.append(frame)
        speech.generated = speech.generated or frame.final
        return True

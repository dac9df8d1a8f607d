"""The session's commands as frames, and :class:`SessionCommands`, the node that sends them.

``session.say()``, ``generate_reply()``, ``interrupt()``, ``update_agent()`` (and the agent
switches of handoffs and tasks) enter the graph here, as plain-data frames on the command
node's ``commands`` port, wired to the controller's ``commands`` input. They are plain data
so a run can be traced and replayed: the controller looks the reply handle up by
``speech_id`` from the session driving it, or builds one when none does.

``commit_user_turn()``, ``clear_user_turn()`` and barge-in switched per reply go to the turn
detector instead, as the control events of :mod:`voicegraph.nodes.turn` (``CommitTurn``,
``ClearTurn``, ``AllowInterruptions``) on the ``turn`` port, wired to the detector's
``commands`` input: they overtake the audio queued for it, as the direct calls did.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from voicegraph.graph import Frame, Node, NodeConfig, Out, UsageError, UserTurn
from voicegraph.nodes.llm import ReplyRequest
from voicegraph.nodes.turn import TurnCommand, TurnControl

__all__ = [
    "COMMAND_CAPACITY",
    "Command",
    "EnteringCommand",
    "InterruptCommand",
    "SessionCommands",
    "ShutdownCommand",
    "SpeakCommand",
    "SuspendCommand",
    "SwitchCommand",
]

COMMAND_CAPACITY = 1024
"""Commands the node holds before ``push`` refuses more (the graph is not reading them)."""


@dataclass(frozen=True, slots=True)
class Command(Frame):
    """Base of the session's commands."""


@dataclass(frozen=True, slots=True)
class SpeakCommand(Command):
    """Schedule a reply: to a user turn (``turn``: ``text`` is the user's) or a request.

    ``entering``: scheduled while an agent's ``on_enter`` ran (it goes before the replies
    to user turns waiting then).
    """

    speech_id: str
    entering: bool = False
    source: Literal["say", "generate_reply"] = "generate_reply"
    user_initiated: bool = True
    allow_interruptions: bool = True
    turn: bool = False
    text: str = ""
    user_input: str = ""
    instructions: str = ""
    say: str | None = None
    add_to_chat: bool = True
    allow_tools: bool = True

    @classmethod
    def of(cls, speech_id: str, frame: UserTurn | ReplyRequest, **settings: Any) -> SpeakCommand:
        """The command for a reply to ``frame``."""
        if isinstance(frame, UserTurn):
            return cls(speech_id, turn=True, text=frame.text, **settings)
        return cls(
            speech_id, user_input=frame.user_input, instructions=frame.instructions,
            say=frame.say, add_to_chat=frame.add_to_chat, allow_tools=frame.allow_tools,
            **settings,
        )  # fmt: skip

    def request(self) -> UserTurn | ReplyRequest:
        """What the LLM is sent for this reply."""
        if self.turn:
            return UserTurn(self.text)
        return ReplyRequest(
            user_input=self.user_input, instructions=self.instructions, say=self.say,
            add_to_chat=self.add_to_chat, allow_tools=self.allow_tools,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class InterruptCommand(Command):
    """Cut reply ``speech_id`` off (or drop it if it waits); ``""``: every reply."""

    reason: str = "interrupt"
    speech_id: str = ""


@dataclass(frozen=True, slots=True)
class SwitchCommand(Command):
    """Run agent switch ``switch_id`` between replies: before the queued ones (``first``)."""

    switch_id: int
    first: bool = True


@dataclass(frozen=True, slots=True)
class SuspendCommand(Command):
    """Set reply ``speech_id`` aside while an ``AgentTask`` it started talks to the user."""

    speech_id: str


@dataclass(frozen=True, slots=True)
class ShutdownCommand(Command):
    """The session closes: cut everything off and stop once nothing runs."""


@dataclass(frozen=True, slots=True)
class EnteringCommand(Command):
    """An agent's ``on_enter`` started (``entering``) or the last one ended: replies to user
    turns wait meanwhile, so what the agent says on entering comes first."""

    entering: bool


class SessionCommands(Node):
    """The source of an agent session's commands (``commands`` -> the controller's input;
    ``turn`` -> the turn detector's ``commands`` input, in a graph with one).

    The session :meth:`push`\\ es commands and :meth:`end`\\ s the stream when it is over. Run
    without a session (a plain ``Runner``, a graph loaded from a file, a replay), it sends
    nothing and ends at once.
    """

    class Config(NodeConfig):
        pass

    config: Config
    commands: Out[Command]
    turn: Out[TurnControl]

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._queue: deque[Command | TurnCommand] = deque()
        self._wake = anyio.Event()
        self._attached = False
        self._ended = False

    def default_name(self) -> str:
        """``"commands"``."""
        return "commands"

    def attach(self) -> None:
        """A session drives this node: keep the stream open until :meth:`end`."""
        self._attached = True

    @property
    def ended(self) -> bool:
        """Whether the stream was ended."""
        return self._ended

    def push(self, command: Command | TurnCommand) -> None:
        """Send ``command`` (without waiting): a :class:`Command` on ``commands``, a turn
        command as a control event on ``turn`` (in the order pushed).

        Raises:
            UsageError: the stream has ended, or ``COMMAND_CAPACITY`` commands are waiting.
        """
        if self._ended:
            raise UsageError("the session has ended: its graph takes no more commands")
        if len(self._queue) >= COMMAND_CAPACITY:
            raise UsageError(
                f"{COMMAND_CAPACITY} session commands are waiting for the graph; "
                "await the replies before scheduling more"
            )
        self._queue.append(command)
        self._wake.set()

    def end(self) -> None:
        """End the stream once the commands pushed so far are sent."""
        self._ended = True
        self._wake.set()

    async def run(self) -> None:
        """Send the commands as they come, until :meth:`end` (at once without a session)."""
        if not self._attached:
            return
        while True:
            while self._queue:
                command = self._queue.popleft()
                if isinstance(command, Command):
                    await self.emit(self.commands, command)
                else:
                    await self.send_event(command, self.turn)
            if self._ended:
                return
            await self._wake.wait()
            self._wake = anyio.Event()

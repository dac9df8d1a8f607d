""":class:`EndCallTool`: a tool that ends the session once the goodbye has been spoken
(LiveKit's ``livekit.agents.beta.tools.EndCallTool``)."""

from __future__ import annotations

from typing import Any

from voicegraph.nodes.tools import FunctionTool, StopResponse

from ._context import RunContext

__all__ = ["END_CALL_DESCRIPTION", "EndCallTool"]

END_CALL_DESCRIPTION = (
    "Ends the current call. Call it when the user clearly says they are done (for example "
    '"that\'s all, bye"); not when they ask to pause, hold or be transferred, nor when their '
    "intent is unclear. It is the last action: no further interaction with the user follows."
)
"""What the LLM is told the tool does (``extra_description`` is appended)."""


class EndCallTool(FunctionTool):
    """A tool named ``end_call``: the agent says goodbye, then the session ends.

    ::

        agent = Agent(instructions="...", tools=[EndCallTool()])

    When the LLM calls it, the tool's output (``end_instructions``) asks the LLM for the
    goodbye; once the reply that called the tool (goodbye included) has played, the session
    shuts down (``session.shutdown()``, draining). With ``end_instructions=None`` there is no
    goodbye: the session ends once the reply's text before the call has played.

    Args:
        extra_description: appended to the tool's description.
        end_instructions: the tool's output, which the LLM answers (default "say goodbye
            to the user"); ``None``: no reply to the call.
        delete_room: accepted for LiveKit compatibility; voicegraph ends the session, and
            the job ends with it (what happens to a LiveKit room is the room's business).
        on_tool_called: ``async (context) -> None`` run when the tool is called.
        on_tool_completed: ``async (context, output) -> output`` run before the tool returns;
            what it returns replaces the output.
    """

    def __init__(
        self,
        *,
        extra_description: str = "",
        delete_room: bool = True,
        end_instructions: str | None = "say goodbye to the user",
        on_tool_called: Any = None,
        on_tool_completed: Any = None,
    ) -> None:
        description = END_CALL_DESCRIPTION + (f"\n{extra_description}" if extra_description else "")
        super().__init__(self._end_call, name="end_call", description=description)
        self.delete_room = delete_room
        self.end_instructions = end_instructions
        self.on_tool_called = on_tool_called
        self.on_tool_completed = on_tool_completed

    async def _end_call(self, context: RunContext) -> str:
        """End the call."""
        session = context.session
        speech = context.speech_handle
        if speech is None:
            session.shutdown()
        else:
            speech.add_done_callback(lambda _: session.shutdown())
        if self.on_tool_called is not None:
            await self.on_tool_called(context)
        output = self.end_instructions
        if self.on_tool_completed is not None:
            output = await self.on_tool_completed(context, output)
        if output is None:
            raise StopResponse()  # no reply to the call: the session ends after this one
        return str(output)

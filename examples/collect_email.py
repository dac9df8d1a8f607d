"""An AgentTask with a typed result: collect a valid email address, then carry on.

The newsletter agent's ``sign_up`` tool awaits ``GetEmail()``, a sub-agent that talks to the
user until it has an address that looks valid, then returns it (a ``str``) to the tool,
which finishes the sign-up. The session runs on text turns.

    python examples/collect_email.py             # the embedded SmolLM2 model (offline)
    python examples/collect_email.py --scripted  # a scripted LLM (instant, deterministic)
"""

from __future__ import annotations

import argparse
import re

import anyio

from voicegraph.nodes.agent import Agent, AgentSession, AgentTask, RunContext
from voicegraph.nodes.llm import LLMEngine
from voicegraph.nodes.tools import ToolError, function_tool
from voicegraph.runner import VirtualClock
from voicegraph.testing import ScriptedLLM, ScriptedReply, ScriptedToolCall

EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")


class GetEmail(AgentTask[str]):
    """Asks for an email address until it gets a valid one."""

    def __init__(self) -> None:
        super().__init__(instructions="Ask the user for their email address.")

    async def on_enter(self) -> None:
        self.session.say("What is your email address?")

    @function_tool
    async def record_email(self, email: str) -> None:
        """Record the user's email address.

        Args:
            email: The address, e.g. "ann@example.com".
        """
        address = email.strip().lower()
        if not EMAIL.match(address):
            raise ToolError(f"{email!r} is not a valid email address; ask again")
        self.complete(address)


class Newsletter(Agent):
    """Signs people up for the newsletter."""

    def __init__(self) -> None:
        super().__init__(instructions="You sign people up for the Chez Graph newsletter.")
        self.subscribers: list[str] = []

    @function_tool
    async def register(self, context: RunContext[None]) -> str:
        """Register the user for the newsletter."""
        email = await GetEmail()  # the task talks to the user, then returns the address
        self.subscribers.append(email)
        return f"registered {email}"


def scripted_llm() -> ScriptedLLM:
    def call(name: str, **arguments: object) -> ScriptedToolCall:
        return ScriptedToolCall(name=name, arguments=arguments)

    return ScriptedLLM(
        replies=[
            ScriptedReply(tool_calls=[call("register")], text="You are on the list. Welcome!"),
            ScriptedReply(
                tool_calls=[call("record_email", email="ann at example")],
                text="Sorry, that does not look like an address. Could you spell it?",
            ),
            ScriptedReply(tool_calls=[call("record_email", email="Ann@Example.com")]),
        ]
    )


async def main(scripted: bool) -> list[str]:
    agent = Newsletter()
    llm: LLMEngine
    if scripted:
        llm = scripted_llm()
    else:
        from voicegraph.nodes.llm import LlamaLLM

        llm = LlamaLLM()
    async with AgentSession(llm=llm, clock=VirtualClock()) as session:

        @session.on("conversation_item_added")
        def said(event: object) -> None:
            item = event.item  # type: ignore[attr-defined]
            if item.type == "message" and item.role == "assistant":
                print(f"  agent ({session.current_agent.id}): {item.text}")
            elif item.type == "agent_handoff":
                print(f"  [{item.old_agent_id} -> {item.new_agent_id}]")

        await session.start(agent)
        for text in [
            "Please register me for the newsletter.",
            "My email is ann at example.",
            "Sorry: my email is Ann@Example.com",
        ]:
            print(f"user: {text}")
            await session.run(user_input=text)
        print(f"subscribers: {agent.subscribers}")
    return agent.subscribers


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripted", action="store_true", help="use a scripted LLM")
    args = parser.parse_args()
    anyio.run(main, args.scripted)

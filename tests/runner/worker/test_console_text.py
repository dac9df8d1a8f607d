"""``python agent.py console --text``: a real subprocess, user turns piped on stdin, the
agent's replies and tool calls printed; no sound device is needed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from voicegraph.runner.worker._console import console

AGENT = textwrap.dedent(
    """
    from voicegraph.nodes.agent import Agent, AgentSession
    from voicegraph.nodes.llm import ScriptedLLM, ScriptedReply, ScriptedToolCall
    from voicegraph.nodes.tools import function_tool
    from voicegraph.runner.worker import AgentServer, JobContext, get_job_context, run_app

    server = AgentServer()


    class WeatherAgent(Agent):
        def __init__(self) -> None:
            super().__init__(instructions="You tell the weather.")

        @function_tool
        async def lookup_weather(self, city: str) -> str:
            \"\"\"Look up the weather in a city.\"\"\"
            return f"sunny in {city} (job {get_job_context().job_id})"


    async def report(ctx: JobContext) -> None:
        texts = [m.text for m in ctx.make_session_report().chat_history.messages]
        print(f"[report] {len(texts)} messages", flush=True)


    @server.rtc_session(on_session_end=report)
    async def entrypoint(ctx: JobContext) -> None:
        await ctx.connect()
        llm = ScriptedLLM(
            replies=[
                "Hello! Ask me about the weather.",
                ScriptedReply(
                    tool_calls=[
                        ScriptedToolCall(name="lookup_weather", arguments={"city": "Paris"})
                    ],
                    text="It is sunny in Paris.",
                ),
            ],
            first_token_delay=0.0,
            token_delay=0.0,
        )
        session = AgentSession(llm=llm)
        await session.start(WeatherAgent())
        ctx.add_shutdown_callback(lambda: print("[shutdown callback]", flush=True))


    if __name__ == "__main__":
        run_app(server)
    """
)


@pytest.fixture
def agent_file(tmp_path: Path) -> Path:
    path = tmp_path / "weather_agent.py"
    path.write_text(AGENT)
    return path


def test_console_text_mode_in_a_subprocess(agent_file: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, str(agent_file), "console", "--text"],
        input="hi there\n\nwhat's the weather in Paris?\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines[0].startswith("voicegraph console (text mode)")
    assert lines[1:] == [
        "  you: hi there",
        "agent: Hello! Ask me about the weather.",
        "  you: what's the weather in Paris?",
        '  [tool] lookup_weather({"city": "Paris"}) -> sunny in Paris (job console)',
        "agent: It is sunny in Paris.",
        "  [session closed: closed]",
        "[report] 5 messages",
        "[shutdown callback]",
    ]


def test_audio_mode_without_a_device_names_the_text_mode(
    agent_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    assert console(str(agent_file)) == 1
    assert "console --text" in capsys.readouterr().err

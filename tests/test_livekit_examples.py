"""LiveKit's own examples and tests, ported in examples/livekit/ (see its README), run here.

The ports' test files run under pytest in a subprocess (as a user runs them); the agents with
entrypoints run in ``console --text`` mode in this process, their embedded models (the
provider constructors the port names) replaced by scripted ones: ``DialogueLLM`` with the
example's script from ``examples/livekit/scripts.py``, ``ScriptedSTT``, ``ScriptedTTS``.
"""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from voicegraph.runner.worker._console import console
from voicegraph.testing import ScriptedSTT, ScriptedTTS

PORTS = Path(__file__).resolve().parents[1] / "examples" / "livekit"


@pytest.fixture
def ports() -> Iterator[None]:
    """``examples/livekit`` on ``sys.path`` (the ports import their siblings by name)."""
    sys.path.insert(0, str(PORTS))
    try:
        yield
    finally:
        sys.path.remove(str(PORTS))


def load(name: str, script: Any) -> ModuleType:
    """Import the port ``examples/livekit/<name>`` with scripted engines for its providers."""
    from dialogue import DialogueLLM  # on sys.path through the ``ports`` fixture

    spec = importlib.util.spec_from_file_location(f"lk_port_{Path(name).stem}", PORTS / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fakes = {
        "LlamaLLM": lambda *a, **k: DialogueLLM(script),
        "WhisperSTT": lambda *a, **k: ScriptedSTT(),
        "HibariTTS": lambda *a, **k: ScriptedTTS(seconds_per_char=0.001),
    }
    for provider, fake in fakes.items():
        if hasattr(module, provider):
            setattr(module, provider, fake)
    return module


def talk(module: ModuleType, turns: Sequence[str]) -> list[str]:
    """``python <port> console --text`` with ``turns`` typed in; the printed lines."""
    printed: list[str] = []
    status = console(
        module.server, text=True, echo=printed.append, lines=io.StringIO("\n".join(turns) + "\n")
    )
    assert status == 0, "\n".join(printed)
    return "\n".join(printed).splitlines()


def pytest_file(path: str, *expected: str) -> str:
    """Run LiveKit's test file ``path`` (under examples/livekit) with pytest; its summary."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(PORTS / path), "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=PORTS.parents[1],
    )
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    for part in expected:
        assert part in summary, summary
    return summary


def test_test_evals() -> None:
    pytest_file("test_evals.py", "3 passed")


def test_drive_thru_tests() -> None:
    pytest_file("drive_thru/test_agent.py", "8 passed")


def test_restaurant_agent(ports: None) -> None:
    from scripts import RESTAURANT

    lines = talk(
        load("restaurant_agent.py", RESTAURANT),
        [
            "Hi, I'd like to book a table",
            "Tomorrow at 7pm",
            "My name is Alice, my phone is 555 0100",
            "Yes, please confirm",
        ],
    )
    assert "  [handoff] greeter -> reservation" in lines
    assert (
        '  [tool] update_reservation_time({"time": "tomorrow at 7pm"}) -> '
        "The reservation time is updated to tomorrow at 7pm" in lines
    )
    assert (
        '  [tool] update_phone({"phone": "555 0100"}) -> The phone number is updated to 555 0100'
        in lines
    )
    # confirm_reservation checks the userdata the other tools filled, then hands back
    assert "  [tool] confirm_reservation({}) -> Transferring to greeter." in lines
    assert lines.index("  [handoff] reservation -> greeter") > lines.index(
        "  you: Yes, please confirm"
    )
    assert (
        lines.count("agent: Welcome! Would you like to make a reservation or order takeaway?") == 2
    )


def test_multi_agent(ports: None) -> None:
    from scripts import MULTI_AGENT

    lines = talk(load("multi_agent.py", MULTI_AGENT), ["I'm Alice from Paris", "Yes, go on"])
    handoff = lines.index("  [handoff] intro_agent -> story_agent")
    # the story agent's on_enter reply, from its own instructions (name and place in them)
    assert lines[handoff + 1] == (
        "agent: Once upon a time in Paris, Alice found a tiny door. Shall I go on?"
    )
    assert lines[-2].startswith("agent: Behind the door")


def test_multi_agent_story_finished(ports: None) -> None:
    from scripts import MULTI_AGENT

    lines = talk(
        load("multi_agent.py", MULTI_AGENT),
        ["I'm Alice from Paris", "That's enough, thanks"],
    )
    # story_finished interrupts, awaits the goodbye (spoken while the tool runs), then asks
    # the LiveKit API to delete the room: in console there is no server, and the end of the
    # input closes the session while that request is pending, so the tool reports nothing
    goodbye = lines.index("agent: Goodbye, Alice, sweet dreams!")
    assert lines.index("  you: That's enough, thanks") < goodbye
    assert lines[goodbye + 1 :] == ["  [session closed: closed]"]


def test_annotated_tool_args(ports: None) -> None:
    from scripts import ANNOTATED_TOOL_ARGS

    lines = talk(
        load("annotated_tool_args.py", ANNOTATED_TOOL_ARGS),
        [
            "What's the weather in Tokyo?",
            "Turn on the light in the living room",
            "Give me the number seven",
        ],
    )
    assert (
        '  [tool] get_weather({"location": "Tokyo"}) -> The weather in Tokyo is sunny today.'
        in lines
    )
    # the enum argument reaches the tool as a RoomName (the tool reads room.value)
    assert (
        '  [tool] toggle_light({"room": "living room", "switch_to": "on"}) -> '
        "The light in the living room is now on." in lines
    )
    assert '  [tool] get_number({"value": 7}) -> The number value is 7.' in lines


def test_basic_agent(ports: None) -> None:
    from scripts import BASIC_AGENT

    lines = talk(load("basic_agent.py", BASIC_AGENT), ["What's the weather in Tokyo?"])
    assert "agent: Hi! I am Kelly, built by LiveKit." in lines
    assert any("[tool] lookup_weather(" in line for line in lines)
    assert "agent: It is sunny and 70 degrees in Tokyo." in lines


def test_drive_thru_agent(ports: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from scripts import DRIVE_THRU

    monkeypatch.syspath_prepend(str(PORTS / "drive_thru"))  # agent.py appends it, after ours
    lines = talk(load("drive_thru/agent.py", DRIVE_THRU), ["Can I get a Big Mac, no meal?"])
    added = next(line for line in lines if "[tool] order_regular_item" in line)
    assert '"item_id": "big_mac"' in added and "The item was added" in added
    assert "agent: One Big Mac. Anything else?" in lines


def test_start_in_a_room_takes_no_room_options() -> None:
    import anyio

    from voicegraph import ConfigError
    from voicegraph.agents import Agent, AgentSession
    from voicegraph.testing import ScriptedLLM

    async def main() -> None:
        async with AgentSession(llm=ScriptedLLM()) as session:
            with pytest.raises(ConfigError, match="RoomInput"):
                await session.start(Agent(instructions="hi"), room=object(), room_options={})

    anyio.run(main)

"""The examples in examples/ run (scripted, so quickly; one with the embedded models)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, *args: str, timeout: float = 120) -> str:
    """Run ``examples/<name>`` in a fresh interpreter; its stdout."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=EXAMPLES.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_example_is_listed_and_tested() -> None:
    files = sorted(p.name for p in EXAMPLES.glob("*.py"))
    readme = (EXAMPLES / "README.md").read_text()
    tested = Path(__file__).read_text()
    for name in files:
        assert f"`{name}`" in readme, f"{name} is missing from examples/README.md"
        assert f'"{name}"' in tested, f"{name} has no test in tests/test_examples.py"


def test_voice_agent() -> None:
    out = run("voice_agent.py", "--scripted")
    assert "[interrupted]" in out  # the barge-in cut the story
    assert "assistant: Paris is the capital of France" in out
    assert "agent is speaking" in out and "user is speaking" in out


def test_restaurant_booking() -> None:
    out = run("restaurant_booking.py", "--scripted")
    assert "handoff: receptionist -> booking" in out
    assert "calls book_table" in out
    assert "bookings: ['2 on friday']" in out


@pytest.mark.parametrize("name", ["restaurant_booking.py"])
def test_an_example_on_the_embedded_model(name: str) -> None:
    out = run(name)  # SmolLM2 via llama.cpp: rough answers, but tools and handoff run
    assert "user: Hi, I'd like to book a table." in out
    assert "active agent:" in out


def test_agent_models() -> None:
    out = run("agent_models.py", "--scripted")
    start, greeting, handoff, _, answer = out.strip().splitlines()
    assert "handoff: None -> front_desk" in start  # the first agent's activation (LiveKit's)
    assert "front_desk (voice own ScriptedTTS, llm session ScriptedLLM): Hello" in greeting
    assert "handoff: front_desk -> expert" in handoff
    assert (
        "expert (voice session ScriptedTTS, llm own ScriptedLLM): The capital of France is Paris."
        in answer
    )


def test_agent_models_on_the_embedded_models() -> None:
    out = run("agent_models.py")  # hibari at speed 1.3 for the greeting, SmolLM2 for the answer
    assert "front_desk (voice own HibariTTS, llm session LlamaLLM): Hello" in out
    assert "user: What is the capital of France" in out
    assert "expert (voice session HibariTTS, llm own LlamaLLM):" in out


def test_custom_graph() -> None:
    out = run("custom_graph.py", "--scripted")
    assert "CC user: What is the capital of France?" in out
    assert "CC agent: The capital of France is Paris." in out
    assert out.strip().endswith("tools, captions")


def test_push_to_talk() -> None:
    out = run("push_to_talk.py", "--scripted")
    lines = out.splitlines()
    heard = next(i for i, line in enumerate(lines) if "heard (not a turn yet)" in line)
    released = next(i for i, line in enumerate(lines) if "button up" in line)
    reply = next(i for i, line in enumerate(lines) if "the agent starts its reply" in line)
    assert heard < released < reply and "[ 4.00s]" in lines[reply]
    assert "assistant: The capital of France is Paris." in out


def test_collect_email() -> None:
    out = run("collect_email.py", "--scripted")
    assert "[newsletter -> get_email]" in out and "[get_email -> newsletter]" in out
    assert "subscribers: ['ann@example.com']" in out


def test_testing_agents() -> None:
    out = run("testing_agents.py")
    assert out.count("ok  test_") == 2


def test_cloud_agent_without_keys_skips_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "ELEVEN_API_KEY", "ELEVENLABS_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    out = run("cloud_agent.py")
    assert out.startswith("skipped:")


def test_hooks_agent() -> None:
    out = run("hooks_agent.py")
    assert "model saw: Notes: LiveKit is an open source" in out  # on_user_turn_completed
    assert "user: what is LiveKit" in out  # stt_node
    assert "assistant: LiveKit is a realtime framework. Anything else?" in out  # llm, transcr.
    assert "spoken: Live Kit is a realtime framework." in out  # tts_node

"""A ported LiveKit example on the embedded models, as a user runs it: ``basic_agent.py
console --text`` with SmolLM2 answering (the ports' behaviour is tested with scripted models
in tests/test_livekit_examples.py; this checks the real stack runs them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PORT = Path(__file__).resolve().parents[2] / "examples" / "livekit" / "basic_agent.py"


def test_basic_agent_greets_and_answers_on_the_embedded_models() -> None:
    done = subprocess.run(
        [sys.executable, str(PORT), "console", "--text"],
        input="Hello, who are you?\n",
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    said = [line.removeprefix("agent: ").strip() for line in lines if line.startswith("agent: ")]
    # on_enter's greeting, then the reply to the typed turn, both from SmolLM2
    assert len(said) >= 2 and all(said), done.stdout[-2000:]
    assert lines.index("  you: Hello, who are you?") < max(
        i for i, line in enumerate(lines) if line.startswith("agent: ")
    )
    assert lines[-1] == "  [session closed: closed]"

"""Agent-session tests: puts this folder on ``sys.path`` for ``agent_helpers``; ``voice``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from agent_helpers import Voice  # noqa: E402


@pytest.fixture
def voice() -> Voice:
    return Voice()

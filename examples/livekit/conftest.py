"""The ports import their sibling modules by name, as LiveKit's examples do when run from their
folder (``python agent.py``, ``pytest``): put this folder on ``sys.path``."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def pytest_configure(config: object) -> None:
    """LiveKit's tests mark themselves ``evals`` and ``asyncio`` (pytest-asyncio's marker; without
    that plugin anyio's auto mode runs them): declare both so pytest does not warn."""
    for line in ("evals: LiveKit's LLM evaluations", "asyncio: run on asyncio"):
        config.addinivalue_line("markers", line)  # type: ignore[attr-defined]

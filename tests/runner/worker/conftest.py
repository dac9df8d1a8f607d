"""Shared setup for the worker tests: job functions live in ``worker_jobs`` (importable by the
spawned job processes, which inherit ``sys.path``), the fake LiveKit server is a fixture."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from voicegraph.runner.worker import FakeLiveKitServer  # noqa: E402


@pytest.fixture
async def fake_lk() -> AsyncIterator[FakeLiveKitServer]:
    async with FakeLiveKitServer(availability_timeout=5.0) as lk:
        yield lk

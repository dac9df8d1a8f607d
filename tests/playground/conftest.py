"""A real playground server on 127.0.0.1 (a free port) running the scripted test agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from voicegraph.playground import PlaygroundServer, agent_server

AGENT = str(Path(__file__).with_name("scripted_agent.py"))


@pytest.fixture
async def playground() -> AsyncIterator[tuple[PlaygroundServer, str]]:
    server = PlaygroundServer(agent_server(AGENT))
    port = await server.start("127.0.0.1", 0)
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session

"""A busy health-check port (a second worker on one host) is a one-line error naming the port
and what to do, before the worker registers or starts a job process; never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from voicegraph.graph import ConfigError
from voicegraph.runner.worker import AgentServer, FakeLiveKitServer

AGENT = """
from voicegraph.runner.worker import JobContext


async def entrypoint(ctx: JobContext) -> None:
    pass
"""


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another process listens on (on 127.0.0.1; the worker wants 0.0.0.0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


async def test_the_worker_refuses_a_busy_port_before_it_registers(
    fake_lk: FakeLiveKitServer, busy_port: int
) -> None:
    server = AgentServer(
        "worker_jobs:sleeper", num_idle_processes=1, http_port=busy_port, load_fnc=lambda: 0.0
    )
    with anyio.fail_after(20), pytest.raises(ConfigError) as info:
        await server.run(fake_lk.url, fake_lk.api_key, fake_lk.api_secret, handle_signals=False)
    message = str(info.value)
    assert f"health-check port {busy_port} is in use" in message
    assert "--http-port" in message and "0 picks any free port" in message
    assert "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert fake_lk.workers == {}  # it never registered (so it was never offered a job)


async def test_voicegraph_start_on_a_busy_port_prints_one_line(
    fake_lk: FakeLiveKitServer, busy_port: int, tmp_path: Path
) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    env = {
        **os.environ,
        "LIVEKIT_URL": fake_lk.url,
        "LIVEKIT_API_KEY": fake_lk.api_key,
        "LIVEKIT_API_SECRET": fake_lk.api_secret,
    }
    argv = [sys.executable, "-m", "voicegraph", "start", str(agent), "--http-port", str(busy_port)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with anyio.fail_after(30):
            while proc.poll() is None:  # the fake server answers meanwhile
                await anyio.sleep(0.05)
        stdout, stderr = (stream.decode() for stream in proc.communicate())
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr and "Traceback" not in stdout
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert f"health-check port {busy_port} is in use" in errors[0]
    assert len(stderr.splitlines()) <= 3, stderr  # no wall of logs either

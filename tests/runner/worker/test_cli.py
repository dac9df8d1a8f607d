"""The deployment commands: start (health check, jobs from the fake server, SIGTERM), dev
(restart on change), connect (clear error without a server), console (no audio device),
loading agents from files and modules."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import types
from pathlib import Path

import aiohttp
import anyio
import pytest

from voicegraph.graph import ConfigError
from voicegraph.runner.worker import AgentServer, FakeLiveKitServer, load_server
from voicegraph.runner.worker._cli import connect, start
from voicegraph.runner.worker._console import console

AGENT = """
import json
from pathlib import Path

from voicegraph.runner.worker import JobContext, JobProcess


def prewarm(proc: JobProcess) -> None:
    proc.userdata["ready"] = True


async def entrypoint(ctx: JobContext) -> None:
    if ctx.metadata == "connect":
        await ctx.connect()
    out = Path(__file__).parent / f"{ctx.job_id}.done"
    out.write_text(json.dumps({"prewarmed": ctx.proc.userdata.get("ready", False)}))
"""


@pytest.fixture
def agent_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_agent.py"
    path.write_text(AGENT)
    return path


def run_cli(argv: list[str], lk: FakeLiveKitServer, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LIVEKIT_URL": lk.url,
        "LIVEKIT_API_KEY": lk.api_key,
        "LIVEKIT_API_SECRET": lk.api_secret,
    }
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, *argv], env=env, stdout=out, stderr=out)


async def wait_exit(proc: subprocess.Popen[bytes], timeout: float = 15) -> int:
    with anyio.fail_after(timeout):
        while proc.poll() is None:
            await anyio.sleep(0.05)
    return proc.returncode


def test_load_server_from_a_file_a_module_and_an_attribute(agent_file: Path) -> None:
    server = load_server(str(agent_file))
    assert server.entrypoint is not None and server.prewarm is not None
    assert str(agent_file.parent) in server.sys_path
    assert load_server(f"{agent_file}:entrypoint").entrypoint is server.entrypoint
    with pytest.raises(ConfigError, match="is not a file"):
        load_server("missing_agent.py")
    with pytest.raises(ConfigError, match="cannot load the agent from 'no_such_module_xyz'"):
        load_server("no_such_module_xyz")
    with pytest.raises(ConfigError, match="expected an AgentServer"):
        load_server(f"{agent_file}:json")
    with pytest.raises(ConfigError, match="defines no AgentServer and no `entrypoint`"):
        load_server("json")


def test_start_without_credentials_says_what_to_set(
    agent_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert start(str(agent_file)) == 1
    assert "LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET are not set" in capsys.readouterr().err


async def test_voicegraph_start_serves_jobs_and_a_health_check_then_drains(
    fake_lk: FakeLiveKitServer, agent_file: Path, tmp_path: Path
) -> None:
    log = tmp_path / "start.log"  # the console command, as `python -m voicegraph` runs it
    proc = run_cli(["-m", "voicegraph", "start", str(agent_file), "--http-port", "0"], fake_lk, log)
    try:
        await fake_lk.wait_for_workers(1, timeout=20)
        job = await fake_lk.dispatch("room-1")
        assert await job.wait_for("JS_SUCCESS", "JS_FAILED") == "JS_SUCCESS", job.error
        port = re.search(r"health check on http://[\d.]+:(\d+)/", log.read_text())
        assert port is not None, log.read_text()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port[1]}/") as response:
                assert response.status == 200 and await response.text() == "OK"
            async with http.get(f"http://127.0.0.1:{port[1]}/worker") as response:
                assert (await response.json())["id"] == job.worker_id
        proc.send_signal(signal.SIGTERM)
        assert await wait_exit(proc) == 0, log.read_text()
    finally:
        proc.kill()
    assert json.loads((tmp_path / f"{job.id}.done").read_text()) == {"prewarmed": True}


async def test_dev_restarts_the_worker_when_the_code_changes(
    fake_lk: FakeLiveKitServer, agent_file: Path, tmp_path: Path
) -> None:
    code = "import sys; from voicegraph.runner.worker._cli import dev; "
    code += "sys.exit(dev(sys.argv[1], poll_interval=0.1, max_restarts=1))"
    log = tmp_path / "dev.log"
    proc = run_cli(["-c", code, str(agent_file)], fake_lk, log)
    try:
        [first] = await fake_lk.wait_for_workers(1, timeout=20)
        agent_file.write_text(AGENT + "\n# changed\n")
        await fake_lk.wait_until(lambda: not first.connected, timeout=20)
        [second] = await fake_lk.wait_for_workers(1, timeout=20)
        assert second.id != first.id
        job = await fake_lk.dispatch("room-2")
        assert await job.wait_for("JS_SUCCESS", "JS_FAILED") == "JS_SUCCESS"
        agent_file.write_text(AGENT + "\n# changed again\n")
        assert await wait_exit(proc, 20) == 0, log.read_text()
    finally:
        proc.kill()
    assert "my_agent.py changed; restarting the worker" in log.read_text()


def test_connect_without_a_server_is_a_clear_error(
    agent_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = load_server(str(agent_file))
    server.entrypoint = _connecting
    secret = "s" * 32
    status = connect(server, room="lobby", url="ws://127.0.0.1:9", api_key="k", api_secret=secret)
    assert status == 1
    err = capsys.readouterr().err
    assert "cannot join room 'lobby' at ws://127.0.0.1:9" in err
    assert "check that the server is reachable" in err


async def _connecting(ctx: object) -> None:
    await ctx.connect()  # type: ignore[attr-defined]


def test_console_without_an_audio_device_says_so(
    agent_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # not installed
    assert console(str(agent_file)) == 1
    err = capsys.readouterr().err
    assert "needs a microphone and a speaker" in err and "'sounddevice' package" in err
    assert "voicegraph dev" in err  # what to do instead

    def no_device(kind: str) -> None:
        raise RuntimeError("Error querying device -1")

    fake = types.ModuleType("sounddevice")
    fake.query_devices = no_device  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    assert console(str(agent_file)) == 1
    assert "found no usable microphone or speaker (Error querying device -1)" in (
        capsys.readouterr().err
    )


def test_run_app_dispatches_to_the_commands(
    agent_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from voicegraph.runner.worker import run_app

    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    server = AgentServer(_connecting)
    with pytest.raises(SystemExit) as exit_info:
        run_app(server, ["start"])
    assert exit_info.value.code == 1
    assert "LIVEKIT_URL" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        run_app(server, ["connect"])  # --room is required
    assert exit_info.value.code == 2


def test_the_voicegraph_commands(agent_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from voicegraph.cli import app

    monkeypatch.setitem(sys.modules, "sounddevice", None)
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    result = runner.invoke(app, ["console", str(agent_file)])
    assert result.exit_code == 1 and "needs a microphone and a speaker" in result.output
    for command in (["start"], ["dev"], ["connect", "--room", "lobby"]):
        result = runner.invoke(app, [*command, str(agent_file)])
        assert result.exit_code == 1 and "LIVEKIT_URL" in result.output, command
    assert runner.invoke(app, ["connect", str(agent_file)]).exit_code == 2  # --room missing

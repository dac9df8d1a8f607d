"""SIGTERM drains a worker process: no new jobs, running jobs finish and are reported, exit 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio

from voicegraph.runner.worker import FakeLiveKitServer

HERE = Path(__file__).parent


@contextmanager
def worker_process(
    lk: FakeLiveKitServer, log: Path, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    full_env = {
        **os.environ,
        "LIVEKIT_URL": lk.url,
        "LIVEKIT_API_KEY": lk.api_key,
        "LIVEKIT_API_SECRET": lk.api_secret,
        **env,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker_main.py")], env=full_env, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> int:
    with anyio.fail_after(timeout):
        while proc.poll() is None:
            await anyio.sleep(0.05)
    return proc.returncode


async def test_sigterm_lets_running_jobs_finish_and_reports_them(
    fake_lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with worker_process(fake_lk, log) as proc:
        [worker] = await fake_lk.wait_for_workers(1, timeout=20)
        params = json.dumps({"out": str(tmp_path), "seconds": 1.5})
        jobs = [await fake_lk.dispatch(f"room-{i}", metadata=params) for i in range(3)]
        for job in jobs:
            await job.wait_for("JS_RUNNING")
        proc.send_signal(signal.SIGTERM)
        await fake_lk.wait_until(lambda: worker.draining and not worker.available)
        late = await fake_lk.dispatch("room-late", metadata=params)
        for job in jobs:
            assert await job.wait_for("JS_SUCCESS", "JS_FAILED") == "JS_SUCCESS"
        assert await wait_exit(proc, 10) == 0, log.read_text()
    assert not late.assigned
    assert len(list(tmp_path.glob("*.end.json"))) == 3  # every job ran to its end
    assert "draining the worker" in log.read_text()


async def test_drain_timeout_shuts_jobs_down_cleanly(
    fake_lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    env = {"ENTRYPOINT": "worker_jobs:until_shutdown", "DRAIN_TIMEOUT": "0.5"}
    with worker_process(fake_lk, log, **env) as proc:
        await fake_lk.wait_for_workers(1, timeout=20)
        job = await fake_lk.dispatch("room-1", metadata=json.dumps({"out": str(tmp_path)}))
        await job.wait_for("JS_RUNNING")
        with anyio.fail_after(10):
            while not (tmp_path / f"{job.id}.start.json").exists():
                await anyio.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        assert await job.wait_for("JS_SUCCESS", "JS_FAILED") == "JS_SUCCESS"
        assert await wait_exit(proc, 10) == 0, log.read_text()
    shutdown = json.loads((tmp_path / f"{job.id}.shutdown.json").read_text())
    assert shutdown["reason"] == "the worker is shutting down"
    assert "drain timeout (0.5 s)" in log.read_text()

"""The worker against the loopback fake LiveKit server: register, availability, assignment,
job status, termination, load reports, pings, reconnects, dispatch across workers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from voicegraph.graph import ConfigError, ProviderError
from voicegraph.runner.worker import (
    AgentServer,
    FakeLiveKitServer,
    JobRequest,
    ProcOptions,
    credentials,
)

FAST = ProcOptions(hang_timeout=2.0, shutdown_timeout=1.0)


@asynccontextmanager
async def serving(
    lk: FakeLiveKitServer, entrypoint: str = "worker_jobs:sleeper", **settings: Any
) -> AsyncIterator[AgentServer]:
    settings.setdefault("num_idle_processes", 0)
    settings.setdefault("update_interval", 0.05)
    settings.setdefault("process", FAST)
    settings.setdefault("load_fnc", lambda server: 0.0)
    server = AgentServer(entrypoint, **settings)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.run, lk.url, lk.api_key, lk.api_secret)
        with anyio.fail_after(10):
            await server.wait_registered()
        yield server
        await server.aclose()


def meta(tmp_path: Path, **params: object) -> str:
    return json.dumps({"out": str(tmp_path), **params})


def started(folder: Path, job_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / f"{job_id}.start.json").read_text())
    return data


async def test_registers_reports_status_and_answers_pings(fake_lk: FakeLiveKitServer) -> None:
    async with serving(fake_lk, agent_name="", ping_interval=0.05) as server:
        [worker] = await fake_lk.wait_for_workers(1)
        await fake_lk.wait_until(lambda: worker.updates >= 2 and worker.pings >= 2)
        assert worker.id == server.id
        assert worker.version.startswith("voicegraph")
        assert worker.job_type == 0  # JT_ROOM
        assert worker.available and worker.load == 0.0 and not worker.draining
    kinds = [kind for _, kind in fake_lk.received]
    assert kinds[0] == "register"
    assert {"update_worker", "ping"} <= set(kinds)


async def test_leaving_async_with_closes_the_server(fake_lk: FakeLiveKitServer) -> None:
    server = AgentServer(
        "worker_jobs:sleeper", num_idle_processes=0, process=FAST, load_fnc=lambda: 0.0
    )
    with anyio.fail_after(10):
        # the task group ends only once run() has returned, after the server's block closed it
        async with anyio.create_task_group() as tg, server as entered:
            assert entered is server
            tg.start_soon(server.run, fake_lk.url, fake_lk.api_key, fake_lk.api_secret)
            await server.wait_registered()
            [worker] = await fake_lk.wait_for_workers(1)
        await fake_lk.wait_until(lambda: not worker.connected)


async def test_wrong_secret_is_a_clear_error(fake_lk: FakeLiveKitServer) -> None:
    server = AgentServer("worker_jobs:sleeper", num_idle_processes=0)
    with pytest.raises(ProviderError, match="rejected the worker's token.*LIVEKIT_API_SECRET"):
        await server.run(fake_lk.url, fake_lk.api_key, "not-the-secret-of-this-server-xxxxxx")
    assert fake_lk.rejected_tokens == 1


async def test_unreachable_server_is_a_clear_error() -> None:
    server = AgentServer("worker_jobs:sleeper", num_idle_processes=0, max_retry=1)
    with pytest.raises(ProviderError, match=r"cannot connect .* after 2 attempts.*LIVEKIT_URL"):
        await server.run("ws://127.0.0.1:9", "key", "secret-secret-secret-secret-secret")


def test_missing_environment_names_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET are"):
        credentials()
    monkeypatch.setenv("LIVEKIT_URL", "localhost:7880")
    with pytest.raises(ConfigError, match="must start with ws://"):
        credentials(api_key="k", api_secret="s")


async def test_a_job_runs_and_reports_running_then_success(
    fake_lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    async with serving(fake_lk):
        job = await fake_lk.dispatch("room-1", metadata=meta(tmp_path))
        assert job.assigned and job.identity == f"agent-{job.id}"
        await job.wait_for("JS_SUCCESS")
    assert [s for s, _ in job.statuses] == ["JS_RUNNING", "JS_SUCCESS"]
    record = started(tmp_path, job.id)
    assert record["room"] == "room-1" and record["token"] and record["url"] == fake_lk.url
    assert record["identity"] == job.identity


async def test_failures_are_reported_and_the_worker_goes_on(
    fake_lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    async with serving(fake_lk, entrypoint="worker_jobs:by_room") as server:
        raised = await fake_lk.dispatch("raise-1")
        crashed = await fake_lk.dispatch("crash-1")
        assert await raised.wait_for("JS_SUCCESS", "JS_FAILED") == "JS_FAILED"
        assert await crashed.wait_for("JS_SUCCESS", "JS_FAILED") == "JS_FAILED"
        ok = await fake_lk.dispatch("ok-1", metadata=meta(tmp_path))
        assert await ok.wait_for("JS_SUCCESS", "JS_FAILED") == "JS_SUCCESS"
        assert server.id in fake_lk.workers and fake_lk.workers[server.id].connected
    assert raised.error == "RuntimeError: the job exploded"
    assert crashed.error == "the job process died: exit code 7"


async def test_termination_shuts_the_job_down(fake_lk: FakeLiveKitServer, tmp_path: Path) -> None:
    async with serving(fake_lk, entrypoint="worker_jobs:until_shutdown"):
        job = await fake_lk.dispatch("room-1", metadata=meta(tmp_path))
        await job.wait_for("JS_RUNNING")
        with anyio.fail_after(10):
            while not (tmp_path / f"{job.id}.start.json").exists():
                await anyio.sleep(0.02)
        await fake_lk.terminate(job.id)
        await job.wait_for("JS_SUCCESS")
    shutdown = json.loads((tmp_path / f"{job.id}.shutdown.json").read_text())
    assert shutdown["reason"] == "terminated by the server"


async def test_offers_over_the_load_threshold_are_rejected(
    fake_lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    load = {"value": 0.0}
    async with serving(
        fake_lk, load_fnc=lambda: load["value"], load_threshold=0.7, update_interval=30
    ) as server:
        [worker] = fake_lk.connected_workers
        load["value"] = 0.8  # the server still thinks the worker is available (stale report)
        job = await fake_lk.dispatch("room-1")
        assert not job.assigned and job.declined_by == [worker.id]
        assert "load 0.80 is at or over load_threshold 0.7" in server.rejected[-1][1]
    assert not job.statuses


async def test_a_full_worker_is_reported_full_and_gets_no_offer(
    fake_lk: FakeLiveKitServer,
) -> None:
    load = {"value": 0.9}
    async with serving(fake_lk, load_fnc=lambda: load["value"], load_threshold=0.7):
        [worker] = fake_lk.connected_workers
        await fake_lk.wait_until(lambda: not worker.available)
        assert worker.load == pytest.approx(0.9)
        job = await fake_lk.dispatch("room-1")
        assert not job.assigned and job.declined_by == []  # never offered
        load["value"] = 0.1
        await fake_lk.wait_until(lambda: worker.available)


async def test_request_fnc_chooses_jobs_and_identity(
    fake_lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    async def request_fnc(request: JobRequest) -> None:
        if request.room.startswith("private"):
            request.reject()
        else:
            request.accept(identity=f"helper-{request.room}", name="Helper")

    async with serving(fake_lk, request_fnc=request_fnc):
        declined = await fake_lk.dispatch("private-1")
        taken = await fake_lk.dispatch("public-1", metadata=meta(tmp_path))
        await taken.wait_for("JS_SUCCESS")
    assert not declined.assigned
    assert taken.identity == "helper-public-1"
    assert started(tmp_path, taken.id)["identity"] == "helper-public-1"


async def test_explicit_dispatch_by_agent_name(fake_lk: FakeLiveKitServer) -> None:
    async with serving(fake_lk, agent_name="receptionist"):
        anonymous = await fake_lk.dispatch("room-1")
        named = await fake_lk.dispatch("room-2", agent_name="receptionist")
        await named.wait_for("JS_SUCCESS")
    assert not anonymous.assigned and named.assigned


async def test_reconnects_and_running_jobs_go_on(
    fake_lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    async with serving(fake_lk) as server:
        job = await fake_lk.dispatch("room-1", metadata=meta(tmp_path, seconds=1.5))
        await job.wait_for("JS_RUNNING")
        first_id = server.id
        await fake_lk.drop_worker(first_id)
        await fake_lk.wait_until(
            lambda: len(fake_lk.connected_workers) == 1 and server.id != first_id
        )
        await job.wait_for("JS_SUCCESS")
        assert server.pool.results[-1].status == "success"


async def test_dispatch_fills_the_most_loaded_available_worker_first(
    fake_lk: FakeLiveKitServer, tmp_path: Path
) -> None:
    """livekit-server packs jobs: the busiest available worker gets the next job, until its
    load reaches the threshold and it reports itself full; then the next worker fills up."""

    def load(server: AgentServer) -> float:
        return 0.25 * server.job_count

    settings: dict[str, Any] = {"load_fnc": load, "load_threshold": 0.7}
    async with serving(fake_lk, **settings) as a, serving(fake_lk, **settings) as b:
        owners = []
        for i in range(5):
            job = await fake_lk.dispatch(f"room-{i}", metadata=meta(tmp_path, seconds=4))
            await job.wait_for("JS_RUNNING")
            owners.append(job.worker_id)
            expected = sum(1 for o in owners if o == job.worker_id)
            worker = fake_lk.workers[job.worker_id]
            await fake_lk.wait_until(lambda w=worker, n=expected: w.job_count == n)
        first = owners[0]
        other = b.id if first == a.id else a.id
        assert owners == [first, first, first, other, other]

"""Job processes without a server: prewarm reuse, crash isolation, hang and memory limits,
shutdown, startup failures, 20 concurrent jobs."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from voicegraph.graph import RunnerError
from voicegraph.runner.worker import ChildSetup, JobInfo, ProcOptions, ProcPool

FAST = ProcOptions(hang_timeout=1.0, shutdown_timeout=1.0, memory_interval=0.1)


def meta(tmp_path: Path, **params: object) -> str:
    return json.dumps({"out": str(tmp_path), **params})


def records(folder: Path, phase: str = "start") -> dict[str, dict[str, object]]:
    return {p.name.split(".")[0]: json.loads(p.read_text()) for p in folder.glob(f"*.{phase}.json")}


async def wait_idle(pool: ProcPool, n: int) -> None:
    with anyio.fail_after(15):
        while pool.idle_count < n:
            await anyio.sleep(0.02)


async def test_prewarmed_processes_take_jobs_and_keep_their_userdata(tmp_path: Path) -> None:
    setup = ChildSetup("worker_jobs:sleeper", "worker_jobs:prewarm")
    async with ProcPool(setup, num_idle=2, options=FAST) as pool:
        await wait_idle(pool, 2)
        idle_pids = {ex.pid for ex in pool.executors}
        executors = [
            await pool.launch_job(JobInfo(f"job{i}", metadata=meta(tmp_path))) for i in range(2)
        ]
        for ex in executors:
            await ex.closed.wait()
        await wait_idle(pool, 2)  # replaced: the pool keeps two ready
    results = {r.job_id: r for r in pool.results}
    assert all(r.status == "success" and r.warm for r in results.values())
    started = records(tmp_path)
    assert {r["pid"] for r in started.values()} == idle_pids  # the prewarmed processes ran them
    for r in started.values():
        assert r["userdata"] == {"prewarmed_in": r["pid"], "prewarm_runs": 1}
    assert all(r.start_latency < 2.0 for r in results.values())


async def test_a_crash_fails_only_its_own_job(tmp_path: Path) -> None:
    release = tmp_path / "release"  # the healthy job runs until the crashes are over
    setup = ChildSetup("worker_jobs:waits_for_release")
    async with ProcPool(setup, num_idle=0, options=FAST) as pool:
        job = JobInfo("healthy", metadata=meta(tmp_path, release=str(release)))
        healthy = await pool.launch_job(job)
        for entry in ("raises", "exits", "segfault"):
            pool.setup = ChildSetup(f"worker_jobs:{entry}")
            ex = await pool.launch_job(JobInfo(entry))
            await ex.closed.wait()
            assert healthy.alive
        release.touch()
        await healthy.closed.wait()
    results = {r.job_id: r for r in pool.results}
    assert results["raises"].status == "failed"
    assert results["raises"].error == "RuntimeError: the job exploded"
    assert results["exits"].error == "the job process died: exit code 7"
    assert results["segfault"].error == "the job process died: killed by signal SIGSEGV"
    assert results["healthy"].status == "success"


async def test_a_job_blocking_its_event_loop_is_killed_after_the_hang_timeout() -> None:
    async with ProcPool(ChildSetup("worker_jobs:blocks"), options=FAST) as pool:
        ex = await pool.launch_job(JobInfo("hung"))
        with anyio.fail_after(10):
            await ex.closed.wait()
    assert ex.result is not None and ex.result.status == "failed"
    assert "stopped answering" in ex.result.error and "hang_timeout 1.0 s" in ex.result.error
    assert 1.0 < ex.result.duration < 10.0


async def test_a_job_over_the_memory_limit_is_killed() -> None:
    options = ProcOptions(memory_limit_mb=250, memory_interval=0.05)
    async with ProcPool(ChildSetup("worker_jobs:hog"), options=options) as pool:
        ex = await pool.launch_job(JobInfo("hog"))
        with anyio.fail_after(15):
            await ex.closed.wait()
    assert ex.result is not None and ex.result.status == "failed"
    assert "over job_memory_limit_mb=250" in ex.result.error
    assert ex.result.peak_rss_mb > 250


async def test_shutdown_runs_the_callbacks_and_kills_a_job_that_ignores_it(tmp_path: Path) -> None:
    async with ProcPool(ChildSetup("worker_jobs:until_shutdown"), options=FAST) as pool:
        polite = await pool.launch_job(JobInfo("polite", metadata=meta(tmp_path)))
        pool.setup = ChildSetup("worker_jobs:stubborn")
        stubborn = await pool.launch_job(JobInfo("stubborn"))
        with anyio.fail_after(10):
            while not records(tmp_path):
                await anyio.sleep(0.02)
            await polite.aclose("terminated by the test")
            await stubborn.aclose("terminated by the test")
    assert polite.result is not None and polite.result.status == "success"
    assert records(tmp_path, "shutdown")["polite"]["reason"] == "terminated by the test"
    assert stubborn.result is not None and stubborn.result.status == "failed"
    assert "did not shut down within 1.0 s" in stubborn.result.error


async def test_a_failing_prewarm_is_a_clear_error_and_the_pool_backs_off() -> None:
    setup = ChildSetup("worker_jobs:sleeper", "worker_jobs:failing_prewarm")
    async with ProcPool(setup, num_idle=1, options=FAST) as pool:
        with pytest.raises(RunnerError, match="prewarm failed.*the model file is missing"):
            await pool.launch_job(JobInfo("job"))
        await anyio.sleep(0.5)
        assert pool.processes_started <= 3  # retried with backoff, not in a tight loop


async def test_a_slow_prewarm_hits_the_initialize_timeout() -> None:
    setup = ChildSetup("worker_jobs:sleeper", "worker_jobs:slow_prewarm")
    options = ProcOptions(initialize_timeout=1.0)
    async with ProcPool(setup, options=options) as pool:
        with pytest.raises(RunnerError, match=r"did not start within 1.0 s"):
            await pool.launch_job(JobInfo("job"))


async def test_twenty_concurrent_jobs(tmp_path: Path) -> None:
    setup = ChildSetup("worker_jobs:barrier")
    async with ProcPool(setup, num_idle=0, options=FAST) as pool:
        with anyio.fail_after(40):
            async with anyio.create_task_group() as tg:
                for i in range(20):
                    info = JobInfo(f"job{i:02d}", metadata=meta(tmp_path, barrier=20))
                    tg.start_soon(pool.launch_job, info)
            assert len(pool.running) == 20
            await pool.wait_for_jobs()
    assert len(pool.results) == 20
    assert all(r.status == "success" for r in pool.results), [r.error for r in pool.results]
    assert len({r.pid for r in pool.results}) == 20
    assert len(records(tmp_path, "end")) == 20


async def test_closing_the_pool_leaves_no_process_behind() -> None:
    import psutil

    async with ProcPool(ChildSetup("worker_jobs:stubborn"), num_idle=2, options=FAST) as pool:
        await pool.launch_job(JobInfo("a"))
        await wait_idle(pool, 2)
        pids = [ex.pid for ex in pool.executors]
    assert len(pids) == 3
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_processes_start_a_few_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREWARM_LOG", str(tmp_path))
    setup = ChildSetup("worker_jobs:sleeper", "worker_jobs:timed_prewarm")
    async with ProcPool(setup, num_idle=6, options=FAST, max_concurrent_starts=2) as pool:
        await wait_idle(pool, 6)
    spans = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert len(spans) == 6
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert most <= 2

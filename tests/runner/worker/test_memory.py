"""Job memory limits: a job's subprocesses count towards its limit and end with it, whatever
ends the job; a job allocating as fast as it can is killed within a few sampling intervals of
its limit (asserted on the RSS the allocator records itself, not on wall-clock time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import psutil
import pytest
from allocator import CHUNK_MB, read_log

from voicegraph.graph import ConfigError
from voicegraph.runner.worker import ChildSetup, JobInfo, ProcOptions, ProcPool
from voicegraph.runner.worker._proc import ProcessTree

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

MB = 2**20
WINDOW = 0.25
"""Seconds of allocation a job may overshoot by in these tests: 5 times the default sampling
interval (50 ms, the documented bound), the rest slack for a busy test machine."""


def meta(out: Path, **params: object) -> str:
    return json.dumps({"out": str(out), **params})


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # killed, not yet reaped
    except psutil.NoSuchProcess:
        return True


async def survivors(pids: list[int], deadline: float = 10.0) -> list[int]:
    """The processes of ``pids`` still running after ``deadline`` (an upper bound, not a
    measure: SIGKILL takes effect in microseconds)."""
    with anyio.move_on_after(deadline):
        while not all(gone(pid) for pid in pids):
            await anyio.sleep(0.02)
    return [pid for pid in pids if not gone(pid)]


async def wait_for_file(path: Path) -> int:
    with anyio.fail_after(20):
        while not path.exists() or not path.read_text():
            await anyio.sleep(0.01)
    return int(path.read_text())


@pytest.mark.parametrize("session", [False, True], ids=["in-its-group", "own-session"])
async def test_a_subprocess_over_the_limit_dies_with_its_job(tmp_path: Path, session: bool) -> None:
    options = ProcOptions(memory_limit_mb=250)
    setup = ChildSetup("memory_jobs:subprocess_hog")
    async with ProcPool(setup, options=options) as pool:
        info = JobInfo("hog", metadata=meta(tmp_path, cap_mb=400, session=session))
        ex = await pool.launch_job(info)
        with anyio.fail_after(30):
            await ex.closed.wait()
        job, child = (
            await wait_for_file(tmp_path / "job.pid"),
            await wait_for_file(tmp_path / "child.pid"),
        )
        assert await survivors([job, child]) == []  # the kill did it, not the pool closing
    assert ex.result is not None and ex.result.status == "failed"
    assert "over job_memory_limit_mb=250" in ex.result.error
    assert ex.result.peak_rss_mb > 250  # the subprocess's memory was counted


async def test_a_job_that_returns_leaves_no_subprocess_behind(tmp_path: Path) -> None:
    setup = ChildSetup("memory_jobs:leaves_a_subprocess")
    async with ProcPool(setup) as pool:
        ex = await pool.launch_job(JobInfo("leaver", metadata=meta(tmp_path)))
        with anyio.fail_after(30):
            await ex.closed.wait()
        assert ex.result is not None and ex.result.status == "success", ex.result
        child = await wait_for_file(tmp_path / "child.pid")
        assert await survivors([child]) == []


async def test_closing_the_pool_ends_the_subprocesses_of_running_jobs(tmp_path: Path) -> None:
    async with ProcPool(ChildSetup("memory_jobs:subprocess_hog")) as pool:
        await pool.launch_job(JobInfo("running", metadata=meta(tmp_path, cap_mb=0)))
        job = await wait_for_file(tmp_path / "job.pid")
        child = await wait_for_file(tmp_path / "child.pid")
    assert await survivors([job, child]) == []


@pytest.mark.parametrize("entry", ["fast_hog", "subprocess_hog"], ids=["job", "subprocess"])
async def test_a_fast_allocation_is_stopped_within_a_few_sampling_intervals(
    tmp_path: Path, entry: str
) -> None:
    """The overshoot over the limit is at most what the job allocates in WINDOW.

    The limit is ~60 MB above the job's idle RSS, so it is crossed early (well within a second);
    a sampler much slower than WINDOW would let the job run far past it.
    """
    limit_mb, cap_mb = 120, 2000
    options = ProcOptions(memory_limit_mb=limit_mb)  # the default sampling interval
    async with ProcPool(ChildSetup(f"memory_jobs:{entry}"), options=options) as pool:
        ex = await pool.launch_job(JobInfo("fast", metadata=meta(tmp_path, cap_mb=cap_mb)))
        with anyio.fail_after(60):
            await ex.closed.wait()
    assert ex.result is not None and f"over job_memory_limit_mb={limit_mb}" in ex.result.error
    records = read_log(tmp_path)
    assert len(records) >= 2, records
    (t0, rss0), (t1, rss1) = records[0], records[-1]
    rate = (rss1 - rss0) / MB / (t1 - t0)  # MB/s, as fast as this machine lets it allocate
    others = 0 if entry == "fast_hog" else int((tmp_path / "job.rss").read_text()) / MB
    peak = others + rss1 / MB + CHUNK_MB  # the true peak: at most one step past the last record
    print(f"\n{entry}: {rate:.0f} MB/s; peak {peak:.0f} MB for a {limit_mb} MB limit")
    assert rss1 / MB < cap_mb - CHUNK_MB  # stopped on the way, not after it finished
    assert peak <= limit_mb + rate * WINDOW + CHUNK_MB, (peak, rate)


WORKER = """
import json, sys, time
sys.path.insert(0, {here!r})
import anyio
from voicegraph.runner.worker import ChildSetup, JobInfo, ProcPool

async def main():
    async with ProcPool(ChildSetup("memory_jobs:subprocess_hog")) as pool:
        await pool.launch_job(JobInfo("job", metadata=json.dumps({{"out": {out!r}, "cap_mb": 0}})))
        await anyio.sleep(120)

if __name__ == "__main__":
    anyio.run(main)
"""


async def test_a_worker_killed_outright_leaves_no_job_subprocess_behind(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(here=str(Path(__file__).parent), out=str(tmp_path)))
    worker = subprocess.Popen([sys.executable, str(script)])
    try:
        job = await wait_for_file(tmp_path / "job.pid")
        child = await wait_for_file(tmp_path / "child.pid")
    finally:
        worker.kill()  # SIGKILL: the worker cannot clean up; the job process must
        worker.wait()
    assert await survivors([job, child]) == []


def test_a_sample_counts_a_subprocess_started_since_the_last_one_from_any_thread() -> None:
    tree = ProcessTree(os.getpid())  # this process may have others (job processes, ...)
    assert tree.rss() is not None
    started: list[subprocess.Popen[bytes]] = []
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    thread = threading.Thread(target=lambda: started.append(subprocess.Popen(sleeper)))
    thread.start()
    thread.join()
    [child] = started
    try:
        alone = tree.rss()
        assert child.pid in tree.descendants
        assert alone is not None and alone > psutil.Process(child.pid).memory_info().rss
    finally:
        child.kill()
        child.wait()
    tree.rss()
    assert child.pid not in tree.descendants


def test_the_sampling_interval_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="memory_interval must be > 0"):
        ProcOptions(memory_interval=0)

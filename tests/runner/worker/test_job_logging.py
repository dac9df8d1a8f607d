"""A job process logging at DEBUG never prints a credential, and network libraries stay quiet."""

from __future__ import annotations

import logging

import pytest
from logging_jobs import SECRET

from voicegraph.runner.worker import ChildSetup, JobInfo, ProcOptions, ProcPool


async def test_a_debug_job_process_masks_keys(capfd: pytest.CaptureFixture[str]) -> None:
    setup = ChildSetup("logging_jobs:logs_a_key", log_level=logging.DEBUG)
    async with ProcPool(setup, num_idle=0, options=ProcOptions(shutdown_timeout=2.0)) as pool:
        job = await pool.launch_job(JobInfo("logs"))
        await job.closed.wait()
    assert [r.status for r in pool.results] == ["success"]
    err = capfd.readouterr().err
    assert SECRET not in err
    assert "DEBUG [job process" in err and "voicegraph.job: sending xi-api-key: ***" in err
    assert "done with Authorization: Bearer ***" in err
    assert "(library)" not in err  # websockets stays at WARNING in the job process too

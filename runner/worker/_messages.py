"""The worker's protocol messages and its decision on a job offer (used by AgentServer)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ._job import JobRequest
from ._options import ServerOptions
from ._proc import JobExecutor

if TYPE_CHECKING:
    from livekit.protocol import agent

__all__ = ["decide", "job_update", "register_request", "worker_status"]

logger = logging.getLogger("voicegraph.worker")

VERSION = "voicegraph-0.1.0"
"""The version the worker registers with."""
_JOB_TYPES = {"room": 0, "publisher": 1, "participant": 2}

RequestFnc = Callable[[JobRequest], Awaitable[None] | None]


def register_request(options: ServerOptions) -> agent.WorkerMessage:
    """The register message a worker sends first on every connection."""
    from livekit.protocol import agent, models

    request = agent.RegisterWorkerRequest(
        type=_JOB_TYPES[options.job_type],  # type: ignore[arg-type]
        agent_name=options.agent_name,
        version=VERSION,
        allowed_permissions=models.ParticipantPermission(
            can_publish=True,
            can_subscribe=True,
            can_publish_data=True,
            can_update_metadata=True,
            hidden=options.hidden,
            agent=True,
        ),
    )
    return agent.WorkerMessage(register=request)


def worker_status(*, load: float, full: bool, jobs: int, draining: bool) -> agent.WorkerMessage:
    """An ``update_worker`` message: available or full, the load, the job count, draining."""
    from livekit.protocol import agent

    update = agent.UpdateWorkerStatus(
        status=agent.WorkerStatus.WS_FULL if full else agent.WorkerStatus.WS_AVAILABLE,
        load=load,
        job_count=jobs,
        draining=draining,
    )
    return agent.WorkerMessage(update_worker=update)


def job_update(ex: JobExecutor) -> agent.WorkerMessage | None:
    """The ``update_job`` message for an executor's change (running, or how it ended)."""
    from livekit.protocol import agent

    job, result = ex.job, ex.result
    if job is None:
        return None
    if ex.status == "closed" and result is not None:
        ok = result.status == "success"
        status = agent.JobStatus.JS_SUCCESS if ok else agent.JobStatus.JS_FAILED
        error = result.error
        if ok:
            logger.info("job %s (room %r) finished after %.1f s", job.id, job.room, result.duration)
        else:
            logger.error("job %s (room %r) failed: %s", job.id, job.room, error)
    elif ex.running_at:
        status, error = agent.JobStatus.JS_RUNNING, ""
    else:
        return None
    return agent.WorkerMessage(
        update_job=agent.UpdateJobStatus(job_id=job.id, status=status, error=error)
    )


async def decide(
    request: JobRequest,
    *,
    draining: bool,
    load: float,
    threshold: float,
    request_fnc: RequestFnc | None,
) -> str:
    """Accept or reject ``request``; return why it was rejected ("" when accepted)."""
    if draining:
        request.reject()
        return "the worker is draining"
    if load >= threshold:
        request.reject()
        return f"load {load:.2f} is at or over load_threshold {threshold}"
    if request_fnc is None:
        request.accept()
        return ""
    try:
        result = request_fnc(request)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        logger.exception("request_fnc failed for job %s; rejecting it", request.id)
        request.reject()
        return f"request_fnc raised {type(exc).__name__}"
    if request.decision is None:
        logger.warning("request_fnc neither accepted nor rejected job %s", request.id)
        request.reject()
        return "request_fnc did not decide"
    return "" if request.decision else "request_fnc rejected it"

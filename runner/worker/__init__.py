"""Deployment: an agent server that takes jobs from LiveKit and runs each in a job process.

* :class:`AgentServer` — the worker: registers with a LiveKit server (agent worker protocol),
  reports load, accepts offers, runs jobs in a prewarmed process pool, drains on SIGTERM.
* :class:`JobContext` — what a job's entrypoint receives (room, job, process, shutdown hooks);
  :func:`get_job_context` finds it from any code the job runs.
* :class:`ProcPool` / :class:`JobExecutor` — the job processes (prewarm, crash isolation, hang
  and memory limits), usable without a server.
* ``FakeLiveKitServer`` — a loopback server speaking the worker protocol, for tests (import
  it from :mod:`voicegraph.testing`; it stays importable here for this release).
* :class:`LocalRoom` — an in-process room with local tracks (console mode, tests).
* :func:`run_app` — the command line of an agent script (``python agent.py start``); the
  ``voicegraph start|dev|connect|console`` commands run the same code.

Nothing here imports ``voicegraph.nodes``: the worker runs any entrypoint.
"""

from voicegraph.graph import rehome

from ._child import ChildSetup as ChildSetup
from ._cli import load_server as load_server
from ._cli import run_app as run_app
from ._fake_server import DispatchedJob as DispatchedJob
from ._fake_server import FakeLiveKitServer as FakeLiveKitServer
from ._fake_server import FakeWorker as FakeWorker
from ._job import JobContext as JobContext
from ._job import JobInfo as JobInfo
from ._job import JobProcess as JobProcess
from ._job import JobRequest as JobRequest
from ._job import JobSession as JobSession
from ._job import get_job_context as get_job_context
from ._local_room import LocalParticipant as LocalParticipant
from ._local_room import LocalPublication as LocalPublication
from ._local_room import LocalRoom as LocalRoom
from ._local_room import SentText as SentText
from ._options import Credentials as Credentials
from ._options import ServerOptions as ServerOptions
from ._options import credentials as credentials
from ._pool import ProcPool as ProcPool
from ._proc import JobExecutor as JobExecutor
from ._proc import JobResult as JobResult
from ._proc import ProcOptions as ProcOptions
from ._report import SessionReport as SessionReport
from ._server import AgentServer as AgentServer

__all__ = [
    "AgentServer",
    "ChildSetup",
    "Credentials",
    "JobContext",
    "JobExecutor",
    "JobInfo",
    "JobProcess",
    "JobRequest",
    "JobResult",
    "JobSession",
    "LocalRoom",
    "ProcOptions",
    "ProcPool",
    "SentText",
    "ServerOptions",
    "SessionReport",
    "credentials",
    "get_job_context",
    "run_app",
]

rehome(__name__, globals(), __all__)
# the loopback server is a test helper: its public home is voicegraph.testing
rehome("voicegraph.testing", globals(), ["DispatchedJob", "FakeLiveKitServer", "FakeWorker"])

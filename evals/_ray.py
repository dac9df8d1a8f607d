"""Evaluate a corpus on a Ray cluster: one actor per worker, each loading the models once.

The driver hands each worker one file at a time and streams the results back as they finish
(so a worker that dies loses at most the file it was on). A file whose worker died is given
to a new worker, up to :data:`MAX_ATTEMPTS` times in all; a file is counted once, by its place
in the corpus, whatever happens to its attempts. The report is built from the results in
corpus order, so it is the same as an in-process run's.

Workers need the installed ``voicegraph`` package (the embedded models come with it; nothing
is downloaded) and must be able to import the agent factory's module: on a local cluster the
driver's working directory is put on the workers' ``PYTHONPATH``; on a remote one install the
module there (or pass Ray a ``runtime_env``, e.g. with ``working_dir``, through ``ray.init``
before calling :func:`evaluate`, which then uses the connection as it is).
"""

from __future__ import annotations

import os
import resource
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from voicegraph.graph import ConfigError
from voicegraph.nodes.agent import Agent

from ._corpus import FileSpec
from ._run import EvalSettings, FileResult, evaluate_file

__all__ = ["MAX_ATTEMPTS", "WorkerStats", "evaluate_on_ray"]

MAX_ATTEMPTS = 3
"""Times a file is tried when its worker dies (a file that kills every worker is reported as
an error after this many)."""


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """One Ray worker's share of a run.

    Attributes:
        pid: the worker process on its node.
        files: results it returned (the file it died on, if it did, is not counted).
        peak_rss_mb: the worker process's peak resident memory in MiB (``None`` if it died).
    """

    pid: int
    files: int
    peak_rss_mb: float | None

    @property
    def died(self) -> bool:
        """Whether the worker died during the run."""
        return self.peak_rss_mb is None


class _Worker:
    """The actor: evaluates files in its process, so the models load once per worker."""

    def __init__(self, agent_factory: Callable[[], Agent], settings: EvalSettings) -> None:
        self._factory = agent_factory
        self._settings = settings

    def pid(self) -> int:
        return os.getpid()

    def run(self, spec: FileSpec) -> FileResult:
        return evaluate_file(spec, self._factory, self._settings)

    def peak_rss_mb(self) -> float:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB


def evaluate_on_ray(
    specs: Sequence[FileSpec],
    agent_factory: Callable[[], Agent],
    settings: EvalSettings,
    *,
    address: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int, FileResult], None] | None = None,
) -> tuple[list[FileResult], list[WorkerStats]]:
    """Evaluate ``specs`` on Ray workers; returns the results in ``specs`` order and each
    worker's figures.

    Uses the Ray connection if ``ray.init`` was already called; else connects to
    ``address`` (``None``: ``RAY_ADDRESS`` or a new local instance, as ``ray.init`` does) and
    disconnects at the end. ``workers`` defaults to one per CPU of the cluster.

    Raises:
        ConfigError: Ray is not installed, or the cluster cannot be reached.
    """
    ray = _import_ray()
    connected_here = False
    if not ray.is_initialized():
        try:
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                runtime_env={"env_vars": {"PYTHONPATH": os.getcwd()}} if address is None else None,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "a local Ray instance"
            raise ConfigError(f"cannot start or reach Ray at {where}: {exc}") from None
        connected_here = True
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        scheduler = _Scheduler(ray, agent_factory, settings, min(count, len(specs)))
        return scheduler.run(specs, progress)
    finally:
        if connected_here:
            ray.shutdown()


class _Scheduler:
    """Keeps every worker busy with one file; replaces dead workers and retries their file."""

    def __init__(
        self, ray: Any, agent_factory: Callable[[], Agent], settings: EvalSettings, count: int
    ) -> None:
        self._ray = ray
        self._actor_class = ray.remote(num_cpus=1, max_restarts=0)(_Worker).options(
            runtime_env={"env_vars": {"OMP_NUM_THREADS": _threads()}}
        )
        self._args = (agent_factory, settings)
        self._mode = "realtime" if settings.realtime else "virtual"
        self._files: dict[Any, int] = {}  # worker -> results returned
        self._pids: dict[Any, Any] = {}  # worker -> its pid (an object ref)
        self._dead: list[WorkerStats] = []
        for _ in range(max(1, count)):
            self._start()

    def _start(self) -> Any:
        actor = self._actor_class.remote(*self._args)
        self._files[actor], self._pids[actor] = 0, actor.pid.remote()
        return actor

    def run(
        self,
        specs: Sequence[FileSpec],
        progress: Callable[[int, int, FileResult], None] | None,
    ) -> tuple[list[FileResult], list[WorkerStats]]:
        ray = self._ray
        pending = deque(range(len(specs)))
        attempts = [0] * len(specs)
        results: dict[int, FileResult] = {}
        running: dict[Any, tuple[Any, int]] = {}
        idle = list(self._files)
        while pending or running:
            while idle and pending:
                actor, index = idle.pop(), pending.popleft()
                attempts[index] += 1
                running[actor.run.remote(specs[index])] = (actor, index)
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                actor, index = running.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    idle.append(self._replace(actor))
                    if attempts[index] < MAX_ATTEMPTS:
                        pending.appendleft(index)
                        continue
                    why = f"its Ray worker died {attempts[index]} times ({_first_line(exc)})"
                    result = self._failed(specs[index], why)
                except ray.exceptions.RayError as exc:  # e.g. the result could not be unpickled
                    idle.append(actor)
                    result = self._failed(specs[index], f"Ray could not run it: {_first_line(exc)}")
                else:
                    idle.append(actor)
                    self._files[actor] += 1
                if index not in results:  # counted once, whatever its attempts did
                    results[index] = result
                    if progress is not None:
                        progress(len(results), len(specs), result)
        live = [
            WorkerStats(ray.get(self._pids[a]), n, ray.get(a.peak_rss_mb.remote()))
            for a, n in self._files.items()
        ]
        return [results[i] for i in range(len(specs))], live + self._dead

    def _replace(self, actor: Any) -> Any:
        """A new worker in place of a dead one."""
        try:
            pid = int(self._ray.get(self._pids.pop(actor), timeout=1))
        except Exception:  # it died before it could say
            pid = 0
        self._dead.append(WorkerStats(pid, self._files.pop(actor), None))
        self._ray.kill(actor)
        return self._start()

    def _failed(self, spec: FileSpec, error: str) -> FileResult:
        return FileResult(spec.id, spec.audio, self._mode, error=error, reference=spec.transcript)


def _threads() -> str:
    """The driver's OpenMP thread count, for the workers.

    Ray gives an actor ``OMP_NUM_THREADS`` = its CPUs (1) unless told otherwise, and that
    count changes the arithmetic of OpenBLAS (numpy: Whisper's features), CTranslate2 and
    llama.cpp, and so the transcripts and replies: with the driver's count, a file gives the
    same result on a worker as in the driver's process (on the same kind of machine).
    """
    return os.environ.get("OMP_NUM_THREADS") or str(len(os.sched_getaffinity(0)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--ray needs Ray: pip install 'voicegraph[ray]' (or pip install ray)"
        ) from None
    return ray

"""The deployment commands, as plain functions (the ``voicegraph`` CLI wraps them).

* :func:`start` — a production worker: registers with LiveKit, takes jobs, drains on SIGTERM.
* :func:`dev` — the same with development defaults, restarted when a ``.py`` file changes.
* :func:`connect` — run the agent once in one room, joining it directly (no dispatch).
* :func:`console` — talk to the agent with the local microphone and speaker (no server).

Each takes the agent as ``TARGET``: ``path/to/agent.py`` or ``package.module``, optionally
``:attribute`` naming an :class:`AgentServer` or an ``async def entrypoint(ctx)`` (default: the
module's ``AgentServer`` named ``server``, else its function ``entrypoint``; a ``prewarm``
function beside it is used). Each returns a process exit status and prints errors plainly.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio

from voicegraph.graph import ConfigError, VoicegraphError

from ._child import resolve, run_job
from ._job import JobContext, JobInfo, JobProcess
from ._logging import setup_logging
from ._options import ServerOptions, credentials
from ._server import AgentServer

__all__ = ["connect", "dev", "inline_context", "load_server", "run_app", "run_inline", "start"]

logger = logging.getLogger("voicegraph.worker")

Echo = Callable[[str], None]


def _echo_err(text: str) -> None:
    print(text, file=sys.stderr)


def load_server(target: str | AgentServer) -> AgentServer:
    """Load the agent named by ``target`` (see the module docstring) as an :class:`AgentServer`.

    An :class:`AgentServer` is returned as it is.

    Raises:
        ConfigError: the file, module or attribute is missing or not an agent.
    """
    if isinstance(target, AgentServer):
        return target
    spec, _, attr = target.partition(":")
    sys_path: tuple[str, ...] = ()
    if spec.endswith(".py"):
        path = Path(spec).resolve()
        if not path.is_file():
            raise ConfigError(f"cannot load the agent: {spec!r} is not a file")
        folder = str(path.parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        sys_path = (folder,)
        module_name = path.stem
    else:
        module_name = spec
        if str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
            sys_path = (str(Path.cwd()),)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot load the agent from {target!r}: {exc}") from exc
    obj: Any
    if attr:
        try:
            obj = resolve(f"{module_name}:{attr}")
        except AttributeError:
            raise ConfigError(f"{module_name!r} has no attribute {attr!r}") from None
    else:
        servers = [v for v in vars(module).values() if isinstance(v, AgentServer)]
        obj = getattr(module, "server", None)
        if not isinstance(obj, AgentServer):
            obj = servers[0] if servers else getattr(module, "entrypoint", None)
        if obj is None:
            raise ConfigError(
                f"{module_name!r} defines no AgentServer and no `entrypoint` function; "
                f"name one with {spec}:<attribute>"
            )
    if isinstance(obj, AgentServer):
        server = obj
    elif inspect.iscoroutinefunction(obj):
        prewarm = getattr(module, "prewarm", None)
        server = AgentServer(obj, prewarm=prewarm if callable(prewarm) else None)
    else:
        raise ConfigError(
            f"{target!r} is a {type(obj).__name__}: expected an AgentServer or an "
            "`async def entrypoint(ctx: JobContext)`"
        )
    server.sys_path = tuple(dict.fromkeys((*server.sys_path, *sys_path)))
    return server


def _setup_logging(level: str) -> int:
    return setup_logging(level)  # network libraries quiet, credentials masked: see _logging


def start(
    target: str | AgentServer,
    *,
    url: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    http_port: int | None = 8081,
    log_level: str = "info",
    dev_mode: bool = False,
    echo: Echo = _echo_err,
) -> int:
    """Run a worker until it is drained (SIGTERM/Ctrl-C) or fails; return the exit status.

    Args:
        target: the agent (see the module docstring).
        url: the LiveKit server (default ``LIVEKIT_URL``).
        api_key: default ``LIVEKIT_API_KEY``.
        api_secret: default ``LIVEKIT_API_SECRET``.
        http_port: the health-check port (default 8081; ``None``: none).
        log_level: ``debug``, ``info`` (default), ``warning`` or ``error``.
        dev_mode: development defaults (no load limit, no idle processes).
        echo: where errors are printed (default stderr).
    """
    try:
        level = _setup_logging(log_level)
        creds = credentials(url, api_key, api_secret)
        server = load_server(target)
        options = server.options
        if dev_mode:
            dev_options = ServerOptions.development()
            options = replace(
                options,
                load_threshold=dev_options.load_threshold,
                num_idle_processes=0,
                dev=True,
                drain_timeout=min(options.drain_timeout, 5.0),
            )
        server.options = replace(options, http_port=http_port)
        server.log_level = level
        anyio.run(server.run, creds.url, creds.api_key, creds.api_secret)
    except VoicegraphError as exc:
        echo(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


# ---------------------------------------------------------------------- dev


def _source_files(root: Path) -> dict[Path, float]:
    skip = {".git", "__pycache__", ".venv", "venv", "node_modules", ".mypy_cache"}
    files: dict[Path, float] = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip and not d.startswith(".")]
        for name in names:
            if name.endswith(".py"):
                path = Path(folder) / name
                try:
                    files[path] = path.stat().st_mtime
                except OSError:
                    continue
    return files


def _dev_worker(target: str, url: str, api_key: str, api_secret: str, log_level: str) -> None:
    sys.exit(start(target, url=url, api_key=api_key, api_secret=api_secret, http_port=None,
                   log_level=log_level, dev_mode=True))  # fmt: skip


def dev(
    target: str,
    *,
    url: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    log_level: str = "info",
    watch: Path | None = None,
    poll_interval: float = 0.5,
    max_restarts: int | None = None,
    echo: Echo = _echo_err,
) -> int:
    """Run a development worker and restart it whenever a ``.py`` file under ``watch`` changes.

    The worker runs in a child process with development defaults (no load limit, no idle
    processes, a 5 s drain on restart). ``watch`` defaults to the agent file's folder (or the
    current folder for a module). Stop with Ctrl-C. ``max_restarts`` (for tests) returns at
    the change after that many restarts.
    """
    try:
        _setup_logging(log_level)
        creds = credentials(url, api_key, api_secret)
        load_server(target)  # fail here, with a clear message, if the agent cannot load
    except VoicegraphError as exc:
        echo(f"error: {exc}")
        return 1
    spec = target.partition(":")[0]
    root = watch or (Path(spec).resolve().parent if spec.endswith(".py") else Path.cwd())
    ctx = multiprocessing.get_context("spawn")
    restarts = 0
    snapshot = _source_files(root)
    args = (target, creds.url, creds.api_key, creds.api_secret, log_level)
    echo(f"voicegraph dev: watching {root} for changes (Ctrl-C to stop)")
    while True:
        worker = ctx.Process(target=_dev_worker, args=args, name="voicegraph-dev-worker")
        worker.start()
        try:
            while True:
                time.sleep(poll_interval)
                current = _source_files(root)
                if current != snapshot:
                    changed = sorted(
                        str(p.relative_to(root))
                        for p in set(current) ^ set(snapshot)
                        | {p for p in current if snapshot.get(p) != current[p]}
                    )
                    snapshot = current
                    echo(f"voicegraph dev: {', '.join(changed)} changed; restarting the worker")
                    break
                if not worker.is_alive():
                    echo(
                        f"voicegraph dev: the worker exited ({worker.exitcode}); waiting for a "
                        "change to restart it"
                    )
                    while _source_files(root) == snapshot:
                        time.sleep(poll_interval)
                    snapshot = _source_files(root)
                    break
        except KeyboardInterrupt:
            _stop(worker)
            return 0
        _stop(worker)
        restarts += 1
        if max_restarts is not None and restarts > max_restarts:
            return 0


def _stop(worker: multiprocessing.process.BaseProcess, timeout: float = 10.0) -> None:
    if worker.is_alive() and worker.pid is not None:
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout)
    if worker.is_alive():
        worker.kill()
        worker.join()


# ---------------------------------------------------------------------- connect


def connect(
    target: str | AgentServer,
    *,
    room: str,
    url: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    identity: str = "agent",
    log_level: str = "info",
    echo: Echo = _echo_err,
) -> int:
    """Run the agent once in ``room``, joining it directly with a token signed here.

    The job runs in this process (prewarm first) until its entrypoint returns, the room
    disconnects, or Ctrl-C.
    """
    try:
        _setup_logging(log_level)
        creds = credentials(url, api_key, api_secret)
        server = load_server(target)
        from livekit.api import AccessToken, VideoGrants

        token = (
            AccessToken(creds.api_key, creds.api_secret)
            .with_identity(identity)
            .with_kind("agent")
            .with_grants(VideoGrants(room_join=True, room=room, agent=True))
            .to_jwt()
        )
        info = JobInfo(f"connect-{room}", room=room, url=creds.url, token=token, identity=identity,
                       api_key=creds.api_key, api_secret=creds.api_secret)  # fmt: skip
        status, error = anyio.run(run_inline, server, info)
    except VoicegraphError as exc:
        echo(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    if status != "success":
        echo(f"error: the job failed: {error}")
        return 1
    return 0


def inline_context(server: AgentServer, info: JobInfo, room: Any = None) -> JobContext:
    """The :class:`JobContext` of a job of ``server`` run in this process (prewarm done)."""
    if server.entrypoint is None:
        raise ConfigError("the agent server has no entrypoint")
    proc = JobProcess()
    prewarm = resolve(server.prewarm)
    if prewarm is not None:
        prewarm(proc)
    return JobContext(info, proc, room=room)


async def run_inline(
    server: AgentServer,
    info: JobInfo,
    room: Any = None,
    *,
    ctx: JobContext | None = None,
    signals: bool = True,
) -> tuple[str, str]:
    """Run one job of ``server`` in this process (prewarm, entrypoint, shutdown callbacks).

    ``ctx`` (from :func:`inline_context`) lets the caller watch the job. Ctrl-C (SIGINT)
    shuts the job down, unless ``signals=False`` (a server running many jobs at once shuts
    them down itself with ``ctx.shutdown``). Returns ``(status, error)`` as a job process
    reports.
    """
    if ctx is None:
        ctx = inline_context(server, info, room)
    job = ctx

    async def watch_signals() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
            async for _ in received:
                job.shutdown("interrupted")
                return

    return await run_job(
        ctx,
        resolve(server.entrypoint),
        watch_signals if signals else None,
        session_end=resolve(server.session_end),
    )


# ---------------------------------------------------------------------- run_app


def run_app(server: AgentServer, argv: list[str] | None = None) -> None:
    """The command line of an agent script, as LiveKit Agents' ``cli.run_app``::

        if __name__ == "__main__":
            run_app(server)  # python agent.py start | dev | connect --room R | console [--text]

    Exits the process with the command's status.
    """
    import argparse

    parser = argparse.ArgumentParser(description="Run this voicegraph agent.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("start", "run a production worker"),
        ("dev", "run a development worker, restarted on code changes"),
        ("connect", "join one room directly"),
        ("console", "talk to the agent with the microphone and speaker, or by text (--text)"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--log-level", default="warning" if name == "console" else "info")
        if name == "console":
            sub.add_argument(
                "--text", action="store_true", help="text mode: type to the agent (no sound device)"
            )
        else:
            sub.add_argument("--url", default=None)
            sub.add_argument("--api-key", default=None)
            sub.add_argument("--api-secret", default=None)
        if name == "connect":
            sub.add_argument("--room", required=True)
            sub.add_argument("--identity", default="agent")
    args = parser.parse_args(argv)
    if args.command == "console":
        from ._console import console

        sys.exit(console(server, log_level=args.log_level, text=args.text))
    creds = {"url": args.url, "api_key": args.api_key, "api_secret": args.api_secret}
    if args.command == "start":
        status = start(server, log_level=args.log_level, **creds)
    elif args.command == "dev":
        status = dev(sys.argv[0], log_level=args.log_level, **creds)
    else:
        status = connect(
            server, room=args.room, identity=args.identity, log_level=args.log_level, **creds
        )
    sys.exit(status)

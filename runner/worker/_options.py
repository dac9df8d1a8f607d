"""Settings of an agent server, with LiveKit Agents' production and development defaults."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Literal

from voicegraph.graph import ConfigError

from ._proc import ProcOptions

__all__ = ["Credentials", "ServerOptions", "credentials", "default_idle_processes"]

JobType = Literal["room", "publisher", "participant"]


def default_idle_processes() -> int:
    """Idle processes kept ready in production: one per CPU, at most 4."""
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How an :class:`AgentServer` takes and runs jobs.

    Attributes:
        agent_name: ``""`` (default) takes every new room (automatic dispatch); a name takes
            only jobs dispatched to that name (explicit dispatch: token or AgentDispatch API).
        job_type: ``"room"`` (one job per room, default), ``"publisher"`` (one per publishing
            participant) or ``"participant"`` (one per participant).
        load_threshold: the worker reports itself full and rejects offers at this load
            (default 0.7; development mode: no limit).
        num_idle_processes: prewarmed processes kept ready (default: one per CPU, at most 4;
            development mode: 0).
        drain_timeout: seconds running jobs get to finish on SIGTERM / :meth:`drain`
            (default 3600); then they are shut down.
        update_interval: seconds between load reports to the server (default 2.5).
        ping_interval: seconds between worker pings (default 10); no pong for three
            intervals means the connection is dead and the worker reconnects.
        assignment_timeout: seconds to wait for the assignment of an accepted job (7.5).
        max_retry: connection attempts to the server before giving up (default 16; delays
            0, 2, 4, ... up to 10 s).
        hidden: the agent joins rooms as a hidden participant (default ``False``).
        http_host: the interface of the health-check HTTP server (default all, "0.0.0.0").
        http_port: its port (default ``None``: no HTTP server; ``voicegraph start`` uses 8081;
            0: any free port). A port in use is a ``ConfigError`` when the worker starts: the
            worker never moves to another port by itself, since a probe set up for this port
            would then check whatever holds it.
        process: limits and timeouts of job processes (memory, hang, startup, shutdown).
        dev: development mode (the defaults above marked "development mode").
    """

    agent_name: str = ""
    job_type: JobType = "room"
    load_threshold: float = 0.7
    num_idle_processes: int = field(default_factory=default_idle_processes)
    drain_timeout: float = 3600.0
    update_interval: float = 2.5
    ping_interval: float = 10.0
    assignment_timeout: float = 7.5
    max_retry: int = 16
    hidden: bool = False
    http_host: str = "0.0.0.0"
    http_port: int | None = None
    process: ProcOptions = field(default_factory=ProcOptions)
    dev: bool = False

    def __post_init__(self) -> None:
        if self.load_threshold <= 0:
            raise ConfigError(f"load_threshold must be > 0, got {self.load_threshold}")
        if self.num_idle_processes < 0:
            raise ConfigError(f"num_idle_processes must be >= 0, got {self.num_idle_processes}")
        if self.job_type not in ("room", "publisher", "participant"):
            raise ConfigError(
                f"job_type must be 'room', 'publisher' or 'participant', got {self.job_type!r}"
            )
        for name in ("drain_timeout", "update_interval", "ping_interval", "assignment_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")

    @classmethod
    def development(cls, **overrides: object) -> ServerOptions:
        """Development defaults: no load limit, no idle processes (fast restarts)."""
        base = cls(load_threshold=math.inf, num_idle_processes=0, dev=True)
        return replace(base, **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Credentials:
    """Where the LiveKit server is and how to sign tokens for it."""

    url: str
    api_key: str
    api_secret: str

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(url={self.url!r}, api_key={self.api_key!r}, api_secret='***')"


def credentials(
    url: str | None = None, api_key: str | None = None, api_secret: str | None = None
) -> Credentials:
    """Fill what is not given from ``LIVEKIT_URL``, ``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``.

    Raises:
        ConfigError: naming every missing variable and how to set it.
    """
    url = url or os.environ.get("LIVEKIT_URL", "")
    api_key = api_key or os.environ.get("LIVEKIT_API_KEY", "")
    api_secret = api_secret or os.environ.get("LIVEKIT_API_SECRET", "")
    missing = [
        name
        for name, value in (
            ("LIVEKIT_URL", url),
            ("LIVEKIT_API_KEY", api_key),
            ("LIVEKIT_API_SECRET", api_secret),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: the worker "
            "needs the LiveKit server's URL (e.g. ws://localhost:7880 or "
            "wss://<project>.livekit.cloud) and an API key and secret. Export them, e.g. "
            "`export LIVEKIT_URL=ws://localhost:7880 LIVEKIT_API_KEY=devkey "
            "LIVEKIT_API_SECRET=secret`, or pass --url/--api-key/--api-secret"
        )
    if not url.startswith(("ws://", "wss://", "http://", "https://")):
        raise ConfigError(
            f"LIVEKIT_URL must start with ws://, wss://, http:// or https://, got {url!r}"
        )
    return Credentials(url, api_key, api_secret)

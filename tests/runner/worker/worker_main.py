"""A worker process for the drain tests: ``python worker_main.py`` with LIVEKIT_* set."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).parent))

from voicegraph.runner.worker import AgentServer, ProcOptions


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = AgentServer(
        os.environ.get("ENTRYPOINT", "worker_jobs:sleeper"),
        num_idle_processes=1,
        update_interval=0.05,
        load_fnc=lambda: 0.0,
        drain_timeout=float(os.environ.get("DRAIN_TIMEOUT", "30")),
        process=ProcOptions(shutdown_timeout=2.0),
    )
    anyio.run(server.run)


if __name__ == "__main__":
    main()

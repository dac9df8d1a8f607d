"""``livekit.agents.cli``: ``cli.run_app(server)`` runs an agent script's command line
(``python agent.py start | dev | connect --room R | console``)."""

from voicegraph.runner.worker import run_app as run_app

__all__ = ["run_app"]

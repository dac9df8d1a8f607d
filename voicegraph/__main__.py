"""``python -m voicegraph`` runs the command line."""

from voicegraph.cli import app

app()

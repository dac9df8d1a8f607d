"""``python -m voicegraph`` runs the command line."""

from voicegraph.cli import app

if __name__ == "__main__":  # job processes are spawned: they import this module again
    app()

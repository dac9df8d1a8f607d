"""Bundled sample audio (16 kHz mono WAV) for the main command and the tests.

* ``question``: "What is the capital of France?"
* ``barge_in``: "Tell me a long story about a dragon who learns to fly.", 3 s of silence, then
  "Wait, stop. Tell me about Paris instead."
* ``silence``, ``noise``: 3 s each, no speech.

They were synthesized offline with hibari TTS (Apache-2.0).
"""

from __future__ import annotations

from pathlib import Path

from voicegraph.graph import ConfigError

__all__ = ["SAMPLES", "sample_path"]

SAMPLES = ("question", "barge_in", "silence", "noise")


def sample_path(name: str) -> Path:
    """The path of a bundled sample clip, e.g. ``sample_path("question")``."""
    if name not in SAMPLES:
        raise ConfigError(f"no sample {name!r}; choose one of {', '.join(SAMPLES)}")
    return Path(__file__).with_name(f"{name}.wav")

"""How long OpenMP threads spin before they sleep, set for the runtimes the models load.

CTranslate2 (Whisper) and llama.cpp each load their own copy of GNU OpenMP (``libgomp``),
which reads ``GOMP_SPINCOUNT`` / ``OMP_WAIT_POLICY`` once, when the library is loaded. By
default a thread waiting at a barrier spins for 300,000 rounds (milliseconds) before it
sleeps. That is right on an idle machine and ruinous on a busy one: with two cores shared
by the event loop, the VAD, the TTS, another model or another process, the thread it waits
for is often not running, and the spinning thread takes its core. Measured on 2 cores
(SmolLM2 with 2 threads, 16 tokens; ``benchmarks/README.md``): with two busy processes
beside it, 42-54 ms per token by default and 21-23 ms with 30,000 rounds; on an idle
machine the same (10 ms) either way. ``OMP_WAIT_POLICY=PASSIVE`` (never spin) costs 50-70 %
on an idle machine.

:func:`bounded_spin` sets :data:`SPIN_COUNT` while a runtime is loaded, unless the user
set ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` (theirs wins), and restores the environment
afterwards. A ``libgomp`` loaded earlier by another library keeps its own settings.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

__all__ = ["SPIN_COUNT", "bounded_spin"]

SPIN_COUNT = 30_000
"""Rounds a waiting OpenMP thread spins before it sleeps (libgomp's default: 300,000)."""

_LOCK = threading.Lock()


@contextlib.contextmanager
def bounded_spin() -> Iterator[None]:
    """Load an OpenMP runtime inside this block to give it :data:`SPIN_COUNT` (blocking;
    one block at a time in the process)."""
    with _LOCK:
        if "GOMP_SPINCOUNT" in os.environ or "OMP_WAIT_POLICY" in os.environ:
            yield
            return
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
        try:
            yield
        finally:
            os.environ.pop("GOMP_SPINCOUNT", None)

"""Transcriptions started ahead of need (when the user pauses), one at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from voicegraph.graph import SpeechSegment

from ._engine import STTEngine

__all__ = ["Ahead"]


@dataclass(slots=True)
class _Job:
    engine: STTEngine
    segment: SpeechSegment
    done: anyio.Event = field(default_factory=anyio.Event)
    text: str | None = None  # None: failed or dropped (transcribe again when needed)
    stale: bool = False  # the user went on speaking: the text is of no use but as a result

    def matches(self, engine: STTEngine, pts: float, speech_end: float) -> bool:
        seg = self.segment
        return (
            self.engine is engine
            and abs(seg.pts - pts) < 1e-6
            and abs(seg.speech_end - speech_end) < 1e-6
        )


class Ahead:
    """A one-slot queue of transcriptions and the one running (:meth:`serve` runs them).

    :meth:`submit` replaces a job still waiting; :meth:`result` gives the text of the job for
    the same engine and audio (waiting for it if queued or running), or ``None``. A text
    found while the user is still quiet goes to ``on_text(segment, text)`` first.
    """

    def __init__(
        self, on_text: Callable[[SpeechSegment, str], Awaitable[None]] | None = None
    ) -> None:
        self._on_text = on_text
        self._queued: _Job | None = None
        self._current: _Job | None = None  # running, or the last one done
        self._wake = anyio.Event()

    def submit(self, engine: STTEngine, segment: SpeechSegment) -> None:
        """Transcribe ``segment`` with ``engine`` when the job running now has finished."""
        if self._queued is not None:
            self._queued.done.set()  # replaced: whoever waits transcribes it themselves
        self._queued = _Job(engine, segment)
        self._wake.set()

    def drop_queued(self) -> None:
        """The user went on speaking: forget the job waiting to run; the running one's text
        is no longer news (it is kept only as a result)."""
        if self._queued is not None:
            self._queued.done.set()
            self._queued = None
        if self._current is not None:
            self._current.stale = True

    async def result(self, engine: STTEngine, pts: float, speech_end: float) -> str | None:
        """The text of the job for this audio, once done; ``None`` if there is none (or it
        failed: the caller transcribes, and sees the engine's error itself)."""
        for job in (self._queued, self._current):
            if job is not None and job.matches(engine, pts, speech_end):
                await job.done.wait()
                return job.text
        return None

    async def serve(self) -> None:
        """Run the jobs, one at a time, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            job, self._queued = self._queued, None
            if job is None:
                continue
            self._current = job
            try:
                job.text = (await job.engine.transcribe(job.segment)).strip()
                if job.text and not job.stale and self._on_text is not None:
                    await self._on_text(job.segment, job.text)  # before a result() returns
            except Exception:  # speculative: the caller transcribes again and sees the error
                job.text = None
            finally:
                job.done.set()

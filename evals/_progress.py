"""Progress of an eval run: a bar redrawn in place on a terminal, one line per file elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from ._report import failures
from ._run import FileResult

__all__ = ["ProgressBar", "progress_line"]


def progress_line(done: int, total: int, result: FileResult) -> str:
    """One line per file, e.g. ``[3/24] jfk: WER 4.5 %, 1 turn, 0 cut-offs (2.1 s)``."""
    head = f"[{done}/{total}] {result.id}:"
    if result.error is not None:
        return f"{head} ERROR {result.error}"
    parts = []
    if result.wer is not None:
        parts.append(f"WER {100 * result.wer:.1f} %")
    turns = len(result.decisions)
    parts.append(f"{turns} turn{'s' * (turns != 1)}")
    if result.cutoffs:
        parts.append(f"{len(result.cutoffs)} cut-off(s)")
    if result.noise_replies:
        parts.append(f"{result.noise_replies} reply(ies) to noise")
    if result.tools_ok is False:
        parts.append("tool calls differ")
    if result.voice_to_voice:
        parts.append(f"v2v {max(result.voice_to_voice):.2f} s")
    return f"{head} {', '.join(parts)} ({result.seconds:.1f} s)"


class ProgressBar:
    """The ``progress`` callback of :func:`~voicegraph.evals.evaluate` for people.

    On a terminal it redraws one line (bar, files done, files per minute, time left, the last
    file) and prints a failing file's :func:`progress_line` above it, so failures stay on
    screen; on anything else (a log, CI) it prints :func:`progress_line` for every file.
    Call :meth:`close` at the end.

    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressBar(out, tty=False)
    >>> bar(1, 2, FileResult("a.wav", "a.wav", "virtual", decisions=[1.2]))
    >>> out.getvalue()
    '[1/2] a.wav: 1 turn (0.0 s)\\n'
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        width: int = 24,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._width = width
        self._clock = clock
        self._began = clock()
        self._drawn = False

    def __call__(self, done: int, total: int, result: FileResult) -> None:
        if not self._tty:
            self._stream.write(progress_line(done, total, result) + "\n")
            self._stream.flush()
            return
        if failures(result):
            self._clear()
            self._stream.write(progress_line(done, total, result) + "\n")
        self._stream.write("\r" + self.bar(done, total, result.id))
        self._stream.flush()
        self._drawn = True

    def bar(self, done: int, total: int, last: str) -> str:
        """The bar's text, e.g. ``[######------]  9/22 files · 31.5/min · 0:25 left · jfk``."""
        filled = self._width * done // max(total, 1)
        elapsed = max(self._clock() - self._began, 1e-9)
        rate = 60 * done / elapsed
        left = round((total - done) * elapsed / done) if done else 0
        eta = f"{left // 60}:{left % 60:02d} left"
        return (
            f"[{'#' * filled}{'-' * (self._width - filled)}] {done:>{len(str(total))}}/{total} "
            f"files · {rate:.1f}/min · {eta} · {last[:40]}"
        )

    def close(self) -> None:
        """End the bar's line (terminal only)."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False

    def _clear(self) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[2K")

"""Output files that never destroy what is there: write beside it, then move into place.

A node that writes a file (a WAV recording) writes to a hidden temporary file in the same
folder (``.<name>.<random>.part``) and, when it is done, moves it over the destination with
``os.replace`` (atomic on POSIX and Windows within one filesystem). Until then the old file, if
any, is untouched; a run that never produced the file removes the temporary one.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from voicegraph.graph import ConfigError

__all__ = ["PendingFile", "check_output_path"]


def check_output_path(path: Path, who: str) -> None:
    """Raise a :class:`ConfigError` if ``path`` cannot be an output file (a folder, or in a
    folder that does not exist)."""
    if path.is_dir():
        raise ConfigError(
            f"{who}: cannot write to {str(path)!r}: it is a folder; give a file name "
            f"(e.g. {str(path / 'out.wav')!r})"
        )
    if not path.parent.is_dir():
        raise ConfigError(
            f"{who}: cannot write to {str(path)!r}: the folder {str(path.parent)!r} does not "
            "exist; create it or choose another path"
        )


class PendingFile:
    """A temporary file beside ``dest`` that becomes ``dest`` on :meth:`commit`.

    Raises:
        ConfigError: ``dest`` is a folder, its folder is missing, or the temporary file cannot
            be created there.
    """

    def __init__(self, dest: str | Path, who: str) -> None:
        self.dest = Path(dest)
        self.who = who
        check_output_path(self.dest, who)
        self.path = self.dest.with_name(f".{self.dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            self.path.touch(exist_ok=False)
        except OSError as exc:
            raise ConfigError(
                f"{who}: cannot write in the folder {str(self.dest.parent)!r} ({exc}); check "
                "that it is writable"
            ) from None
        self.done = False

    def commit(self) -> None:
        """Move the temporary file over the destination (idempotent).

        Raises:
            ConfigError: it cannot be moved (the destination became a folder, ...); the
                temporary file is kept and the message names it, so nothing is lost.
        """
        if self.done:
            return
        self.done = True
        try:
            os.replace(self.path, self.dest)
        except OSError as exc:
            raise ConfigError(
                f"{self.who}: cannot move the finished file into place at {str(self.dest)!r} "
                f"({exc}); it is kept at {str(self.path)!r}"
            ) from None

    def discard(self) -> None:
        """Remove the temporary file, leaving the destination as it was (idempotent)."""
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError):
            os.unlink(self.path)

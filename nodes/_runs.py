"""Telling a node's ``setup()`` a new run from a supervised restart within the same run."""

from __future__ import annotations

from voicegraph.graph import Node, runtime_of

__all__ = ["RunStarts"]


class RunStarts:
    """Whether a node's ``setup()`` begins a run or restarts the node within one.

    The runner calls ``setup()`` at the start of each run, and again when supervision
    restarts the node after a failure (``aclose()`` then ``setup()``, within the same run).
    Per-run records, such as the ``timeline_events`` a node keeps for the run's timeline,
    are reset for a new run (the bus's ``seq`` restarts at 1 each run, so two runs' events
    do not mix) and kept over a restart::

        async def setup(self) -> None:
            if self._runs.new_run(self):
                self.timeline_events.clear()

    It keeps a reference to the runtime of the node's latest run until the next one.
    """

    __slots__ = ("_runtime",)

    def __init__(self) -> None:
        self._runtime: object | None = None

    def new_run(self, node: Node) -> bool:
        """Whether ``node`` (whose ``setup()`` is running) starts a new run; notes it.

        Outside a runner (``setup()`` called by hand) every call starts a new run.
        """
        runtime = runtime_of(node)
        if runtime is not None and runtime is self._runtime:
            return False
        self._runtime = runtime
        return True

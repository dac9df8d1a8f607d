"""A trace of edge events (frames, drops, control events, interrupts) as JSONL, and its replay.

Record a run, then replay what ``mic`` emitted into another graph, at the recorded times::

    await Runner(graph, trace=Trace("run.jsonl", frames=True)).run()
    await Runner(graph2, replay={"mic": "run.jsonl"}).run()

Each line is one event: ``t`` (clock seconds), ``kind`` (``frame``, ``drop``, ``event``,
``interrupt``), ``edge``, ``src`` / ``dst`` (``node.port``), ``type``, ``epoch``, and with
``frames=True`` the encoded ``item`` so the trace can be replayed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from voicegraph.graph import Clock, Event, Frame, InputError, Interrupt

from ._codec import decode_item, encode_item

if TYPE_CHECKING:
    from ._edge import EdgeQueue

__all__ = ["Trace", "load_trace", "replay_plan"]


class Trace:
    """Records every edge event of a run, to a JSONL file or (``path=None``) to memory.

    Args:
        path: file to write, or ``None`` to keep records in ``self.records``.
        frames: also encode each frame's content (needed to replay; costs time and space).
    """

    def __init__(self, path: str | Path | None = None, *, frames: bool = False) -> None:
        self.path = Path(path) if path is not None else None
        self.frames = frames
        self.records: list[dict[str, Any]] = []
        self._file: IO[str] | None = None
        self._clock: Clock | None = None
        self._seq = 0

    def start(self, clock: Clock) -> None:
        """Begin recording with ``clock``'s time (the runner calls this)."""
        self._clock = clock
        if self.path is not None and self._file is None:
            self._file = self.path.open("w", encoding="utf-8")

    def close(self) -> None:
        """Flush and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, record: dict[str, Any]) -> None:
        record["seq"] = self._seq
        self._seq += 1
        if self._file is not None:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        else:
            self.records.append(record)

    def _base(self, kind: str, edge: EdgeQueue, item: Frame | Event) -> dict[str, Any]:
        spec = edge.spec
        record: dict[str, Any] = {
            "t": self._clock.now() if self._clock is not None else 0.0,
            "kind": kind,
            "edge": edge.label,
            "src": f"{spec.src.node.path if spec.src.node else '?'}.{spec.src.name}",
            "dst": f"{spec.dst.node.path if spec.dst.node else '?'}.{spec.dst.name}",
            "type": type(item).__name__,
            "epoch": getattr(item, "epoch", None),
        }
        if self.frames:
            record["item"] = encode_item(item)
        return record

    def record_frame(self, edge: EdgeQueue, frame: Frame) -> None:
        """A frame entered ``edge``."""
        self._write(self._base("frame", edge, frame))

    def record_drop(self, edge: EdgeQueue, frame: Frame, why: str) -> None:
        """A frame was dropped on ``edge`` (``why``: ``stale``, ``drop_oldest``, ``latest``)."""
        record = self._base("drop", edge, frame)
        record["why"] = why
        self._write(record)

    def record_event(self, edge: EdgeQueue, event: Event) -> None:
        """A control event was sent on ``edge``."""
        self._write(self._base("event", edge, event))

    def record_interrupt(self, event: Interrupt, edges: Iterable[EdgeQueue]) -> None:
        """An interrupt crossed ``edges``."""
        for edge in edges:
            self._write(self._base("interrupt", edge, event))


def load_trace(source: str | Path | Trace | Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records from a JSONL file, a :class:`Trace`, or an iterable of records."""
    if isinstance(source, Trace):
        return list(source.records)
    if isinstance(source, str | Path):
        with Path(source).open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    return list(source)


def replay_plan(records: list[dict[str, Any]], node: str) -> list[tuple[float, str, Any]]:
    """What ``node`` emitted, as ``(time, port, frame_or_event)``, once per output port.

    Fan-out records a frame once per edge; the first edge seen for each port is used.
    """
    first_edge: dict[str, str] = {}
    plan: list[tuple[float, str, Any]] = []
    for r in records:
        if r["kind"] not in ("frame", "event"):
            continue
        src_node, _, port = r["src"].rpartition(".")
        if src_node != node:
            continue
        if first_edge.setdefault(port, r["edge"]) != r["edge"]:
            continue
        if "item" not in r:
            raise InputError("this trace has no frame content: record it with Trace(frames=True)")
        item = decode_item(r["item"])
        if isinstance(item, Frame):
            object.__setattr__(item, "epoch", -1)
        plan.append((float(r["t"]), port, item))
    return plan

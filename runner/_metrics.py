"""Per-node and per-edge metrics, read as immutable snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BusStats", "EdgeStats", "NodeStats", "RunMetrics"]


@dataclass(slots=True)
class NodeStats:
    """Counters for one node.

    Attributes:
        frames_in: frames handled (handler style) or received (run style).
        frames_out: frames emitted (counted once per emit, not per edge).
        busy: seconds spent inside handlers (wall time, including time a handler waited on a
            full output edge: a node blocked by a slow consumer looks busy).
        max_handle: the longest single handler call, in seconds.
        interrupts: interrupts that reached the node.
        restarts: restarts by supervision.
        failures: exceptions raised by the node.
        events: control events the node received.
    """

    frames_in: int = 0
    frames_out: int = 0
    busy: float = 0.0
    max_handle: float = 0.0
    interrupts: int = 0
    restarts: int = 0
    failures: int = 0
    events: int = 0

    @property
    def mean_handle(self) -> float:
        """Mean seconds per handled frame."""
        return self.busy / self.frames_in if self.frames_in else 0.0


@dataclass(frozen=True, slots=True)
class EdgeStats:
    """Counters for one edge: frames delivered, drops by policy, stale drops, queue depth."""

    label: str
    capacity: int
    policy: str
    frames: int
    drops: int
    stale: int
    depth: int
    high_water: int


@dataclass(frozen=True, slots=True)
class BusStats:
    """Counters of a run's event bus.

    Attributes:
        published: events published in the run (the last ``seq`` stamped).
        delivered: events buffered for subscribers (an event counts once per subscriber).
        dropped: buffered events a slow subscriber lost (its buffer was full: oldest first).
        subscriptions: subscriptions open when the snapshot was taken.
    """

    published: int = 0
    delivered: int = 0
    dropped: int = 0
    subscriptions: int = 0


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """A snapshot of every node's and edge's counters, the event bus's, and event-loop lag."""

    nodes: dict[str, NodeStats]
    edges: dict[str, EdgeStats]
    elapsed: float = 0.0
    loop_lag_max: float = 0.0
    voice: dict[str, list[float]] = field(default_factory=dict)
    bus: BusStats = field(default_factory=BusStats)

    def table(self) -> str:
        """The counters as a plain-text table."""
        lines = [f"{'node':<28}{'in':>9}{'out':>9}{'busy ms':>10}{'restarts':>9}"]
        for name, n in self.nodes.items():
            lines.append(
                f"{name:<28}{n.frames_in:>9}{n.frames_out:>9}{n.busy * 1e3:>10.2f}{n.restarts:>9}"
            )
        lines.append("")
        lines.append(f"{'edge':<44}{'frames':>8}{'drops':>7}{'stale':>7}{'hw/cap':>9}")
        for e in self.edges.values():
            lines.append(
                f"{e.label:<44}{e.frames:>8}{e.drops:>7}{e.stale:>7}{f'{e.high_water}/{e.capacity}':>9}"
            )
        return "\n".join(lines)

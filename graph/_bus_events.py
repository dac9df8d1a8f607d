"""The base class of events published on a run's event bus (not along the graph's edges).

Control :class:`~voicegraph.graph.Event`\\ s travel along edges, to the nodes downstream of the
sender, on a priority lane. A :class:`BusEvent` goes to the run's **event bus** instead: a node
publishes it with ``self.publish(event)`` and anyone holding the runner reads it with
``runner.subscribe(EventType)`` — observers such as the agent session, viz or a test, which
are not wired into the graph. The runner stamps each published event with a sequence number
(``seq``, 1, 2, 3, … in publish order, per run), the run clock's time and the publishing node's
path and epoch.

Define your own bus event like this::

    @dataclass(frozen=True, slots=True)
    class UserSpeaking(BusEvent):
        pts: float

The stamps are not constructor arguments and take no part in ``==``, so
``UserSpeaking(1.5) == published_event`` compares content only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["UNPUBLISHED", "BusEvent"]

UNPUBLISHED = -1
"""The ``seq`` of a bus event that has not been published yet."""


@dataclass(frozen=True, slots=True)
class BusEvent:
    """Base class of events published on the run's event bus.

    Attributes:
        seq: the event's place in its run's publish order (1 for the first event published in
            the run), stamped by the runner; :data:`UNPUBLISHED` before.
        time: the run clock's time when it was published, in seconds.
        origin: the path of the node that published it (e.g. ``"asr/vad"``).
        epoch: the publishing node's epoch (turn generation) at that moment.
    """

    seq: int = field(default=UNPUBLISHED, init=False, compare=False)
    time: float = field(default=0.0, init=False, compare=False)
    origin: str = field(default="", init=False, compare=False)
    epoch: int = field(default=0, init=False, compare=False)

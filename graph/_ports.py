"""Typed ports: ``In[T]`` and ``Out[T]``.

Ports are declared as annotations on a node class and bound to each node instance::

    class Upper(Node):
        text: In[TextFrame]
        out: Out[TextFrame]
        hint: In[TextFrame] = In(required=False)   # an optional input

The frame type is checked when two ports are connected (``issubclass``).
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union, get_args, get_origin

from ._errors import ConfigError
from ._frames import Frame

if TYPE_CHECKING:
    from ._node import Node

__all__ = ["In", "Out", "Port", "bound_port", "frame_types", "type_label"]

T = TypeVar("T", bound=Frame)


def frame_types(annotation: Any) -> tuple[type[Frame], ...]:
    """Return the frame classes a port annotation argument accepts (unions are flattened)."""
    if get_origin(annotation) in (Union, types.UnionType):
        out: list[type[Frame]] = []
        for arg in get_args(annotation):
            out.extend(frame_types(arg))
        return tuple(out)
    if isinstance(annotation, type) and issubclass(annotation, Frame):
        return (annotation,)
    raise ConfigError(
        f"a port's type must be a Frame subclass (or a union of them), not {annotation!r}"
    )


def type_label(types_: tuple[type[Frame], ...]) -> str:
    """Human-readable name of a port's frame type(s)."""
    return " | ".join(t.__name__ for t in types_)


class Port(Generic[T]):
    """A typed port of a node. Use :class:`In` or :class:`Out`."""

    direction: str = ""
    __slots__ = ("name", "node", "required", "sample_rate", "types")

    def __init__(self, *, required: bool = True, sample_rate: int | None = None) -> None:
        self.name: str = ""
        self.node: Node | None = None
        self.types: tuple[type[Frame], ...] = (Frame,)
        self.required = required
        self.sample_rate = sample_rate
        """Audio sample rate this port produces/expects, if fixed (checked by ``Graph.check``)."""

    @property
    def type_name(self) -> str:
        """The frame type(s) as text, e.g. ``"AudioFrame"``."""
        return type_label(self.types)

    @property
    def qualname(self) -> str:
        """``node.port``, using the node's name in its graph."""
        owner = self.node.name if self.node is not None else "?"
        return f"{owner}.{self.name}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}[{self.type_name}] {self.qualname}>"

    def __rshift__(self, other: Any) -> Any:
        from ._connect import connect_operands

        return connect_operands(self, other)


class In(Port[T]):
    """An input port accepting frames of type ``T`` (or a subclass)."""

    direction = "in"
    __slots__ = ()

    def accepts(self, types_: tuple[type[Frame], ...]) -> bool:
        """Whether every frame type in ``types_`` is accepted by this port."""
        return all(issubclass(t, self.types) for t in types_)


class Out(Port[T]):
    """An output port producing frames of type ``T``."""

    direction = "out"
    __slots__ = ()


def bound_port(
    template: Port[T], node: Node, name: str, types_: tuple[type[Frame], ...]
) -> Port[T]:
    """The port ``node`` gets for the class-level ``template`` declared as ``name``."""
    port = type(template)(required=template.required, sample_rate=template.sample_rate)
    port.name, port.node, port.types = name, node, types_
    return port

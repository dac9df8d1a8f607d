"""Frames and events to and from JSON-able dicts (for traces and replay)."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import numpy as np

from voicegraph.graph import Event, Frame, RunnerError

__all__ = ["decode_item", "encode_item", "type_id"]


def type_id(cls: type) -> str:
    """``module:QualName`` for a class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _encode_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {
            "__ndarray__": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii"),
            "dtype": str(value.dtype),
            "shape": list(value.shape),
        }
    if isinstance(value, tuple):
        return [_encode_value(v) for v in value]
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "__ndarray__" in value:
        raw = base64.b64decode(value["__ndarray__"])
        return np.frombuffer(raw, dtype=value["dtype"]).reshape(value["shape"]).copy()
    return value


def encode_item(item: Frame | Event) -> dict[str, Any]:
    """Encode a frame or control event as a JSON-able dict (numpy arrays as base64)."""
    fields = {f.name: _encode_value(getattr(item, f.name)) for f in dataclasses.fields(item)}
    return {"type": type_id(type(item)), "fields": fields}


def decode_item(data: dict[str, Any]) -> Frame | Event:
    """Rebuild a frame or event encoded by :func:`encode_item`.

    A trace is a file, so it is treated as untrusted input: the recorded type is looked up
    among the :class:`Frame` and :class:`Event` classes already loaded in this process, and
    no module is ever imported for it (import the module that defines a custom frame type
    before replaying a trace that holds it).

    Raises:
        RunnerError: the item is malformed or names a type that is not loaded here.
    """
    try:
        ref, fields_data = data["type"], data["fields"]
        cls = _loaded_type(ref)
        fields = {k: _decode_value(v) for k, v in fields_data.items()}
        return cls(**fields)
    except RunnerError:
        raise
    except Exception as exc:
        raise RunnerError(
            f"cannot decode a recorded item: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None


_types: dict[str, type[Frame] | type[Event]] = {}


def _loaded_type(ref: object) -> type[Frame] | type[Event]:
    if not isinstance(ref, str):
        raise RunnerError(f"a recorded type must be 'module:QualName', got {type(ref).__name__}")
    cls = _types.get(ref)
    if cls is None:
        _types.clear()
        stack: list[type[Frame] | type[Event]] = [Frame, Event]
        while stack:
            found = stack.pop()
            _types.setdefault(type_id(found), found)
            stack.extend(found.__subclasses__())
        cls = _types.get(ref)
    if cls is None:
        raise RunnerError(
            f"recorded type {ref[:200]!r} is not a Frame or Event class loaded in this process; "
            "import the module that defines it before replaying (a trace never imports code)"
        )
    return cls

"""Frames and events to and from JSON-able dicts (for traces and replay)."""

from __future__ import annotations

import base64
import dataclasses
import importlib
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
    """Rebuild a frame or event encoded by :func:`encode_item`."""
    module_name, _, qualname = data["type"].partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise RunnerError(f"cannot decode a recorded {data['type']!r}: {exc}") from None
    if not (isinstance(obj, type) and issubclass(obj, Frame | Event)):
        raise RunnerError(f"recorded type {data['type']!r} is not a Frame or Event")
    fields = {k: _decode_value(v) for k, v in data["fields"].items()}
    return obj(**fields)

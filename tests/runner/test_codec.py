"""Trace items are untrusted input: decoding one never imports a module."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from voicegraph.graph import Frame, RunnerError, Transcript
from voicegraph.runner import decode_item, encode_item


@dataclass(frozen=True, slots=True)
class Caption(Frame):
    text: str = ""


def test_a_trace_naming_another_module_imports_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "trace_payload.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass X: pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RunnerError, match="not a Frame or Event class loaded"):
        decode_item({"type": "trace_payload:X", "fields": {}})
    assert not marker.exists() and "trace_payload" not in sys.modules


@pytest.mark.parametrize(
    "item",
    [
        {},
        {"type": 3, "fields": {}},
        {"type": "voicegraph.graph:Transcript", "fields": []},
        {"type": "voicegraph.graph._frames:Transcript", "fields": {"nope": 1}},
    ],
)
def test_malformed_items_are_runner_errors(item: dict[str, object]) -> None:
    with pytest.raises(RunnerError):
        decode_item(item)


def test_loaded_types_round_trip() -> None:
    for frame in (Transcript(text="hi"), Caption(text="a caption")):
        assert decode_item(encode_item(frame)) == frame

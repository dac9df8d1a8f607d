"""Typed ports: frame types from annotations, unions, subclass acceptance, binding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from voicegraph.graph import AudioFrame, Frame, In, Node, Out, TextFrame, Transcript
from voicegraph.graph._ports import frame_types, type_label


@dataclass(frozen=True, slots=True)
class Loud(TextFrame):
    """A TextFrame subclass."""


@dataclass(frozen=True, slots=True)
class Sentiment(Frame):
    score: float


class Ports(Node):
    text: In[TextFrame]
    either: In[TextFrame | Transcript]
    anything: In[Frame]
    hint: In[Sentiment] = In(required=False, sample_rate=None)
    only_loud: In[Loud] = In(required=False)
    loud: Out[Loud]
    mixed: Out[TextFrame | Transcript]
    pcm: Out[AudioFrame] = Out(sample_rate=16000)


def test_frame_types_flattens_unions() -> None:
    assert frame_types(TextFrame) == (TextFrame,)
    assert frame_types(TextFrame | Transcript) == (TextFrame, Transcript)
    assert frame_types(TextFrame | (Transcript | AudioFrame)) == (TextFrame, Transcript, AudioFrame)


@pytest.mark.parametrize("bad", [int, str, "TextFrame", None, list[TextFrame]])
def test_frame_types_rejects_non_frames(bad: Any) -> None:
    with pytest.raises(TypeError, match="must be a Frame subclass"):
        frame_types(bad)


def test_type_label() -> None:
    assert type_label((TextFrame,)) == "TextFrame"
    assert type_label((TextFrame, Transcript)) == "TextFrame | Transcript"


def test_exact_type_is_accepted() -> None:
    p = Ports()
    assert p.text.accepts((TextFrame,))
    assert not p.text.accepts((Transcript,))


def test_subclass_is_accepted_but_not_superclass() -> None:
    p = Ports()
    assert p.text.accepts(p.loud.types)  # Loud is a TextFrame
    assert p.anything.accepts((AudioFrame,))  # everything is a Frame
    assert not p.only_loud.accepts((TextFrame,))


def test_union_input_accepts_each_member() -> None:
    p = Ports()
    assert p.either.accepts((TextFrame,))
    assert p.either.accepts((Transcript,))
    assert p.either.accepts((Loud,))
    assert not p.either.accepts((AudioFrame,))


def test_union_output_needs_every_member_accepted() -> None:
    p = Ports()
    assert p.either.accepts(p.mixed.types)
    assert not p.text.accepts(p.mixed.types)  # Transcript is not a TextFrame
    assert p.anything.accepts(p.mixed.types)


def test_declared_options_are_kept() -> None:
    p = Ports()
    assert p.text.required is True
    assert p.hint.required is False
    assert p.pcm.sample_rate == 16000
    assert p.text.sample_rate is None


def test_port_identity_and_text() -> None:
    p = Ports()
    assert p.text.name == "text"
    assert p.text.node is p
    assert p.text.direction == "in"
    assert p.loud.direction == "out"
    assert p.either.type_name == "TextFrame | Transcript"
    assert p.text.qualname == ".text"  # not in a graph yet
    p.name = "ports"
    assert p.text.qualname == "ports.text"
    assert repr(p.loud) == "<Out[Loud] ports.loud>"


def test_class_level_port_template_is_not_shared() -> None:
    a, b = Ports(), Ports()
    assert a.hint is not b.hint
    assert a.hint is not Ports.hint
    assert Ports.hint.node is None

"""RoomTranscript: user transcripts (interim and final, one segment per utterance) and the
agent's played text (one stream per reply, closed at the reply's end) as room text streams."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from voicegraph.graph import Control, Graph, Node, NodeConfig, Out, PlayoutMark, Transcript
from voicegraph.nodes.livekit import RoomTranscript
from voicegraph.runner import Runner, VirtualClock
from voicegraph.runner.worker import LocalRoom


class Words(Node):
    class Config(NodeConfig):
        items: list[tuple[str, bool]] = []

    config: Config
    transcripts: Out[Transcript]

    async def run(self) -> None:
        for text, final in self.config.items:
            await self.emit(self.transcripts, Transcript(text, final=final))


class Playout(Node):
    """Sends a scripted series of playout marks."""

    class Config(NodeConfig):
        marks: list[tuple[float, str, bool, bool, int]] = []

    config: Config
    marks: Out[Control]

    async def run(self) -> None:
        for played, text, interrupted, final, epoch in self.config.marks:
            mark = PlayoutMark(played, text, interrupted=interrupted, final=final, epoch=epoch)
            await self.send_event(mark, self.marks)
            await self.clock.sleep(0.1)


@dataclass
class FakeInput:
    participant: str = "alice"
    track_sid: str = "TR_mic"


@dataclass
class FakeOutput:
    track_sid: str = "TR_voice"


async def test_user_transcripts_are_sent_as_the_user_one_segment_per_utterance() -> None:
    room = LocalRoom("r")
    g = Graph()
    words = g.add(
        Words(items=[("what is", False), ("what is the capital", False),
                     ("What is the capital?", True), ("", True), ("Thanks.", True)])
    )  # fmt: skip
    captions = g.add(RoomTranscript(room=room, room_input=FakeInput()))
    g.connect(words.transcripts, captions.user)
    await Runner(g, clock=VirtualClock()).run()
    texts = [(t.text, t.attributes["lk.transcription_final"], t.sender) for t in room.texts]
    assert texts == [
        ("what is", "false", "alice"),
        ("what is the capital", "false", "alice"),
        ("What is the capital?", "true", "alice"),
        ("Thanks.", "true", "alice"),
    ]
    segments = [t.attributes["lk.segment_id"] for t in room.texts]
    assert segments[0] == segments[1] == segments[2] != segments[3]
    assert {t.attributes["lk.transcribed_track_id"] for t in room.texts} == {"TR_mic"}
    assert {t.topic for t in room.texts} == {"lk.transcription"}


async def test_interim_user_transcripts_can_be_left_out() -> None:
    room = LocalRoom("r")
    g = Graph()
    words = g.add(Words(items=[("what", False), ("What?", True)]))
    captions = g.add(RoomTranscript(room=room, interim=False, user_identity="bob"))
    g.connect(words.transcripts, captions.user)
    await Runner(g, clock=VirtualClock()).run()
    assert [(t.text, t.sender) for t in room.texts] == [("What?", "bob")]


async def test_agent_text_streams_per_reply_as_it_is_heard() -> None:
    room = LocalRoom("r")
    g = Graph()
    playout = g.add(
        Playout(marks=[
            (0.0, "", False, False, 0),
            (1.0, "Hello.", False, False, 0),
            (2.0, "Hello. How are you?", False, True, 0),
            (0.0, "", False, False, 1),
            (0.7, "Paris is the", True, False, 1),
            (0.0, "", False, False, 2),
            (0.3, "", True, False, 2),  # interrupted before a word was heard: no caption
        ])
    )  # fmt: skip
    captions = g.add(RoomTranscript(room=room, room_output=FakeOutput()))
    g.connect(playout.marks, captions.agent)
    await Runner(g, clock=VirtualClock()).run()
    assert [(t.text, t.chunks) for t in room.texts] == [
        ("Hello. How are you?", ("Hello.", " How are you?")),
        ("Paris is the", ("Paris is the",)),
    ]
    for text in room.texts:
        assert text.attributes["lk.transcription_final"] == "true"
        assert text.attributes["lk.transcribed_track_id"] == "TR_voice"
        assert text.sender == "agent"
    assert room.texts[0].attributes["lk.segment_id"] != room.texts[1].attributes["lk.segment_id"]


async def test_a_failing_room_does_not_stop_the_conversation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(LocalRoom):
        pass

    room = Broken("r")

    async def refuse(**kwargs: object) -> None:
        raise ConnectionError("the room is gone")

    room.local_participant.stream_text = refuse  # type: ignore[method-assign]
    g = Graph()
    words = g.add(Words(items=[("Hi.", True)]))
    captions = g.add(RoomTranscript(room=room))
    g.connect(words.transcripts, captions.user)
    await Runner(g, clock=VirtualClock()).run()
    assert "could not send a transcript: the room is gone" in caplog.text

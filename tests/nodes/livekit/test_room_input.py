"""RoomInput through real local tracks: a participant's mic in, resampled; unpublish and
republish; participant switch; pinned identity and kinds; room disconnect; bad setup."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import numpy as np
import pytest
from livekit import rtc

from voicegraph.graph import AudioFrame, ConfigError, Graph, In, Node, NodeError
from voicegraph.nodes.livekit import RoomInput
from voicegraph.runner import Runner
from voicegraph.runner.worker import LocalRoom


class Collect(Node):
    audio: In[AudioFrame]

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[AudioFrame] = []

    async def on_audio(self, frame: AudioFrame) -> None:
        self.frames.append(frame)

    def levels(self) -> list[int]:
        return [int(np.median(f.pcm)) for f in self.frames]


class Mic:
    """A participant's microphone: a 48 kHz source fed with a constant level in real time."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.source = rtc.AudioSource(48000, 1, queue_size_ms=100)
        self.track = rtc.LocalAudioTrack.create_audio_track(f"mic-{level}", self.source)

    async def run(self) -> None:
        pcm = np.full(480, self.level, np.int16).tobytes()
        while True:
            await self.source.capture_frame(rtc.AudioFrame(pcm, 48000, 1, 480))


@asynccontextmanager
async def running(node: RoomInput) -> AsyncIterator[tuple[Runner, Collect]]:
    g = Graph()
    sink = Collect()
    g.add(node, name="mic")
    g.add(sink, name="sink")
    g.connect(node.audio, sink.audio)
    async with Runner(g) as runner:
        yield runner, sink
        with anyio.fail_after(5):
            await runner.wait()


async def until(predicate: object, timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():  # type: ignore[operator]
            await anyio.sleep(0.01)


async def test_streams_a_participants_mic_at_the_graph_rate() -> None:
    room = LocalRoom("r")
    alice = Mic(1000)
    node = RoomInput(room=room, sample_rate=16000, frame_ms=20)
    async with anyio.create_task_group() as feeders, running(node) as (_, sink):
        feeders.start_soon(alice.run)
        room.add_participant("alice")
        room.publish_audio("alice", alice.track)
        await until(lambda: len(sink.frames) >= 15)
        assert node.participant == "alice" and node.track_sid is not None
        room.remove_participant("alice")  # close_on_disconnect: the stream ends
        feeders.cancel_scope.cancel()
    frames = sink.frames
    assert all(f.sample_rate == 16000 and f.pcm.shape == (320, 1) for f in frames)
    assert all(b.pts == pytest.approx(a.end_pts) for a, b in itertools.pairwise(frames))
    assert sink.levels()[5:] == [1000] * (len(frames) - 5)


async def test_follows_unpublish_and_republish() -> None:
    room = LocalRoom("r")
    first, second = Mic(1000), Mic(1500)
    node = RoomInput(room=room)
    async with anyio.create_task_group() as feeders, running(node) as (_, sink):
        feeders.start_soon(first.run)
        feeders.start_soon(second.run)
        room.add_participant("alice")
        pub = room.publish_audio("alice", first.track)
        await until(lambda: len(sink.frames) >= 10)
        room.unpublish("alice", pub.sid)
        await until(lambda: node.track_sid is None)
        count = len(sink.frames)
        await anyio.sleep(0.1)
        assert len(sink.frames) == count  # nothing while the mic is off
        room.publish_audio("alice", second.track)
        await until(lambda: 1500 in sink.levels())
        await until(lambda: sink.levels()[-5:] == [1500] * 5)
        await room.disconnect()
        feeders.cancel_scope.cancel()
    pts = [f.pts for f in sink.frames]
    assert pts == sorted(pts)
    assert 1000 in sink.levels()
    assert [who for _, who in node.switches] == ["alice", None, "alice", None]


async def test_switches_to_the_next_participant_when_not_closing_on_disconnect() -> None:
    room = LocalRoom("r")
    alice, bob = Mic(1000), Mic(2000)
    node = RoomInput(room=room, close_on_disconnect=False)
    async with anyio.create_task_group() as feeders, running(node) as (_, sink):
        feeders.start_soon(alice.run)
        feeders.start_soon(bob.run)
        room.add_participant("alice")
        room.publish_audio("alice", alice.track)
        await until(lambda: 1000 in sink.levels())
        room.remove_participant("alice")
        room.add_participant("bob")
        room.publish_audio("bob", bob.track)
        await until(lambda: sink.levels()[-5:] == [2000] * 5)
        assert node.participant == "bob"
        await room.disconnect()
        feeders.cancel_scope.cancel()
    levels = [x for x in sink.levels() if x in (1000, 2000)]
    assert levels == sorted(levels)  # alice, then only bob


async def test_a_pinned_identity_and_participant_kinds() -> None:
    room = LocalRoom("r")
    agent, bob, alice = Mic(500), Mic(2000), Mic(1000)
    node = RoomInput(room=room, participant_identity="alice")
    async with anyio.create_task_group() as feeders, running(node) as (_, sink):
        for mic in (agent, bob, alice):
            feeders.start_soon(mic.run)
        room.add_participant("other-agent", kind="agent")
        room.publish_audio("other-agent", agent.track)
        room.add_participant("bob")
        room.publish_audio("bob", bob.track)
        await anyio.sleep(0.1)
        assert node.participant is None and not sink.frames
        room.add_participant("alice")
        room.publish_audio("alice", alice.track)
        await until(lambda: len(sink.frames) >= 10)
        room.remove_participant("alice")
        feeders.cancel_scope.cancel()
    assert set(sink.levels()[5:]) == {1000}


async def test_ignores_agents_by_default() -> None:
    room = LocalRoom("r")
    agent = Mic(500)
    node = RoomInput(room=room)
    async with anyio.create_task_group() as feeders, running(node) as (_, sink):
        feeders.start_soon(agent.run)
        room.add_participant("helper", kind="agent")
        room.publish_audio("helper", agent.track)
        await anyio.sleep(0.15)
        await room.disconnect()
        feeders.cancel_scope.cancel()
    assert sink.frames == []


async def test_without_a_room_setup_says_how_to_give_one() -> None:
    with pytest.raises(ConfigError, match=r"RoomInput\(room=ctx.room\).*attach"):
        await RoomInput().setup()
    g = Graph()
    node, sink = g.add(RoomInput(), name="mic"), g.add(Collect(), name="sink")
    g.connect(node.audio, sink.audio)
    with pytest.raises(NodeError, match="has no room"):
        await Runner(g).run()

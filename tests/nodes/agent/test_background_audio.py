"""BackgroundAudioPlayer: ambient and thinking sounds mixed into the agent's audio output."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
from agent_helpers import RATE, Voice

from voicegraph.agents import AudioConfig, BackgroundAudioPlayer, BuiltinAudioClip, PlayHandle
from voicegraph.graph import AudioFrame, ConfigError, UsageError
from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.audio import MemorySource, read_mono_wav
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.nodes.output import AudioOutput, BackgroundAudio
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.runner import VirtualClock

Samples = npt.NDArray[np.int16]
SECONDS = 6.0
REPLY = "Hello there, nice to meet you today."


def tone(path: Path, seconds: float, amplitude: float, hz: float = 500.0) -> str:
    t = np.arange(int(seconds * RATE)) / RATE
    sf.write(str(path), (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16), RATE)
    return str(path)


def rms(x: Samples) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


class Run:
    """One session over user speech, with the agent's output recorded."""

    session: AgentSession[Any]
    output: AudioOutput
    recording: Samples
    rate: int

    def window(self, start: float, end: float) -> Samples:
        return self.recording[int(start * self.rate) : int(end * self.rate)]

    def states(self) -> list[tuple[float, str]]:
        return [
            (e.created_at, e.new_state)  # type: ignore[attr-defined]
            for e in self.session.events
            if e.type == "agent_state_changed"
        ]

    def state_span(self, state: str) -> tuple[float, float]:
        """When the agent first entered ``state`` and when it left it."""
        states = self.states()
        i = next(i for i, (_, s) in enumerate(states) if s == state)
        return states[i][0], states[i + 1][0]


async def converse(
    tmp_path: Path,
    *,
    said: list[tuple[float, float, str]] | None = None,
    reply: str = REPLY,
    player: BackgroundAudioPlayer | None = None,
    during: Callable[[AgentSession[Any], BackgroundAudioPlayer], Awaitable[None]] | None = None,
    name: str = "reply",
    **options: Any,
) -> Run:
    said = said or [(0.5, 1.0, "hi")]
    voice = Voice()
    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(texts=[t for _, _, t in said]),
        llm=ScriptedLLM(replies=[reply] * len(said), first_token_delay=0.5),
        tts=ScriptedTTS(),
        clock=VirtualClock(),
        **options,
    )
    path = tmp_path / f"{name}.wav"
    output = AudioOutput(path=str(path))
    pcm = voice.pcm([(s, d) for s, d, _ in said], SECONDS)
    source = MemorySource(pcm=pcm, sample_rate=RATE, realtime=True)
    await session.start(Agent(instructions="Be brief."), audio=source, output=output)
    if player is not None:
        await player.start(agent_session=session)
        if during is not None:
            await during(session, player)
    await session.wait()
    if player is not None:
        await player.aclose()
    run = Run()
    run.session, run.output = session, output
    run.recording, run.rate = read_mono_wav(path)
    return run


async def test_ambient_plays_under_silence_and_speech_keeps_its_timing(tmp_path: Path) -> None:
    plain = await converse(tmp_path, name="plain")
    ambient = AudioConfig(tone(tmp_path / "amb.wav", 0.7, 1000.0), volume=0.8)
    mixed = await converse(
        tmp_path, player=BackgroundAudioPlayer(ambient_sound=ambient), name="mixed"
    )
    # the agent's speech: same replies, same start times, same words heard
    assert list(mixed.output.reply_started_at) == list(plain.output.reply_started_at)
    assert list(mixed.output.played_replies) == list(plain.output.played_replies)
    (start,) = plain.output.reply_started_at
    ((_, seconds, _),) = plain.output.played_replies
    # before the reply the agent is silent: the ambient sound (0.8 * 1000 amplitude) is there
    assert rms(plain.window(0.1, 1.0)) == 0.0
    assert (
        0.8 * 1000 / np.sqrt(2) * 0.9 < rms(mixed.window(0.1, 1.0)) < 0.8 * 1000 / np.sqrt(2) * 1.1
    )
    # the ambient loops (the clip is 0.7 s) after the reply too
    assert rms(mixed.window(start + seconds + 0.1, SECONDS - 0.1)) > 500
    # during the reply the speech is where it was and dominates the mix
    speech, heard = plain.window(start, start + seconds), mixed.window(start, start + seconds)
    assert np.corrcoef(speech.astype(float), heard.astype(float))[0, 1] > 0.98
    assert rms(heard - speech) < 0.15 * rms(speech)


async def test_thinking_sound_only_while_the_agent_thinks(tmp_path: Path) -> None:
    plain = await converse(tmp_path, name="plain", preemptive_generation=False)
    noise = np.random.default_rng(0).normal(0, 1500, RATE).astype(np.int16)
    sf.write(str(tmp_path / "think.wav"), noise, RATE)
    player = BackgroundAudioPlayer(thinking_sound=str(tmp_path / "think.wav"))
    run = await converse(tmp_path, player=player, name="thinking", preemptive_generation=False)
    think_start, think_end = run.state_span("thinking")
    assert think_end - think_start >= 0.5  # the LLM's first token takes 0.5 s
    assert run.states() == plain.states()
    # nothing before the agent thinks
    assert rms(run.window(0.0, think_start)) == 0.0
    # the sound while it thinks
    assert rms(run.window(think_start + 0.03, think_end)) > 1000
    # once it speaks the sound fades out (0.1 s; speech is mixed up to a few frames before it
    # plays): then the output is the plain run's exactly
    after = think_end + 0.1 + 0.1
    end = SECONDS - 0.1
    assert np.array_equal(run.window(after, end), plain.window(after, end))
    assert rms(plain.window(after, end)) > 0  # (the reply is in that window)


async def test_an_interrupt_cuts_the_speech_not_the_ambient(tmp_path: Path) -> None:
    long_reply = " ".join(["This is a long story about a dragon."] * 3)
    said = [(0.3, 0.8, "tell me a story"), (2.3, 0.8, "stop")]
    player = BackgroundAudioPlayer(ambient_sound=BuiltinAudioClip.OFFICE_AMBIENCE)
    run = await converse(tmp_path, said=said, reply=long_reply, player=player)
    first = run.output.played_replies[0]
    assert first[2], run.output.played_replies  # the first reply was interrupted
    # the barge-in paused the reply (the output takes nothing while paused), then cut it
    ((_, cut),) = run.output.pauses
    # after the cut (the user speaks, the agent is silent) the ambient goes on
    assert rms(run.window(cut + 0.05, cut + 0.5)) > 100


async def test_play_a_one_off_sound_and_a_loop_until_stopped(tmp_path: Path) -> None:
    blip = tone(tmp_path / "blip.wav", 0.2, 3000.0, hz=800.0)
    handles: dict[str, PlayHandle] = {}
    times: dict[str, float] = {}

    async def during(session: AgentSession[Any], player: BackgroundAudioPlayer) -> None:
        clock = session.clock
        assert clock is not None
        assert player.play([AudioConfig(blip, probability=0.0)]).done()  # none chosen
        once = player.play(blip)
        assert not once.done()
        assert await once is once  # awaiting the handle waits for the playout
        times["once_done"] = clock.now()
        looped = player.play(AudioConfig(blip, volume=0.5), loop=True)
        await clock.sleep(0.2)  # silence between the two (the user has not spoken yet)
        times["loop_from"] = clock.now() - 0.2
        await clock.sleep_until(times["loop_from"] + 0.7)
        looped.stop()
        assert looped.done()  # no fade_out: stopped at once
        times["loop_to"] = clock.now()
        handles["looped"] = looped

    run = await converse(tmp_path, said=[(3.0, 0.5, "hi")], player=BackgroundAudioPlayer(),
                         during=during)  # fmt: skip
    assert 0.19 <= times["once_done"] <= 0.25
    assert rms(run.window(0.0, 0.18)) > 1500  # the one-off blip
    loop_from, loop_to = times["loop_from"], times["loop_to"]
    # the 0.2 s clip looped at half volume for 0.7 s, then stopped
    assert rms(run.window(loop_from + 0.02, loop_to - 0.02)) > 700
    assert rms(run.window(loop_to + 0.03, 2.9)) == 0.0


async def test_a_stream_source_plays_until_it_ends(tmp_path: Path) -> None:
    async def frames() -> AsyncIterator[AudioFrame]:
        for i in range(10):  # 10 x 20 ms of a constant level
            yield AudioFrame(np.full((320, 1), 2000, np.int16), RATE, pts=i * 0.02)

    async def during(session: AgentSession[Any], player: BackgroundAudioPlayer) -> None:
        with pytest.raises(UsageError, match="cannot be looped"):
            player.play(frames(), loop=True)
        await player.play(frames())

    run = await converse(tmp_path, said=[(3.0, 0.5, "hi")], player=BackgroundAudioPlayer(),
                         during=during)  # fmt: skip
    assert rms(run.window(0.01, 0.19)) == pytest.approx(2000, rel=0.02)
    assert rms(run.window(0.25, 2.9)) == 0.0


async def test_a_bad_source_fails_at_start(tmp_path: Path) -> None:
    missing = tmp_path / "nope.wav"
    not_audio = tmp_path / "text.wav"
    not_audio.write_text("not audio")
    with pytest.raises(UsageError, match="not started"):
        BackgroundAudioPlayer().play(BuiltinAudioClip.KEYBOARD_TYPING)
    session: AgentSession[Any] = AgentSession(
        stt=ScriptedSTT(texts=[]), llm=ScriptedLLM(replies=[]), tts=ScriptedTTS(),
        clock=VirtualClock(),
    )  # fmt: skip
    with pytest.raises(UsageError, match="not started"):
        await BackgroundAudioPlayer().start(agent_session=session)
    source = MemorySource(pcm=np.zeros(RATE, np.int16), sample_rate=RATE, realtime=True)
    await session.start(Agent(instructions="x"), audio=source, output=AudioOutput())
    with pytest.raises(ConfigError, match="no audio file at .*nope.wav"):
        await BackgroundAudioPlayer(ambient_sound=str(missing)).start(agent_session=session)
    bad = BackgroundAudioPlayer(thinking_sound=[AudioConfig(str(not_audio), probability=0.5)])
    with pytest.raises(ConfigError, match=r"cannot read .*text\.wav' as audio"):
        await bad.start(agent_session=session)
    with pytest.raises(UsageError, match="agent_session"):
        await BackgroundAudioPlayer().start(room=object())
    await session.aclose()


async def test_a_silent_mixer_passes_speech_unchanged_and_text_sessions_have_none() -> None:
    session: AgentSession[Any] = AgentSession(llm=ScriptedLLM(replies=[]), clock=VirtualClock())
    await session.start(Agent(instructions="x"))
    assert session.graph is not None
    assert not any(isinstance(n, BackgroundAudio) for n in session.graph.iter_nodes())
    # a text session (console --text) has no audio to mix into: the player starts, plays
    # nothing, and still checks its sources
    with pytest.raises(ConfigError, match="no audio file"):
        await BackgroundAudioPlayer(ambient_sound="/nope.wav").start(agent_session=session)
    player = BackgroundAudioPlayer(ambient_sound=BuiltinAudioClip.OFFICE_AMBIENCE)
    await player.start(agent_session=session)
    assert player.play(BuiltinAudioClip.KEYBOARD_TYPING).done()
    with pytest.raises(UsageError, match="already started"):
        await player.start(agent_session=session)
    await player.aclose()
    await session.aclose()


async def test_a_graph_with_audio_but_no_mixer_is_refused() -> None:
    from voicegraph.nodes.agent import AgentController, AgentToolExecutor, voice_pipeline

    session: AgentSession[Any] = AgentSession(clock=VirtualClock())
    source = MemorySource(pcm=np.zeros(RATE, np.int16), sample_rate=RATE, realtime=True)
    graph = voice_pipeline(
        source, stt=ScriptedSTT(texts=[]), llm=ScriptedLLM(replies=[]), tts=ScriptedTTS(),
        output=AudioOutput(), controller=AgentController(), tools=AgentToolExecutor(),
    )  # fmt: skip
    await session.start(Agent(instructions="x"), graph=graph)
    with pytest.raises(ConfigError, match="0 BackgroundAudio nodes"):
        await BackgroundAudioPlayer().start(agent_session=session)
    await session.aclose()


def test_builtin_clips_are_deterministic_and_written_as_wav() -> None:
    for clip in BuiltinAudioClip:
        samples = clip.samples()
        assert samples.dtype == np.int16 and 1.5 * 16000 <= len(samples) <= 5 * 16000
        assert 50 < rms(samples) < 8000, clip
    office = BuiltinAudioClip.OFFICE_AMBIENCE
    data, rate = sf.read(office.path(), dtype="int16")
    assert rate == 16000 and np.array_equal(data, office.samples())

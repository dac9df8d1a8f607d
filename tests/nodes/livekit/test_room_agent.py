"""An AgentSession in a LocalRoom: the user's mic in through RoomInput, the agent's reply out
through RoomOutput, as a worker job would run it (scripted STT/LLM/TTS, real Silero VAD)."""

from __future__ import annotations

import anyio
import numpy as np
import soundfile as sf
from livekit import rtc

from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.livekit import RoomInput, RoomOutput
from voicegraph.nodes.llm import ScriptedLLM
from voicegraph.nodes.samples import sample_path
from voicegraph.nodes.stt import ScriptedSTT
from voicegraph.nodes.tts import ScriptedTTS
from voicegraph.runner.worker import LocalRoom


async def speak(source: rtc.AudioSource, pcm: np.ndarray, seconds_of_silence: float) -> None:
    """Feed ``pcm`` (16 kHz mono int16) and then silence, in real time, 20 ms at a time."""
    pcm = np.concatenate([pcm, np.zeros(int(seconds_of_silence * 16000), np.int16)])
    for i in range(0, len(pcm) - 319, 320):
        await source.capture_frame(rtc.AudioFrame(pcm[i : i + 320].tobytes(), 16000, 1, 320))


async def test_an_agent_session_talks_in_a_room() -> None:
    question, rate = sf.read(str(sample_path("question")), dtype="int16")
    assert rate == 16000
    room = LocalRoom("r")
    mic = rtc.AudioSource(16000, 1, queue_size_ms=100)
    room.add_participant("alice")
    room.publish_audio("alice", rtc.LocalAudioTrack.create_audio_track("mic", mic))
    output = RoomOutput(room=room)
    session: AgentSession[None] = AgentSession(
        stt=ScriptedSTT(texts=["What is the capital of France?"]),
        llm=ScriptedLLM(replies=["Paris is the capital."], first_token_delay=0.0),
        tts=ScriptedTTS(),
    )
    heard: list[float] = []
    async with anyio.create_task_group() as tg:
        await session.start(Agent(instructions="Answer briefly."), audio=RoomInput(room=room),
                            output=output)  # fmt: skip
        stream = rtc.AudioStream.from_track(track=output.track, sample_rate=24000)

        async def listen() -> None:
            try:
                async for event in stream:
                    if np.abs(np.frombuffer(event.frame.data, np.int16)).max() > 1000:
                        heard.append(event.frame.samples_per_channel / 24000)
            finally:
                with anyio.CancelScope(shield=True):
                    await stream.aclose()

        tg.start_soon(listen)
        with anyio.fail_after(15):
            await speak(mic, question[: int(1.6 * 16000)], seconds_of_silence=1.2)
            while output.playing or not output.played_replies:
                await anyio.sleep(0.02)
        room.remove_participant("alice")  # the user leaves: the session ends
        with anyio.fail_after(5):
            await session.wait()
        tg.cancel_scope.cancel()
    texts = [(m.role, m.text) for m in session.history.messages]
    assert ("assistant", "Paris is the capital.") in texts
    reply_text, reply_seconds, interrupted = output.played_replies[-1]
    assert reply_text == "Paris is the capital." and not interrupted
    loud = reply_seconds - 0.06 * reply_text.count(" ")  # ScriptedTTS is silent on spaces
    assert abs(sum(heard) - loud) < 0.06  # the room heard what the marks report

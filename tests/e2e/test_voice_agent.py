"""End to end with the real embedded models: Silero VAD, Whisper, SmolLM2, hibari TTS.

Each test runs the standard voice graph on a bundled clip under the virtual clock (model
compute takes zero virtual time, so a run costs only the models' real compute). Orchestration
details are tested with scripted models elsewhere; these check that the real stack works.
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from voicegraph.nodes.agent import VoicePipeline, turn_metrics, voice_pipeline
from voicegraph.nodes.audio import WavSource, align_recording, read_mono_wav
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.samples import sample_path
from voicegraph.nodes.tts import transcribe_audio, word_error_rate
from voicegraph.runner import Runner, VirtualClock


async def converse(sample: str, tmp_path: Path) -> VoicePipeline:
    pipeline = voice_pipeline(
        WavSource(path=str(sample_path(sample))),
        output=AudioOutput(path=str(tmp_path / "reply.wav")),
    )
    await Runner(pipeline.graph, clock=VirtualClock()).run()
    return pipeline


def assistant_texts(p: VoicePipeline) -> list[str]:
    return [m.text for m in p.llm.chat.messages if m.role == "assistant"]


async def test_a_question_gets_a_spoken_answer(tmp_path: Path) -> None:
    p = await converse("question", tmp_path)
    (turn,) = p.turn.decisions
    assert word_error_rate("what is the capital of france", turn.text) <= 0.2

    (reply,) = assistant_texts(p)
    assert reply.strip()
    (played_text, seconds, interrupted) = p.output.played_replies[0]
    assert not interrupted and seconds > 0.5 and played_text.strip() == reply.strip()

    audio, rate = sf.read(tmp_path / "reply.wav", dtype="int16")
    assert rate == 24000 and len(audio) > rate  # the reply, placed on the conversation timeline
    heard = transcribe_audio(audio, rate)
    assert word_error_rate(reply, heard) <= 0.35, (reply, heard)

    (metrics,) = p.turn_metrics()
    # at least the VAD's silence (0.2 s): the end of an utterance is not known sooner
    assert metrics.voice_to_voice_from_vad is not None and metrics.voice_to_voice_from_vad >= 0.2

    # aligned with the input (sample i of both is the same moment), timed from the audio
    user = read_mono_wav(sample_path("question"))
    origin = p.source.media_to_clock(0.0)  # type: ignore[attr-defined]
    assert origin is not None
    played, rate = read_mono_wav(tmp_path / "reply.wav")
    aligned = align_recording(played, rate, origin)
    (heard,) = turn_metrics(p, user_audio=user, agent_audio=(aligned, rate))
    assert heard.voice_to_voice is not None and heard.vad_lag is not None
    assert heard.leading_silence is not None and heard.leading_silence >= 0
    # the true end of speech is before the VAD's, the first audible audio after the reply's
    # start (to one 20 ms window): the honest figure is the longer one
    assert heard.vad_lag > 0
    assert heard.voice_to_voice >= metrics.voice_to_voice_from_vad - 0.02
    assert [u.role for u in p.log.utterances] == ["user", "agent"]


async def test_silence_and_noise_get_no_reply(tmp_path: Path) -> None:
    for sample in ("silence", "noise"):
        p = await converse(sample, tmp_path)
        assert p.turn.decisions == [] and assistant_texts(p) == []
        assert list(p.output.played_replies) == []


async def test_barge_in_cuts_the_agent_off(tmp_path: Path) -> None:
    p = await converse("barge_in", tmp_path)
    assert p.turn.interruptions, "the user's second utterance interrupted the agent"
    first_reply = p.output.played_replies[0]
    played_text, seconds, interrupted = first_reply
    assert interrupted
    # the user started speaking again 3 s after the question; the agent stopped within a
    # frame of the interruption decision (0.5 s of speech), so well under 3 s of audio played
    assert 0.5 < seconds < 3.0

    cut = next(m for m in p.llm.chat.messages if m.role == "assistant")
    assert cut.interrupted
    assert cut.text == played_text  # the context keeps only what was played

    users = [m.text for m in p.llm.chat.messages if m.role == "user"]
    assert word_error_rate("tell me a long story about a dragon who learns to fly", users[0]) <= 0.2
    assert "paris" in users[-1].lower()
    assert len(p.output.played_replies) >= 2  # the agent answered the new request

"""ElevenLabs engines and nodes without a network: keys, missing SDK, word alignment, errors,
URLs, how the TTS engines sit in a TTSNode."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from voicegraph.graph import ConfigError, Graph, MissingDependencyError, ProviderError
from voicegraph.nodes.elevenlabs import (
    ElevenLabsHTTPTTS,
    ElevenLabsRealtimeSTT,
    ElevenLabsSTT,
    ElevenLabsTTS,
    WordAligner,
)
from voicegraph.nodes.elevenlabs._errors import http_error, retry_after, to_provider_error
from voicegraph.nodes.elevenlabs._voice import decode_pcm
from voicegraph.nodes.tts import ScriptedTTS, TTSNode

NODES = [ElevenLabsTTS, ElevenLabsHTTPTTS, ElevenLabsSTT, ElevenLabsRealtimeSTT]


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("ELEVEN_API_KEY", "ELEVENLABS_API_KEY"):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize("node", NODES)
def test_a_missing_key_fails_at_build_time_naming_the_variable(node: type) -> None:
    with pytest.raises(ConfigError, match="set the ELEVEN_API_KEY environment variable"):
        node()


@pytest.mark.parametrize("variable", ["ELEVEN_API_KEY", "ELEVENLABS_API_KEY"])
def test_the_key_comes_from_either_variable(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "from-env")
    tts = ElevenLabsTTS()
    assert tts._api_key == "from-env"
    assert "from-env" not in tts.config.model_dump_json()


def test_a_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "elevenlabs" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingDependencyError, match=r"pip install 'voicegraph\[elevenlabs\]'"):
        ElevenLabsTTS(api_key="k")


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="sample_rate"):
        ElevenLabsTTS(api_key="k", sample_rate=8000)
    tts = ElevenLabsTTS(api_key="k", sample_rate=16000, stability=0.4, speed=1.1)
    assert tts.sample_rate == 16000 and tts.output_format == "pcm_16000"
    assert tts.voice_settings() == {"stability": 0.4, "speed": 1.1}
    assert TTSNode(engine=tts).audio.sample_rate == 16000  # the host speaks at its rate


@pytest.mark.parametrize("engine", [ElevenLabsTTS, ElevenLabsHTTPTTS])
def test_tts_engines_stream_so_a_host_at_another_rate_refuses_them(engine: type) -> None:
    voice = engine(api_key="k", sample_rate=16000)
    assert voice.streaming
    host = TTSNode(engine=ScriptedTTS(sample_rate=24000))
    with pytest.raises(ConfigError, match="streams its own audio at 16000 Hz"):
        host.set_engine(voice)
    host.set_engine(engine(api_key="k", sample_rate=24000))
    with pytest.raises(ConfigError, match="streams its own audio"):
        TTSNode(engine=voice, sample_rate=24000)


def test_tts_engines_round_trip_in_a_graph_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELEVEN_API_KEY", "from-env")
    g = Graph("cloud")
    g.add(TTSNode(engine=ElevenLabsTTS(voice_id="v1", sample_rate=16000)))
    text = g.to_yaml()
    assert "from-env" not in text
    [tts] = Graph.from_yaml(text).iter_nodes()
    assert isinstance(tts, TTSNode) and isinstance(tts.engine, ElevenLabsTTS)
    assert tts.engine.config.voice_id == "v1" and tts.sample_rate == 16000


def test_websocket_url_follows_base_url() -> None:
    tts = ElevenLabsTTS(api_key="k", voice_id="v1", language="de")
    assert tts.url.startswith("wss://api.elevenlabs.io/v1/text-to-speech/v1/multi-stream-input?")
    assert "model_id=eleven_flash_v2_5" in tts.url and "sync_alignment=true" in tts.url
    assert "language_code=de" in tts.url
    local = ElevenLabsTTS(api_key="k", base_url="http://127.0.0.1:9/")
    assert local.url.startswith("ws://127.0.0.1:9/v1/text-to-speech/")


# --------------------------------------------------------------------------- alignment


def tone(seconds: float, rate: int = 100) -> np.ndarray:
    return np.ones(round(seconds * rate), np.int16)


def test_aligner_cuts_at_word_starts_across_chunks() -> None:
    aligner = WordAligner(100, frame_samples=10)
    # chunk 1: "hi yo" (0.0-0.5 s, absolute times); chunk 2: " you", times relative to it
    aligner.add(tone(0.5), list("hi yo"), [0.0, 0.1, 0.2, 0.3, 0.4])
    first = aligner.ready()
    assert [(p.text, p.offset, p.duration) for p in first] == [
        ("hi", 0.0, 0.3),
        ("hi", 0.1, 0.3),
        ("hi", 0.2, 0.3),
    ]
    aligner.add(tone(0.4), list(" you"), [0.0, 0.1, 0.2, 0.3])
    second = aligner.ready()
    assert {p.text for p in second} == {"yo"} and second[0].duration == pytest.approx(0.3)
    rest = aligner.finish()
    assert {p.text for p in rest} == {"you"} and rest[0].duration == pytest.approx(0.3)
    pieces = first + second + rest
    assert sum(len(p.pcm) for p in pieces) == 90  # every sample, once
    assert all(len(p.pcm) <= 10 for p in pieces)


def test_aligner_without_alignment_is_one_unit() -> None:
    aligner = WordAligner(100, frame_samples=25)
    aligner.add(tone(0.6))
    assert aligner.ready() == []
    pieces = aligner.finish("Hello world.")
    assert {p.text for p in pieces} == {"Hello world."}
    assert [p.offset for p in pieces] == [0.0, 0.25, 0.5] and pieces[0].duration == 0.6
    assert WordAligner(100, 10).finish("nothing") == []


def test_aligner_audio_before_alignment_belongs_to_the_first_word() -> None:
    aligner = WordAligner(100, frame_samples=100)
    aligner.add(tone(0.2))  # leading silence: audio without characters
    aligner.add(tone(0.2), list("a b"), [0.0, 0.1, 0.2])  # times relative to this chunk
    [piece] = aligner.ready()  # "a" runs from the start of the audio to "b" (0.2 + 0.2 s)
    assert (piece.text, piece.duration, len(piece.pcm)) == ("a", 0.4, 40)
    assert aligner.finish() == []  # "b" starts where the audio ends: nothing of it was spoken


def test_decode_pcm() -> None:
    assert decode_pcm("AAABAA==").tolist() == [0, 1]
    assert decode_pcm(None).size == 0
    with pytest.raises(ProviderError, match="not valid base64"):
        decode_pcm("!!!")


# --------------------------------------------------------------------------- errors


def test_http_errors_name_status_and_hint() -> None:
    error = http_error(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
    assert str(error) == (
        "elevenlabs (HTTP 401): the API key was rejected; check ELEVEN_API_KEY / "
        "ELEVENLABS_API_KEY: Invalid API key"
    )
    limited = http_error(429, b'{"detail": "busy"}', {"retry-after": "2"})
    assert limited.status == 429 and getattr(limited, "retry_after", None) == 2.0
    assert "malformed" in str(http_error(200, "{oops"))


def test_sdk_errors_are_mapped() -> None:
    from elevenlabs.core.api_error import ApiError

    error = to_provider_error(ApiError(status_code=500, body="<html>", headers={}))
    assert error.status == 500 and "server error" in str(error)
    assert retry_after({"retry-after-ms": "250"}) == 0.25

"""HibariTTS: the embedded offline TTS engine (``hibari-tts``, 24 kHz mono, Apache-2.0)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from voicegraph.graph import ConfigError, MissingDependencyError, NodeConfig, ProviderError

from ._engine import FloatAudio, TTSEngine

__all__ = ["HibariTTS"]

SAMPLE_RATE = 24000


class _Model:
    """One loaded hibari model, shared by every engine of the process that uses it."""

    def __init__(self, tts: Any) -> None:
        self.tts = tts
        self.lock = threading.Lock()  # one synthesis at a time per engine (G2P state)

    def synthesize(self, text: str, speed: float, seed: int | None) -> list[FloatAudio]:
        with self.lock:
            parts = list(self.tts.stream(text, speed=speed, seed=seed))
        return [np.asarray(p, np.float32) for p in parts]


_MODELS: dict[tuple[str, int], _Model] = {}
_MODELS_LOCK = threading.Lock()


def _voice_model(voice: str) -> str:
    """The voice's ONNX file; raises ConfigError if unknown or not installed (never downloads)."""
    try:
        from hibari.voices import VOICES, voice_path
    except ImportError:
        raise MissingDependencyError("hibari-tts", what="HibariTTS") from None
    if voice not in VOICES:
        raise ConfigError(f"HibariTTS: unknown voice {voice!r}; choose one of {', '.join(VOICES)}")
    try:
        return str(voice_path(voice, download_missing=False))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"HibariTTS: voice {voice!r} is not installed (only 'heart' ships in the package and "
            f"nothing is downloaded at run time); copy its model file to {exc} or use "
            "voice='heart'"
        ) from None


def load_model(voice: str = "heart", threads: int = 1) -> _Model:
    """The process-wide hibari model for ``voice``/``threads``, loaded and warmed once."""
    key = (voice, threads)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            path = _voice_model(voice)
            from hibari import Hibari

            tts = Hibari(voice=voice, model=path, threads=threads)
            tts("Warm up.", seed=0)  # loads the G2P lexicons now, not on the first reply
            model = _MODELS[key] = _Model(tts)
    return model


class HibariTTS(TTSEngine):
    """Speak with hibari, the embedded offline TTS: 24 kHz mono, ~100x real time.

    The model (``hibari/assets/hibari.onnx``, voice ``"heart"``) ships in the ``hibari-tts``
    package and is loaded once per process when the engine starts (a host node starts it in
    its ``setup``; engines with the same ``voice`` and ``threads`` share it); nothing is
    downloaded. Each sentence is synthesized in a worker thread (``clock.run_sync``: zero
    virtual time under ``VirtualClock``; 10-25 ms of real time per sentence on one core
    here, ~100x real time; loading takes ~0.5 s). With a fixed ``seed`` the output is
    bit-identical run to run.

    hibari puts ~0.3 s of silence before and ~0.4 s after each sentence, and often 10-70 ms
    of breath or weak consonant (-50 to -40 dBFS) before the word; the host
    :class:`~voicegraph.nodes.tts.TTSNode` trims them (``silence_threshold_db``, default
    -50 dBFS; ``onset_db``, -40 dBFS) and inserts ``sentence_pause`` (0.15 s) between
    sentences instead, so the reply starts with its audible word.

    >>> from voicegraph.nodes.tts import TTSNode
    >>> tts = TTSNode(engine=HibariTTS(speed=1.2))

    Config:
        voice: hibari voice name (default ``"heart"``, the only one in the package).
        speed: speaking rate, 0.5 (slow) .. 2.0 (fast) (default 1.0).
        seed: noise seed; the same seed gives identical audio (default 0; ``None``: random).
        threads: onnxruntime threads (default 1).

    Raises:
        ConfigError: an unknown voice, or one that is not installed.
        MissingDependencyError: ``hibari-tts`` is not installed.
    """

    class Config(NodeConfig):
        voice: str = "heart"
        speed: float = Field(1.0, ge=0.5, le=2.0)
        seed: int | None = 0
        threads: int = Field(1, ge=1, le=64)

    config: Config
    sample_rate = SAMPLE_RATE

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        _voice_model(self.config.voice)  # a bad or missing voice fails when the graph is built
        self._model: _Model | None = None

    async def start(self) -> None:
        """Load (once per process) and warm up the hibari model."""
        cfg = self.config
        self._model = await self.clock.run_sync(load_model, cfg.voice, cfg.threads)

    async def aclose(self) -> None:
        """Let go of the model (it stays cached for the process)."""
        self._model = None

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        """Synthesize ``text`` in a worker thread; one array per sentence hibari finds in it."""
        cfg = self.config
        model = self._model
        if model is None:  # used without ``async with``: load on first use
            model = self._model = await self.clock.run_sync(load_model, cfg.voice, cfg.threads)
        try:
            return await self.clock.run_sync(model.synthesize, text, cfg.speed, cfg.seed)
        except Exception as exc:  # the model's own errors, named
            raise ProviderError("hibari", f"could not synthesize {text[:60]!r}: {exc}") from exc

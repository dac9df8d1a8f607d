"""ScriptedTTS: a TTS engine of deterministic tone "speech" whose length follows the text."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from voicegraph.graph import NodeConfig

from ._engine import FloatAudio, TTSEngine

__all__ = ["ScriptedTTS"]

_HISTORY = 1000


class ScriptedTTS(TTSEngine):
    """A TTS engine without a model: ``seconds_per_char`` of tone per character, silence for
    spaces.

    For orchestration tests: a sentence of ``n`` characters lasts exactly
    ``n * seconds_per_char`` seconds (0.06 s by default, about a normal speaking rate), so
    timelines are easy to predict. Its pauses are 0 (a :class:`TTSNode` adds none unless it
    sets ``sentence_pause`` / ``clause_pause`` itself). ``latency`` simulates synthesis time
    with ``clock.sleep`` on the host's clock (virtual time under ``VirtualClock``).

    >>> from voicegraph.nodes.tts import TTSNode
    >>> tts = TTSNode(engine=ScriptedTTS(seconds_per_char=0.04))

    Config:
        sample_rate: audio rate (default 24000).
        seconds_per_char: audio seconds per character (default 0.06).
        tone_hz: tone frequency (default 220).
        amplitude: tone amplitude, 0..1 (default 0.3).
        latency: clock seconds each synthesis takes (default 0).
    """

    class Config(NodeConfig):
        sample_rate: int = Field(24000, ge=8000, le=192000)
        seconds_per_char: float = Field(0.06, gt=0.0, le=1.0)
        tone_hz: float = Field(220.0, gt=0.0)
        amplitude: float = Field(0.3, gt=0.0, le=1.0)
        latency: float = Field(0.0, ge=0.0)

    config: Config
    sentence_pause: ClassVar[float] = 0.0
    clause_pause: ClassVar[float] = 0.0

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self.sample_rate = self.config.sample_rate
        self.spoken: deque[str] = deque(maxlen=_HISTORY)
        """The texts synthesized, in order (the last 1000)."""

    async def synthesize(self, text: str) -> Sequence[FloatAudio]:
        """Tone for each character of ``text`` (silence for white space)."""
        cfg = self.config
        if cfg.latency:
            await self.clock.sleep(cfg.latency)
        self.spoken.append(text)
        per_char = round(cfg.seconds_per_char * self.sample_rate)
        t = np.arange(per_char * len(text)) / self.sample_rate
        tone = cfg.amplitude * np.sin(2 * math.pi * cfg.tone_hz * t)
        mask = np.repeat([not c.isspace() for c in text], per_char)
        return [(tone * mask).astype(np.float32)]

"""A tiny self-contained demo graph: a tone source, a level meter and a printer."""

from __future__ import annotations

import math

import numpy as np

from voicegraph.graph import AudioFrame, Graph, In, Node, NodeConfig, Out, TextFrame

__all__ = ["LevelMeter", "Printer", "ToneBursts", "demo_graph"]


class ToneBursts(Node):
    """Emit 20 ms frames of a 440 Hz tone that is on for ``on`` s and off for ``off`` s."""

    class Config(NodeConfig):
        seconds: float = 2.0
        sample_rate: int = 16000
        on: float = 0.3
        off: float = 0.2
        realtime: bool = False

    config: Config
    audio: Out[AudioFrame]

    async def run(self) -> None:
        cfg = self.config
        n = cfg.sample_rate // 50
        for i in range(int(cfg.seconds * 50)):
            pts = i * n / cfg.sample_rate
            t = pts + np.arange(n) / cfg.sample_rate
            on = (pts % (cfg.on + cfg.off)) < cfg.on
            wave = 0.3 * np.sin(2 * math.pi * 440 * t) if on else np.zeros(n)
            pcm = (wave * 32767).astype(np.int16).reshape(-1, 1)
            await self.emit(self.audio, AudioFrame(pcm, cfg.sample_rate, pts=pts))
            if cfg.realtime:
                await self.clock.sleep_until(pts + n / cfg.sample_rate)


class LevelMeter(Node):
    """Report the level of each frame in dBFS as text."""

    audio: In[AudioFrame]
    text: Out[TextFrame]

    async def on_audio(self, frame: AudioFrame) -> None:
        rms = float(np.sqrt(np.mean(frame.pcm.astype(np.float64) ** 2))) / 32768
        db = 20 * math.log10(rms) if rms > 0 else -120.0
        await self.emit(self.text, TextFrame(f"{frame.pts:6.2f}s {db:7.1f} dBFS"))


class Printer(Node):
    """Print every text frame (or keep them in ``lines`` when ``quiet``)."""

    class Config(NodeConfig):
        quiet: bool = False

    config: Config
    text: In[TextFrame]

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)
        self.lines: list[str] = []

    async def on_text(self, frame: TextFrame) -> None:
        self.lines.append(frame.text)
        if not self.config.quiet:
            print(frame.text)


def demo_graph(seconds: float = 2.0, *, quiet: bool = False) -> Graph:
    """tone bursts >> level meter >> printer."""
    with Graph("demo") as g:
        ToneBursts(seconds=seconds) >> LevelMeter() >> Printer(quiet=quiet)
    return g

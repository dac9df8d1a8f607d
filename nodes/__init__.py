"""The stages: audio I/O, resampling, VAD, STT, turn detection, LLM, tools, TTS."""

from ._demo import LevelMeter as LevelMeter
from ._demo import Printer as Printer
from ._demo import ToneBursts as ToneBursts
from ._demo import demo_graph as demo_graph

__all__ = ["LevelMeter", "Printer", "ToneBursts", "demo_graph"]

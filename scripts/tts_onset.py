"""Print how late a reply's audio becomes audible: ``python scripts/tts_onset.py [--old]``.

Each sentence is spoken as a one-sentence reply by ``TTSNode(engine=HibariTTS())`` under the
virtual clock; printed per sentence: the time from the first sample the node sends to the
first 20 ms window above -40 dBFS (slid in 1 ms steps, the "first audible audio" of issue
13), and the levels of the first three 20 ms frames. ``--old`` trims as before issue 13
(start 10 ms before the first 10 ms window above -50 dBFS: ``onset_db=-50``).
Offline, a few seconds; no timing is asserted.
"""

from __future__ import annotations

import argparse
import math

import anyio
import numpy as np

from voicegraph.graph import Graph, In, Node, Out, Sentence, SpeechAudio
from voicegraph.nodes.tts import HibariTTS, TTSNode
from voicegraph.runner import Runner, VirtualClock

SENTENCES = [
    "The capital of France is Paris.",
    "Sure.",
    "Let me check that for you.",
    "What would you like to know?",
    "Hello! How can I help you today?",
    "Okay, got it.",
    "Hmm, good question.",
    "Four hundred and twelve.",
]
AUDIBLE_DB = -40.0


def level_db(pcm: np.ndarray) -> float:
    """RMS level of int16 samples in dBFS (-200 for digital silence)."""
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) / 32768
    return 20 * math.log10(rms) if rms > 0 else -200.0


def first_audible(pcm: np.ndarray, rate: int) -> float | None:
    """Seconds from the first sample to the first 20 ms window above -40 dBFS (1 ms steps)."""
    pcm = pcm.reshape(-1)
    window, step = round(0.02 * rate), round(0.001 * rate)
    for start in range(0, max(1, len(pcm) - window + 1), step):
        if level_db(pcm[start : start + window]) > AUDIBLE_DB:
            return start / rate
    return None


class _Say(Node):
    sentences: Out[Sentence]

    def __init__(self, texts: list[str]) -> None:
        super().__init__()
        self.texts = texts

    async def run(self) -> None:
        for text in self.texts:
            await self.emit(self.sentences, Sentence(text, final=True))


class _Keep(Node):
    audio: In[SpeechAudio]

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[list[SpeechAudio]] = []

    async def on_audio(self, frame: SpeechAudio) -> None:
        if frame.pts == 0.0:
            self.replies.append([])
        self.replies[-1].append(frame)


async def replies(texts: list[str], **tts_settings: float) -> list[list[SpeechAudio]]:
    """The SpeechAudio frames of each one-sentence reply, spoken by HibariTTS in a TTSNode."""
    g = Graph()
    say = g.add(_Say(texts))
    tts = g.add(TTSNode(engine=HibariTTS(), **tts_settings))
    keep = g.add(_Keep())
    g.connect(say.sentences, tts.sentences)
    g.connect(tts.audio, keep.audio)
    await Runner(g, clock=VirtualClock()).run()
    return keep.replies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", action="store_true", help="trim as before (onset at -50 dBFS)")
    args = parser.parse_args()
    settings = {"onset_db": -50.0} if args.old else {}
    for text, frames in zip(SENTENCES, await replies(SENTENCES, **settings), strict=True):
        pcm = np.concatenate([f.pcm for f in frames])
        delay = first_audible(pcm, frames[0].sample_rate)
        shown = "never" if delay is None else f"{delay * 1000:3.0f} ms"
        levels = ", ".join(f"{level_db(f.pcm):6.1f}" for f in frames[:3])
        print(f"{text!r:36} first audible after {shown}; first frames dBFS: {levels}")


if __name__ == "__main__":
    anyio.run(main)

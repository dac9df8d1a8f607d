"""A voice agent on cloud models: ElevenLabs STT and TTS, Gemini as the LLM.

Each cloud stage is wrapped in a fallback to the embedded offline model, so the agent keeps
talking if a provider fails or rate-limits (the failed one is retried in the background):

    stt = FallbackSTT(providers=[ElevenLabsSTT(), WhisperSTT()])
    llm = FallbackLLM(providers=[GeminiLLM(), LlamaLLM()])
    tts = FallbackTTS(providers=[ElevenLabsHTTPTTS(), HibariTTS()])

Run it with your keys set (it answers the bundled question, or a 16-bit WAV you name)::

    export GOOGLE_API_KEY=...          # or GEMINI_API_KEY
    export ELEVEN_API_KEY=...          # or ELEVENLABS_API_KEY
    python examples/cloud_agent.py [question.wav] [--out reply.wav]

Without the keys it prints which variables to set and exits (status 0): nothing is sent
anywhere. Needs ``pip install 'voicegraph[google,elevenlabs]'``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from voicegraph.nodes.agent import Agent, AgentSession
from voicegraph.nodes.audio import WavSource
from voicegraph.nodes.output import AudioOutput
from voicegraph.nodes.samples import sample_path

KEYS = {
    "Gemini": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    "ElevenLabs": ("ELEVEN_API_KEY", "ELEVENLABS_API_KEY"),
}


def missing_keys() -> list[str]:
    """The providers whose API key is not set, with the variables that would set it."""
    return [
        f"{provider}: set {' or '.join(names)}"
        for provider, names in KEYS.items()
        if not any(os.environ.get(name) for name in names)
    ]


def build_session() -> AgentSession[None]:
    """An AgentSession whose STT, LLM and TTS are cloud models with embedded fallbacks."""
    from voicegraph.nodes.elevenlabs import ElevenLabsHTTPTTS, ElevenLabsSTT
    from voicegraph.nodes.fallback import FallbackLLM, FallbackSTT, FallbackTTS
    from voicegraph.nodes.google import GeminiLLM
    from voicegraph.nodes.llm import LlamaLLM
    from voicegraph.nodes.stt import WhisperSTT
    from voicegraph.nodes.tts import HibariTTS

    return AgentSession(
        stt=FallbackSTT(providers=[ElevenLabsSTT(), WhisperSTT()]),
        llm=FallbackLLM(providers=[GeminiLLM(thinking_budget=0), LlamaLLM()]),
        tts=FallbackTTS(providers=[ElevenLabsHTTPTTS(), HibariTTS()]),
    )


async def main(question: Path, out: Path) -> None:
    session = build_session()
    output = AudioOutput(path=str(out))
    async with session:
        await session.start(
            Agent(instructions="You are a friendly assistant. Answer in one short sentence."),
            audio=WavSource(path=question),
            output=output,
        )
        await session.wait()
    for message in session.history.messages:
        if message.role != "system":
            print(f"{message.role:>9}: {message.text}")
    print(f"reply audio: {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("question", nargs="?", default=str(sample_path("question")))
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "cloud_reply.wav"))
    args = parser.parse_args()
    missing = missing_keys()
    if missing:
        print("skipped: this example talks to Gemini and ElevenLabs; " + "; ".join(missing))
        sys.exit(0)
    asyncio.run(main(Path(args.question), Path(args.out)))

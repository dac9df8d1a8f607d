"""``voicegraph console``: talk to the agent with this machine's microphone and speaker.

No server is involved: the agent's job runs in this process in a :class:`LocalRoom` where the
microphone is a participant's track (``rtc.MediaDevices``, with echo cancellation and noise
suppression) and the agent's published track plays on the speaker. Captions are printed.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import anyio

from voicegraph.graph import ConfigError, VoicegraphError

from ._cli import Echo, _setup_logging, load_server, run_inline
from ._job import JobInfo
from ._local_room import LocalRoom, SentText
from ._server import AgentServer

__all__ = ["check_audio_devices", "console"]

logger = logging.getLogger("voicegraph.worker")

_ADVICE = (
    "install PortAudio and sounddevice on a machine with a sound card (`apt install "
    "libportaudio2` or `brew install portaudio`, then `pip install sounddevice`), or talk to the "
    "agent through a LiveKit room instead: `voicegraph dev <agent>` with LIVEKIT_URL set, and a "
    "client such as the LiveKit Agents Playground"
)


def check_audio_devices() -> tuple[str, str]:
    """Return the names of the default input and output devices.

    Raises:
        ConfigError: sounddevice or PortAudio is missing, or there is no microphone/speaker;
            the message says what to install or do instead.
    """
    try:
        sd: Any = importlib.import_module("sounddevice")
    except ModuleNotFoundError:
        raise ConfigError(
            "voicegraph console needs a microphone and a speaker, but the 'sounddevice' package "
            f"(PortAudio) is not installed: {_ADVICE}"
        ) from None
    except OSError as exc:  # sounddevice is there, the PortAudio library is not
        raise ConfigError(
            f"voicegraph console needs a microphone and a speaker, but {exc}: {_ADVICE}"
        ) from None
    try:
        mic = sd.query_devices(kind="input")
        speaker = sd.query_devices(kind="output")
    except Exception as exc:
        raise ConfigError(
            f"voicegraph console found no usable microphone or speaker ({exc}): {_ADVICE}"
        ) from None
    return str(mic["name"]), str(speaker["name"])


def console(target: str | AgentServer, *, log_level: str = "warning", echo: Echo = print) -> int:
    """Talk to the agent locally until its entrypoint returns or Ctrl-C; return exit status."""
    try:
        _setup_logging(log_level)
        mic, speaker = check_audio_devices()
        server = load_server(target)
        echo(f"voicegraph console: listening on {mic!r}, speaking on {speaker!r} (Ctrl-C ends)")
        status, error = anyio.run(_session, server, echo)
    except VoicegraphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if status != "success":
        print(f"error: the agent failed: {error}", file=sys.stderr)
        return 1
    return 0


async def _session(server: AgentServer, echo: Echo) -> tuple[str, str]:
    from livekit import rtc

    def caption(text: SentText) -> None:
        if text.attributes.get("lk.transcription_final") == "true":
            who = "agent" if text.sender == room.local_participant.identity else "you"
            echo(f"{who:>5}: {text.text}")

    room = LocalRoom("console", on_text=caption)
    devices = rtc.MediaDevices()
    capture = devices.open_input()
    player = devices.open_output()
    published: list[Any] = []

    def on_published(publication: Any, track: Any) -> None:
        published.append(track)

    room.on("local_track_published", on_published)
    try:
        async with anyio.create_task_group() as tg:

            async def play() -> None:
                seen = 0
                await player.start()
                while True:
                    while seen < len(published):
                        await player.add_track(published[seen])
                        seen += 1
                    await anyio.sleep(0.05)

            tg.start_soon(play)
            track = rtc.LocalAudioTrack.create_audio_track("microphone", capture.source)
            room.add_participant("console-user", name="you")
            room.publish_audio("console-user", track)
            result = await run_inline(server, JobInfo("console", room="console"), room=room)
            tg.cancel_scope.cancel()
        return result
    finally:
        with anyio.CancelScope(shield=True):
            await capture.aclose()
            await player.aclose()

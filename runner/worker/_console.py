"""``voicegraph console``: talk to the agent with this machine's microphone and speaker, or
by text (``--text``, LiveKit's flag; no sound device needed).

No server is involved: the agent's job runs in this process in a :class:`LocalRoom`. In audio
mode the microphone is a participant's track (``rtc.MediaDevices``, with echo cancellation
and noise suppression), the agent's published track plays on the speaker, and captions are
printed. In text mode each line read from standard input is a user turn of the job's
session (``session.run(user_input=line)``, as LiveKit's text mode does); the agent's replies,
tool calls and handoffs are printed. End of input (Ctrl-D) or Ctrl-C ends the job.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any, TextIO

import anyio

from voicegraph.graph import ConfigError, VoicegraphError

from ._cli import Echo, _setup_logging, inline_context, load_server, run_inline
from ._job import JobInfo
from ._local_room import LocalRoom, SentText
from ._server import AgentServer

__all__ = ["check_audio_devices", "console", "describe_event"]

logger = logging.getLogger("voicegraph.worker")

_ADVICE = (
    "talk to it by text instead with `python agent.py console --text` (or `voicegraph console "
    "--text <agent>`), which needs no sound device; or install PortAudio and sounddevice on "
    "a machine with a sound card (`apt install "
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


def console(
    target: str | AgentServer,
    *,
    log_level: str = "warning",
    text: bool = False,
    echo: Echo = print,
    lines: TextIO | None = None,
) -> int:
    """Talk to the agent locally until its job ends or Ctrl-C; return the exit status.

    Args:
        target: the agent (see :func:`load_server`).
        log_level: the logging level (default ``warning``).
        text: text mode: user turns are lines of ``lines``; no sound device is used.
        echo: where replies and captions are printed (default ``print``).
        lines: the text mode's input (default standard input).
    """
    try:
        _setup_logging(log_level)
        server = load_server(target) if text else None
        if text:
            assert server is not None
            echo("voicegraph console (text mode): type a line to talk to the agent; Ctrl-D ends")
            status, error = anyio.run(_text_session, server, echo, lines or sys.stdin)
        else:
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


def describe_event(event: Any) -> str | None:
    """One console line for a session event (``None``: not shown in text mode)."""
    kind = getattr(event, "type", "")
    if kind == "conversation_item_added":
        item = event.item
        if getattr(item, "type", "") == "agent_handoff":
            old, new = getattr(item, "old_agent_id", None), getattr(item, "new_agent_id", "")
            return f"  [handoff] {old or '-'} -> {new}"
        if getattr(item, "role", "") == "assistant" and item.text:
            cut = " [interrupted]" if getattr(item, "interrupted", False) else ""
            return f"agent: {item.text}{cut}"
        return None
    if kind == "function_tools_executed":
        shown = []
        for call, output in event.zipped():
            result = output.output if output is not None else ""
            shown.append(f"  [tool] {call.name}({call.arguments}) -> {result}")
        return "\n".join(shown) or None
    if kind == "error":
        return f"  [error] {event.error}"
    if kind == "close":
        return f"  [session closed: {event.reason}]"
    return None


async def _text_session(server: AgentServer, echo: Echo, lines: TextIO) -> tuple[str, str]:
    room = LocalRoom("console")
    room.add_participant("console-user", name="you")
    ctx = inline_context(server, JobInfo("console", room="console"), room)

    def show(event: Any) -> None:
        line = describe_event(event)
        if line is not None:
            echo(line)

    async def type_turns() -> None:
        while not ctx.sessions:  # the entrypoint starts its session
            await anyio.sleep(0.02)
        session: Any = ctx.sessions[0]
        for name in ("conversation_item_added", "function_tools_executed", "error", "close"):
            session.on(name, show)
        while True:
            line = await anyio.to_thread.run_sync(lines.readline, abandon_on_cancel=True)
            if not line:
                ctx.shutdown("console input ended")
                return
            text = line.strip()
            if not text:
                continue
            echo(f"  you: {text}")
            try:
                await session.run(user_input=text)
            except Exception as exc:  # shown; the conversation goes on
                echo(f"  [error] {type(exc).__name__}: {exc}")

    async with anyio.create_task_group() as tg:
        tg.start_soon(type_turns)
        result = await run_inline(server, ctx.info, ctx=ctx)
        tg.cancel_scope.cancel()
    return result


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

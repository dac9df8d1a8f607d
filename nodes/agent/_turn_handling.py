"""LiveKit Agents 1.8's grouped session options (``turn_handling=TurnHandlingOptions(...)``)
and its other ``AgentSession`` keywords, resolved into :class:`SessionOptions` keywords.

As in LiveKit 1.8:

- ``turn_handling`` is a dict (``TurnHandlingOptions`` is a ``TypedDict``) with the groups
  ``endpointing``, ``interruption``, ``preemptive_generation``, ``user_turn_limit`` and the
  key ``turn_detection``; keys left out keep their defaults.
- The flat names LiveKit deprecated (:data:`LIVEKIT_DEPRECATED`) map onto the groups. When
  ``turn_handling`` is given, LiveKit ignores every one of them; voicegraph does the same (a
  port behaves as it did) but logs a warning naming the ignored ones, where LiveKit
  warns about their deprecation. voicegraph does not warn about the flat names otherwise:
  they are its own documented spelling (``SessionOptions``).
- ``agent_false_interruption_timeout`` is the older name of ``false_interruption_timeout``
  and wins over it.

voicegraph's defaults stay where they differ deliberately (docs/agents.md):
``min_delay`` 0.45 s (LiveKit 0.5 s: voicegraph's VAD reports the end of speech 0.35 s
sooner) and ``aec_warmup_duration`` ``None`` (LiveKit 3.0 s). Options voicegraph cannot
honour raise :class:`ConfigError` when set to a value that asks for the missing behaviour;
the ones whose absence changes nothing a user relies on are accepted (see
:data:`NO_EFFECT`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal

from typing_extensions import TypedDict

from voicegraph.graph import ConfigError

__all__ = [
    "LIVEKIT_DEPRECATED",
    "NO_EFFECT",
    "EndpointingOptions",
    "InterruptionOptions",
    "PreemptiveGenerationOptions",
    "TurnHandlingOptions",
    "UserTurnLimitOptions",
    "resolve_livekit_options",
]

log = logging.getLogger("voicegraph.agent")


class EndpointingOptions(TypedDict, total=False):
    """LiveKit's endpointing group: ``mode`` (``"fixed"`` only), ``min_delay`` (voicegraph's
    default 0.45 s), ``max_delay`` (3.0 s), ``alpha`` (dynamic mode only; accepted)."""

    mode: Literal["fixed", "dynamic"]
    min_delay: float
    max_delay: float
    alpha: float


class InterruptionOptions(TypedDict, total=False):
    """LiveKit's interruption group: ``enabled``, ``mode`` (``"vad"`` only),
    ``discard_audio_if_uninterruptible`` (``True`` only), ``min_duration``, ``min_words``,
    ``resume_false_interruption``, ``false_interruption_timeout``, ``backchannel_boundary``
    (for LiveKit's adaptive detector; accepted, no effect)."""

    enabled: bool
    mode: Literal["adaptive", "vad"]
    discard_audio_if_uninterruptible: bool
    min_duration: float
    min_words: int
    resume_false_interruption: bool
    false_interruption_timeout: float | None
    backchannel_boundary: float | tuple[float, float] | None


class PreemptiveGenerationOptions(TypedDict, total=False):
    """LiveKit's preemptive generation group: ``enabled``, ``preemptive_tts`` (``False``
    only: voicegraph holds the early reply's text back until the turn is confirmed),
    ``max_speech_duration`` and ``max_retries`` (accepted, no effect: voicegraph generates
    ahead on every tentative turn)."""

    enabled: bool
    preemptive_tts: bool
    max_speech_duration: float
    max_retries: int


class UserTurnLimitOptions(TypedDict, total=False):
    """LiveKit's user turn limit group: ``max_words``, ``max_duration``."""

    max_words: int | None
    max_duration: float | None


class TurnHandlingOptions(TypedDict, total=False):
    """LiveKit 1.8's ``turn_handling``: every key optional."""

    turn_detection: Any
    endpointing: EndpointingOptions
    interruption: InterruptionOptions
    preemptive_generation: PreemptiveGenerationOptions
    user_turn_limit: UserTurnLimitOptions


LIVEKIT_DEPRECATED = (
    "min_endpointing_delay",
    "max_endpointing_delay",
    "false_interruption_timeout",
    "resume_false_interruption",
    "allow_interruptions",
    "discard_audio_if_uninterruptible",
    "min_interruption_duration",
    "preemptive_generation",
    "min_interruption_words",
    "turn_detection",
    "agent_false_interruption_timeout",
)
"""The flat ``AgentSession`` keywords LiveKit 1.8 deprecated for ``turn_handling``."""

NO_EFFECT = {
    "use_tts_aligned_transcript": "the agent's transcript is always what was played, from "
    "the audio output's playout marks",
    "stt_context_options": "no bundled STT takes key terms or the conversation as context",
    "keyterms_options": "no bundled STT takes key terms",
    "video_sampler": "voicegraph has no video input",
    "session_close_transcript_timeout": "closing waits for the running stages by their own "
    "deadlines",
    "conn_options": "each engine has its own timeouts and retries",
    "loop": "voicegraph runs on the caller's event loop (anyio)",
}
"""LiveKit keywords accepted whatever their value, and why they change nothing."""

_MISSING: Any = object()


def _check_keys(group: str, value: Any, allowed: type) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"turn_handling[{group!r}] must be a dict, got {value!r}")
    unknown = set(value) - set(allowed.__annotations__)
    if unknown:
        raise ConfigError(
            f"turn_handling[{group!r}]: unknown key(s) {sorted(unknown)}; "
            f"known: {sorted(allowed.__annotations__)}"
        )
    return value


def _endpointing(group: Mapping[str, Any], out: dict[str, Any]) -> None:
    group = _check_keys("endpointing", group, EndpointingOptions)
    if group.get("mode", "fixed") != "fixed":
        raise ConfigError(
            "endpointing mode 'dynamic' is not available: voicegraph's endpointing adapts "
            "per turn through its turn engine's tiers (quick / min / max delay) instead; "
            "use mode 'fixed' (the default)"
        )
    if "min_delay" in group:
        out["min_endpointing_delay"] = group["min_delay"]
    if "max_delay" in group:
        out["max_endpointing_delay"] = group["max_delay"]


def _interruption(group: Mapping[str, Any], out: dict[str, Any]) -> None:
    group = _check_keys("interruption", group, InterruptionOptions)
    if group.get("mode", "vad") != "vad":
        raise ConfigError(
            f"interruption mode {group['mode']!r} is not available: voicegraph has no "
            "adaptive (model-based) interruption detector; use 'vad' or leave mode out"
        )
    if not group.get("discard_audio_if_uninterruptible", True):
        raise ConfigError(
            "discard_audio_if_uninterruptible=False is not available: speech that starts "
            "during an uninterruptible reply is always discarded in voicegraph"
        )
    names = {
        "enabled": "allow_interruptions",
        "min_duration": "min_interruption_duration",
        "min_words": "min_interruption_words",
        "resume_false_interruption": "resume_false_interruption",
        "false_interruption_timeout": "false_interruption_timeout",
    }
    for key, name in names.items():
        if key in group:
            out[name] = group[key]


def _preemptive(value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, bool):
        out["preemptive_generation"] = value
        return
    group = _check_keys("preemptive_generation", value, PreemptiveGenerationOptions)
    if group.get("preemptive_tts", False):
        raise ConfigError(
            "preemptive_tts=True is not available: voicegraph holds a reply generated ahead "
            "back from the TTS until the turn is confirmed"
        )
    if "enabled" in group:
        out["preemptive_generation"] = group["enabled"]


def _turn_handling(value: Any, out: dict[str, Any]) -> Any:
    """Apply ``turn_handling`` to ``out``; return its ``turn_detection`` (or ``_MISSING``)."""
    value = _check_keys("turn_handling", value, TurnHandlingOptions)
    if "endpointing" in value:
        _endpointing(value["endpointing"], out)
    if "interruption" in value:
        _interruption(value["interruption"], out)
    if "preemptive_generation" in value:
        _preemptive(value["preemptive_generation"], out)
    if "user_turn_limit" in value:
        limit = dict(_check_keys("user_turn_limit", value["user_turn_limit"], UserTurnLimitOptions))
        if any(v is not None for v in limit.values()):
            out["user_turn_limit"] = limit
    return value.get("turn_detection", _MISSING)


def _flat(settings: dict[str, Any], out: dict[str, Any]) -> None:
    """The deprecated flat names, as LiveKit's migration maps them."""
    if "agent_false_interruption_timeout" in settings:
        settings["false_interruption_timeout"] = settings.pop("agent_false_interruption_timeout")
    interruption = {
        key: settings.pop(flat)
        for flat, key in (
            ("discard_audio_if_uninterruptible", "discard_audio_if_uninterruptible"),
            ("min_interruption_duration", "min_duration"),
            ("min_interruption_words", "min_words"),
            ("false_interruption_timeout", "false_interruption_timeout"),
            ("resume_false_interruption", "resume_false_interruption"),
            ("allow_interruptions", "enabled"),
        )
        if flat in settings
    }
    _interruption(interruption, out)
    if "preemptive_generation" in settings:
        _preemptive(settings.pop("preemptive_generation"), out)
    for name in ("min_endpointing_delay", "max_endpointing_delay"):
        if name in settings:
            out[name] = settings.pop(name)


def _text_transforms(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"tts_text_transforms must be a list or None, got {value!r}")
    for transform in value:
        if isinstance(transform, Callable):  # type: ignore[arg-type]
            raise ConfigError(
                "tts_text_transforms: a callable transform is not available; transform the "
                "text with a node between the splitter and the TTS in session.graph, or use "
                "'filter_markdown' / 'filter_emoji'"
            )
        if transform not in ("filter_markdown", "filter_emoji"):
            raise ConfigError(
                f"tts_text_transforms: unknown transform {transform!r}; "
                "known: 'filter_markdown', 'filter_emoji'"
            )
    return tuple(value)


def _refuse_unless(
    settings: dict[str, Any], name: str, ok: Callable[[Any], bool], why: str
) -> None:
    if name in settings:
        value = settings.pop(name)
        if not ok(value):
            raise ConfigError(f"AgentSession({name}={value!r}) is not available: {why}")


def resolve_livekit_options(
    settings: Mapping[str, Any], turn_detection: Any = None
) -> tuple[dict[str, Any], Any]:
    """``AgentSession``'s keywords and ``turn_detection`` -> (:class:`SessionOptions`
    keywords, the ``turn_detection`` to use: ``turn_handling``'s if it has one, as LiveKit).

    ``settings`` is left unchanged; keywords that are not LiveKit's go through as given.

    Raises:
        ConfigError: an option voicegraph cannot honour, or a malformed group.
    """
    rest = dict(settings)
    out: dict[str, Any] = {}
    flat = [name for name in LIVEKIT_DEPRECATED if name in rest]
    if "turn_handling" in rest:
        handling = rest.pop("turn_handling")
        if turn_detection is not None:
            flat.append("turn_detection")
        if flat:
            log.warning(
                "AgentSession: %s ignored because turn_handling is given (as in LiveKit); "
                "put them in turn_handling",
                ", ".join(flat),
            )
            for name in flat:
                rest.pop(name, None)
            turn_detection = None
        if handling is not None:
            if "user_turn_limit" in rest and "user_turn_limit" in handling:
                raise ConfigError(
                    "AgentSession: user_turn_limit given both flat and in turn_handling; "
                    "give it once"
                )
            found = _turn_handling(handling, out)
            if found is not _MISSING:
                turn_detection = found
    else:
        _flat(rest, out)
    if "tts_text_transforms" in rest:
        out["tts_text_transforms"] = _text_transforms(rest.pop("tts_text_transforms"))
    for name in NO_EFFECT:
        rest.pop(name, None)
    _refuse_unless(
        rest, "tools", lambda v: not v, "give the tools to each Agent (Agent(tools=[...]))"
    )
    _refuse_unless(
        rest, "tool_handling", lambda v: not v, "voicegraph has no asynchronous tool handling"
    )
    _refuse_unless(rest, "mcp_servers", lambda v: not v, "voicegraph has no MCP client")
    _refuse_unless(
        rest, "expressive", lambda v: v is False, "no bundled TTS reads expressive markup"
    )
    _refuse_unless(
        rest, "ivr_detection", lambda v: v is False, "voicegraph has no IVR (phone menu) detector"
    )
    return {**rest, **out}, turn_detection

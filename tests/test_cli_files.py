"""`voicegraph run` never destroys files: outputs go to a temporary file and are moved into place
only after a successful run; an output that is the input, another output or a folder is refused
with a one-line error."""

from __future__ import annotations

import gc
import os
import sys
import wave
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from voicegraph.cli import app
from voicegraph.nodes.samples import sample_path

OLD = b"an existing file that a failed run must not touch"


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`voicegraph run` with scripted STT / LLM / TTS (the models are tested elsewhere)."""
    import voicegraph.nodes.agent as agent
    from voicegraph.nodes.llm import ScriptedLLM
    from voicegraph.nodes.stt import ScriptedSTT
    from voicegraph.nodes.tts import ScriptedTTS

    real = agent.voice_pipeline

    def pipeline(source: Any, **stages: Any) -> Any:
        stages.update(stt=ScriptedSTT(texts=["Hello?"]), llm=ScriptedLLM(replies=["Hi."]))
        stages.setdefault("tts", ScriptedTTS())
        return real(source, **stages)

    monkeypatch.setattr(agent, "voice_pipeline", pipeline)
    yield


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["run", "--fast", "--quiet", *args])


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def copy_of_sample(folder: Path) -> Path:
    path = folder / "question.wav"
    path.write_bytes(sample_path("question").read_bytes())
    return path


@pytest.mark.usefixtures("scripted")
def test_a_failed_run_leaves_existing_outputs_untouched(tmp_path: Path) -> None:
    out, transcript = tmp_path / "reply.wav", tmp_path / "reply.txt"
    out.write_bytes(OLD)
    transcript.write_bytes(OLD)
    done = invoke("--input", str(tmp_path / "missing.wav"), "--output", str(out))
    assert done.exit_code == 1, done.output
    assert "missing.wav" in done.output
    assert out.read_bytes() == OLD and transcript.read_bytes() == OLD
    assert files(tmp_path) == {"reply.wav", "reply.txt"}  # no temporary file left behind


def test_a_run_failing_after_the_reply_started_leaves_the_output_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import voicegraph.nodes.agent as agent
    from voicegraph.nodes.llm import ScriptedLLM
    from voicegraph.nodes.stt import ScriptedSTT
    from voicegraph.nodes.tts import ScriptedTTS

    class FailsOnSecondSentence(ScriptedTTS):
        async def synthesize(self, text: str) -> Sequence[Any]:
            if text.startswith("Bye"):
                raise RuntimeError("the voice broke")
            return await super().synthesize(text)

    real = agent.voice_pipeline

    def pipeline(source: Any, **stages: Any) -> Any:
        stages.update(stt=ScriptedSTT(texts=["Hello?"]), llm=ScriptedLLM(replies=["Hi. Bye."]))
        return real(source, tts=FailsOnSecondSentence(), **stages)

    monkeypatch.setattr(agent, "voice_pipeline", pipeline)
    source = copy_of_sample(tmp_path)
    out = tmp_path / "reply.wav"
    out.write_bytes(OLD)
    done = invoke("--input", str(source), "--output", str(out))
    assert done.exit_code == 1, done.output
    assert "the voice broke" in done.output
    assert out.read_bytes() == OLD
    assert files(tmp_path) == {"question.wav", "reply.wav"}


@pytest.mark.usefixtures("scripted")
def test_a_successful_run_replaces_the_outputs(tmp_path: Path) -> None:
    source = copy_of_sample(tmp_path)
    out = tmp_path / "reply.wav"
    out.write_bytes(OLD)
    done = invoke("--input", str(source), "--output", str(out))
    assert done.exit_code == 0, done.output
    with wave.open(str(out)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert len(pcm) > 0 and np.any(pcm)
    assert "Hi." in (tmp_path / "reply.txt").read_text()
    assert files(tmp_path) == {"question.wav", "reply.wav", "reply.txt"}


@pytest.mark.usefixtures("scripted")
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--output", "{in}"], "--output '{in}' is the input file"),
        (["--output", "{dir}/sub/../question.wav"], "is the input file"),
        (["--output", "{dir}/hardlink.wav"], "is the input file"),
        (["--output", "{dir}/symlink.wav"], "is the input file"),
        (["--output", "{dir}/r.wav", "--transcript", "{in}"], "--transcript '{in}' is the input"),
        (["--output", "{dir}/r.txt"], "--transcript and --output are the same file"),
        (["--output", "{dir}/r.wav", "--transcript", "{dir}/r.wav"], "are the same file"),
    ],
    ids=["same", "dotdot", "hardlink", "symlink", "transcript-is-input", "default-transcript",
         "transcript-is-output"],
)  # fmt: skip
def test_an_output_that_is_the_input_or_another_output_is_refused(
    tmp_path: Path, args: list[str], says: str
) -> None:
    source = copy_of_sample(tmp_path)
    (tmp_path / "sub").mkdir()
    os.link(source, tmp_path / "hardlink.wav")
    (tmp_path / "symlink.wav").symlink_to(source)
    before = source.read_bytes()

    def fill(text: str) -> str:
        return text.replace("{in}", str(source)).replace("{dir}", str(tmp_path))

    done = invoke("--input", str(source), *(fill(a) for a in args))
    assert done.exit_code == 2, done.output
    assert fill(says) in done.output
    assert source.read_bytes() == before
    assert files(tmp_path) == {"question.wav", "sub", "hardlink.wav", "symlink.wav"}


@pytest.mark.usefixtures("scripted")
def test_an_output_folder_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)  # "Exception ignored in..."
    source = copy_of_sample(tmp_path)
    folder = tmp_path / "out"
    folder.mkdir()
    done = invoke("--input", str(source), "--output", str(folder))
    status, output = done.exit_code, done.output
    del done  # its exception chain may hold the half-made file object: let the GC find it
    gc.collect()
    assert not unraisable, [u.exc_value for u in unraisable]
    assert status != 0
    assert output.strip().splitlines() == [
        f"error: --output {str(folder)!r} is a folder; give a file name, e.g. "
        f"{str(folder / 'reply.wav')!r}"
    ]
    assert files(folder) == set() and files(tmp_path) == {"question.wav", "out"}


def test_render_to_a_folder_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vg_files_graph.py").write_text(
        "from voicegraph.graph import Graph, In, Node, Out, TextFrame\n"
        "class Source(Node):\n"
        "    out: Out[TextFrame]\n"
        "class Sink(Node):\n"
        "    text: In[TextFrame]\n"
        "def build():\n"
        "    g = Graph()\n"
        "    g.add(Source(), name='src') >> g.add(Sink(), name='sink')\n"
        "    return g\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = tmp_path / "diagram.svg"
    folder.mkdir()
    done = CliRunner().invoke(app, ["render", "vg_files_graph:build", "-o", str(folder)])
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [
        f"error: --output {str(folder)!r} is a folder; give a file name, e.g. "
        f"{str(folder / 'reply.wav')!r}"
    ]


@pytest.mark.usefixtures("scripted")
def test_conversation_is_the_input_left_and_the_aligned_reply_right(tmp_path: Path) -> None:
    source = copy_of_sample(tmp_path)
    out, both = tmp_path / "reply.wav", tmp_path / "both.wav"
    done = invoke("--input", str(source), "--output", str(out), "--conversation", str(both))
    assert done.exit_code == 0, done.output
    user, user_rate = sf.read(source, dtype="int16")
    reply, rate = sf.read(out, dtype="int16")
    stereo, stereo_rate = sf.read(both, dtype="int16")
    assert stereo_rate == max(rate, user_rate) == rate and stereo.shape[1] == 2
    assert stereo[:, 1].tolist() == reply.tolist()  # the agent, right
    left = np.interp(np.arange(len(user) * rate // user_rate) * user_rate / rate,
                     np.arange(len(user)), user)  # fmt: skip
    assert np.abs(stereo[: len(left), 0] - left).max() <= 1  # the user, left
    assert len(reply) >= len(user) * rate / user_rate  # the reply lasts until the run ended
    # the honest figure is printed next to the VAD-anchored one
    assert "voice-to-voice" in done.output and "v2v from VAD end" in done.output
    assert files(tmp_path) == {"question.wav", "reply.wav", "reply.txt", "both.wav"}


@pytest.mark.usefixtures("scripted")
def test_a_failed_run_leaves_an_existing_conversation_untouched(tmp_path: Path) -> None:
    both = tmp_path / "both.wav"
    both.write_bytes(OLD)
    done = invoke("--input", str(tmp_path / "missing.wav"), "--output",
                  str(tmp_path / "r.wav"), "--conversation", str(both))  # fmt: skip
    assert done.exit_code == 1, done.output
    assert both.read_bytes() == OLD and files(tmp_path) == {"both.wav"}


@pytest.mark.usefixtures("scripted")
def test_a_conversation_that_is_the_input_is_refused(tmp_path: Path) -> None:
    source = copy_of_sample(tmp_path)
    before = source.read_bytes()
    done = invoke("--input", str(source), "--output", str(tmp_path / "r.wav"),
                  "--conversation", str(source))  # fmt: skip
    assert done.exit_code == 2, done.output
    assert "--conversation" in done.output and "is the input file" in done.output
    assert source.read_bytes() == before


def test_the_reply_stays_aligned_with_an_input_that_starts_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Model loading delays the input's start (here 2 s of the run's clock): sample i of
    the reply is still the same moment as sample i of the input."""
    import voicegraph.nodes.agent as agent
    from voicegraph.nodes.llm import ScriptedLLM
    from voicegraph.nodes.stt import ScriptedSTT
    from voicegraph.nodes.tts import ScriptedTTS

    class SlowToLoad(ScriptedTTS):
        async def start(self) -> None:
            await self.clock.sleep(2.0)  # a model that takes 2 s to load
            await super().start()

    real = agent.voice_pipeline
    replies: dict[str, Any] = {}
    for name, tts in (("prompt", ScriptedTTS()), ("late", SlowToLoad())):

        def pipeline(source: Any, _tts: Any = tts, **stages: Any) -> Any:
            stages.update(stt=ScriptedSTT(texts=["Hello?"]), llm=ScriptedLLM(replies=["Hi."]))
            return real(source, tts=_tts, **stages)

        monkeypatch.setattr(agent, "voice_pipeline", pipeline)
        out = tmp_path / f"{name}.wav"
        done = invoke("--input", str(copy_of_sample(tmp_path)), "--output", str(out))
        assert done.exit_code == 0, done.output
        replies[name], _ = sf.read(out, dtype="int16")
    prompt, late = replies["prompt"], replies["late"]
    heard = np.flatnonzero(np.abs(prompt) > 100)
    assert len(heard) and np.array_equal(np.flatnonzero(np.abs(late) > 100)[:1], heard[:1])
    n = min(len(prompt), len(late))
    assert np.array_equal(prompt[:n], late[:n])  # the same reply at the same samples

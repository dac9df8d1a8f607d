"""A llama.cpp build that cannot run on this CPU raises a clear error, never kills the process.

The CPU check runs llama.cpp in a child process first. The children here die for real: one
executes an illegal instruction (``ud2``), one is an interpreter that kills itself with
``SIGILL``, standing in for a native build made for another CPU.
"""

from __future__ import annotations

import platform
import signal
import sys
from pathlib import Path

import pytest

from voicegraph.graph import Graph, Node, NodeError, Out, ProviderError, UserTurn
from voicegraph.nodes.llm import CPUUnsupportedError, LlamaLLM, LLMNode, bundled_model_path
from voicegraph.nodes.llm._llama_probe import ensure_llama_runs, new_llama, run_isolated
from voicegraph.runner import Runner, VirtualClock

EXECUTE_UD2 = """
import ctypes, mmap
page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(b"\\x0f\\x0b")  # ud2: the x86 instruction defined to be illegal
ctypes.CFUNCTYPE(None)(ctypes.addressof(ctypes.c_char.from_buffer(page)))()
"""


@pytest.fixture(autouse=True)
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test starts with no cached verdict."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 instruction")
def test_an_illegal_instruction_in_the_child_is_an_error_in_the_parent() -> None:
    with pytest.raises(CPUUnsupportedError) as caught:
        run_isolated(
            [sys.executable, "-c", EXECUTE_UD2], provider="llama.cpp", what="llama.cpp", timeout=60
        )
    assert caught.value.signal_name == "SIGILL"
    message = str(caught.value)
    assert "illegal instruction" in message
    assert "CMAKE_ARGS='-DGGML_NATIVE=OFF'" in message  # says what to do


def test_other_signals_name_the_signal() -> None:
    code = f"import os, signal; os.kill(os.getpid(), signal.{signal.SIGSEGV.name})"
    with pytest.raises(CPUUnsupportedError, match="crashed with SIGSEGV") as caught:
        run_isolated([sys.executable, "-c", code], provider="x", what="x", timeout=60)
    assert caught.value.signal_name == "SIGSEGV"


def test_a_failing_child_reports_its_stderr() -> None:
    code = "import sys; sys.exit('cannot open model.gguf')"
    with pytest.raises(ProviderError, match="exit 1.*cannot open model.gguf") as caught:
        run_isolated([sys.executable, "-c", code], provider="x", what="x", timeout=60)
    assert not isinstance(caught.value, CPUUnsupportedError)


def test_a_hanging_child_has_a_deadline() -> None:
    code = "import time; time.sleep(60)"
    with pytest.raises(ProviderError, match="did not finish within 1 s"):
        run_isolated([sys.executable, "-c", code], provider="x", what="x", timeout=1)


@pytest.fixture
def sigill_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the check's child process die with SIGILL, as a build for another CPU does."""
    fake = tmp_path / "python-for-another-cpu"
    fake.write_text("#!/bin/sh\nkill -ILL $$\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))


class OneTurn(Node):
    out: Out[UserTurn]

    async def run(self) -> None:
        await self.emit(self.out, UserTurn("Hello"))


async def test_a_graph_with_llama_fails_cleanly_instead_of_dying(sigill_interpreter: None) -> None:
    pytest.importorskip("llama_cpp")
    g = Graph()
    turns = g.add(OneTurn(), name="turns")
    llm = g.add(LLMNode(engine=LlamaLLM(n_ctx=512)), name="llm")
    g.connect(turns.out, llm.turn)
    with pytest.raises(NodeError) as caught:
        await Runner(g, clock=VirtualClock()).run()
    cause = caught.value.error
    assert isinstance(cause, CPUUnsupportedError), repr(caught.value)
    assert "illegal instruction" in str(cause) and "GGML_NATIVE=OFF" in str(cause)


def test_the_verdict_is_cached_per_machine_and_build(empty_cache: Path) -> None:
    pytest.importorskip("llama_cpp")
    path = bundled_model_path()
    ensure_llama_runs(path, 512, 1, extra_buffer_types=False)  # a real child decodes here
    markers = list((empty_cache / "voicegraph").glob("llama-ok-*"))
    assert len(markers) == 1
    # Cached: no child is started again (an interpreter that cannot start would fail).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "executable", "/nonexistent/python")
        ensure_llama_runs(path, 512, 1, extra_buffer_types=False)
        with pytest.raises(FileNotFoundError):  # other settings: a new check
            ensure_llama_runs(path, 512, 1, extra_buffer_types=True)


def test_extra_buffer_types_are_off_by_default() -> None:
    pytest.importorskip("llama_cpp")
    assert LlamaLLM().config.extra_buffer_types is False
    llama = new_llama(bundled_model_path(), 256, 1, extra_buffer_types=False)
    try:
        assert llama.model_params.use_extra_bufts is False
    finally:
        llama.close()

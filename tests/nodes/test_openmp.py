"""OpenMP runtimes (CTranslate2's, llama.cpp's) are loaded with a bounded spin count."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from voicegraph.nodes._openmp import SPIN_COUNT, bounded_spin


def test_the_spin_count_is_set_while_loading_and_removed_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    import os

    with bounded_spin():
        assert os.environ["GOMP_SPINCOUNT"] == str(SPIN_COUNT)
    assert "GOMP_SPINCOUNT" not in os.environ


@pytest.mark.parametrize(
    ("name", "value"), [("GOMP_SPINCOUNT", "5"), ("OMP_WAIT_POLICY", "ACTIVE")]
)
def test_the_users_setting_wins(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    import os

    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.setenv(name, value)
    with bounded_spin():
        assert os.environ[name] == value
        if name != "GOMP_SPINCOUNT":
            assert "GOMP_SPINCOUNT" not in os.environ
    assert os.environ[name] == value


# In a fresh process: record GOMP_SPINCOUNT at the moment each runtime's package is executed
# (its shared libraries, libgomp among them, load then).
_PROBE = textwrap.dedent(
    """
    import importlib.abc, importlib.machinery, os, sys
    seen = {}

    class Spy(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name not in ("ctranslate2", "llama_cpp"):
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            run = spec.loader.exec_module

            def exec_module(module):
                seen.setdefault(name, os.environ.get("GOMP_SPINCOUNT"))
                run(module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Spy())
    os.environ.pop("GOMP_SPINCOUNT", None)
    os.environ.pop("OMP_WAIT_POLICY", None)
    from voicegraph.nodes.stt._whisper import load_model as load_whisper
    from voicegraph.nodes.llm._llama_runtime import bundled_model_path, load_model as load_llama
    load_whisper(None, "int8", 1)
    load_llama(bundled_model_path(), 256, 1)
    print(seen, os.environ.get("GOMP_SPINCOUNT"))
    """
)


def test_whisper_and_llama_load_their_openmp_with_the_bounded_spin() -> None:
    pytest.importorskip("faster_whisper")
    pytest.importorskip("llama_cpp")
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    expected = {"ctranslate2": str(SPIN_COUNT), "llama_cpp": str(SPIN_COUNT)}
    assert done.stdout.split("\n")[-2] == f"{expected} None"

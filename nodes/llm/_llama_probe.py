"""Check in a child process that llama.cpp runs on this CPU, before loading it in ours.

A native llama.cpp build can die with ``SIGILL`` (illegal instruction) instead of raising:
a wheel built with ``-march=native`` on one CPU and reused on another (pip's wheel cache does
not key on ``CMAKE_ARGS``), or a virtual machine whose CPU advertises AMX tiles that its
hypervisor does not let a process use (llama.cpp's AMX "extra buffer type" then faults on the
first decode). A signal cannot be caught in Python, so it would kill the user's process.

:func:`ensure_llama_runs` therefore loads the model and decodes two tokens in a child process
first, with the settings the parent will use. A child killed by a signal becomes a
:class:`CPUUnsupportedError` that says what to do. The verdict is cached per llama.cpp build,
model file, settings and CPU (a small file under ``~/.cache/voicegraph``), so the ~1 s check
runs once per machine and build, not once per process.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from voicegraph.graph import MissingDependencyError, ProviderError
from voicegraph.nodes._openmp import bounded_spin

__all__ = ["CPUUnsupportedError", "ensure_llama_runs", "new_llama", "run_isolated"]

PROBE_TIMEOUT = 180.0  # seconds for the child to load the model and decode two tokens
REBUILD_HINT = (
    "Rebuild it for any x86-64 CPU: CMAKE_ARGS='-DGGML_NATIVE=OFF' pip install "
    "--force-reinstall --no-cache-dir --no-deps llama-cpp-python"
)
_STDERR_TAIL = 600  # characters of the child's stderr kept in an error message


class CPUUnsupportedError(ProviderError):
    """A native model runtime was killed by a signal on this CPU (e.g. an illegal instruction).

    Raised instead of letting the signal kill the caller's process. ``signal_name`` is the
    signal that killed the check (``"SIGILL"``, ``"SIGSEGV"``, ...).
    """

    def __init__(self, provider: str, message: str, *, signal_name: str) -> None:
        super().__init__(provider, message)
        self.signal_name = signal_name


def new_llama(path: Path, n_ctx: int, n_threads: int, *, extra_buffer_types: bool) -> Any:
    """Create a ``llama_cpp.Llama`` for ``path``; ``extra_buffer_types`` sets llama.cpp's
    ``use_extra_bufts`` model parameter (AMX tiles, weight repacking), which ``Llama()`` does
    not expose. Blocking; raises what ``Llama()`` raises.
    """
    with bounded_spin(), _model_params(use_extra_bufts=extra_buffer_types):
        from llama_cpp import Llama

        return Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False)


@contextlib.contextmanager
def _model_params(**fields: Any) -> Iterator[None]:
    """Make ``llama_model_default_params()`` return ``fields`` set, while the block runs.

    ``Llama.__init__`` starts from that function's result; fields this llama.cpp version
    does not have are left alone. Callers serialize model loads (one lock), so the swap is
    not observed by another load.
    """
    import llama_cpp.llama_cpp as lib

    original = lib.llama_model_default_params

    def with_fields() -> Any:
        params = original()
        for name, value in fields.items():
            if hasattr(params, name):
                setattr(params, name, value)
        return params

    lib.llama_model_default_params = with_fields
    try:
        yield
    finally:
        lib.llama_model_default_params = original


def run_isolated(argv: Sequence[str], *, provider: str, what: str, timeout: float) -> None:
    """Run ``argv`` to completion; turn its death by a signal into an exception.

    Raises:
        CPUUnsupportedError: the child was killed by a signal (``SIGILL``: an instruction
            this CPU cannot run; other signals: the runtime crashed).
        ProviderError: the child exited non-zero or did not finish within ``timeout`` s.
    """
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise ProviderError(
            provider, f"{what} did not finish within {timeout:.0f} s in a check process"
        ) from None
    if done.returncode == 0:
        return
    tail = done.stderr.strip()[-_STDERR_TAIL:]
    if done.returncode < 0:
        name = _signal_name(-done.returncode)
        if name == "SIGILL":
            cause = (
                "hit an illegal instruction: it was built for CPU features this machine cannot "
                "run (a native build made on another CPU, or a VM that advertises AMX/AVX-512 "
                "it does not allow)"
            )
        else:
            cause = f"crashed with {name}"
        raise CPUUnsupportedError(
            provider,
            f"{what} {cause} (checked in a separate process; CPU: {_cpu_model()}). "
            f"{REBUILD_HINT}" + (f"\n{tail}" if tail else ""),
            signal_name=name,
        )
    raise ProviderError(
        provider, f"{what} failed in a check process (exit {done.returncode}): {tail}"
    )


def ensure_llama_runs(path: Path, n_ctx: int, n_threads: int, *, extra_buffer_types: bool) -> None:
    """Check once per llama.cpp build, model, settings and CPU that decoding works here.

    Raises:
        MissingDependencyError: ``llama-cpp-python`` is not installed.
        CPUUnsupportedError: llama.cpp is killed by a signal on this CPU.
        ProviderError: the check fails otherwise (e.g. the model file cannot be loaded).
    """
    settings = {
        "path": str(path),
        "n_ctx": n_ctx,
        "n_threads": n_threads,
        "extra_buffer_types": extra_buffer_types,
    }
    marker = _cache_dir() / f"llama-ok-{_fingerprint(path, settings)}"
    if marker.is_file():
        return
    argv = [sys.executable, "-m", __name__, json.dumps(settings)]
    run_isolated(
        argv, provider="llama.cpp", what="this llama-cpp-python build", timeout=PROBE_TIMEOUT
    )
    with contextlib.suppress(OSError):  # no cache: the check simply runs again next time
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(settings))


def _fingerprint(model: Path, settings: dict[str, Any]) -> str:
    spec = importlib.util.find_spec("llama_cpp")  # located, not imported: importing can crash
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("llama-cpp-python", what="LlamaLLM")
    package = Path(next(iter(spec.submodule_search_locations)))
    libraries = sorted(package.glob("lib/*.so*")) + sorted(package.glob("*.so*"))
    parts = [
        importlib.metadata.version("llama-cpp-python"),
        json.dumps(settings, sort_keys=True),
        _cpu_flags(),
        platform.machine(),
        *(_file_id(p) for p in [*libraries, model]),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _file_id(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return f"{path}:missing"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def _cpuinfo_field(name: str) -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    return ""


def _cpu_flags() -> str:
    return _cpuinfo_field("flags") or platform.processor()


def _cpu_model() -> str:
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voicegraph"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _check(settings: dict[str, Any]) -> None:
    """The child's side: load the model as the parent will and decode two tokens."""
    llama = new_llama(
        Path(settings["path"]),
        settings["n_ctx"],
        settings["n_threads"],
        extra_buffer_types=settings["extra_buffer_types"],
    )
    try:
        llama.create_completion("Hello", max_tokens=2)
    finally:
        llama.close()


if __name__ == "__main__":
    _check(json.loads(sys.argv[1]))

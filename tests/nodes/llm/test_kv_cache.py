"""A turn prefills only what is new: the conversation so far stays in llama.cpp's KV cache.

llama-cpp-python keeps the evaluated tokens and, for the next prompt, evaluates only what
follows the longest prefix they share. This checks that voicegraph's prompts keep that
prefix (the system prompt, then every earlier turn, come out the same each time), by
recording what llama.cpp is asked to evaluate.
"""

from __future__ import annotations

from typing import Any

import pytest

from voicegraph.nodes.llm import ChatContext, LlamaLLM

pytest.importorskip("llama_cpp")


async def test_each_turn_prefills_only_the_new_user_text() -> None:
    engine = LlamaLLM(max_tokens=24)
    async with engine:
        model: Any = engine._model  # the engine's loaded model; a test may look inside
        llama = model.llama
        evaluated: list[int] = []  # tokens per llama.eval call
        original = llama.eval

        def record(tokens: Any) -> None:
            evaluated.append(len(tokens))
            original(tokens)

        llama.eval = record
        try:
            chat = ChatContext()
            chat.add_message("system", "You are a helpful voice assistant. Answer briefly.")
            await engine.prewarm(chat)
            for question in ("What is the capital of France?", "And of Italy?", "Thanks!"):
                evaluated.clear()
                chat.add_message("user", question)
                text = "".join([c.text async for c in engine.generate(chat, []) if c.text])
                chat.add_message("assistant", text)
                prompt = evaluated[0]  # the first call: the prompt after the shared prefix
                total = llama.n_tokens - sum(evaluated[1:])  # the whole prompt's length
                # only the new user text, its template and the end of the last reply: the
                # system prompt (~18 tokens) and the earlier turns come from the cache
                assert prompt <= 40 and prompt <= total - 15, (question, prompt, total)
            assert total > 60  # by the third turn most of the prompt is conversation
        finally:
            llama.eval = original

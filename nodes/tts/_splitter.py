"""SentenceSplitter: streamed LLM text in, speakable sentences out as soon as each is complete."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from voicegraph.graph import Event, Flush, In, LLMText, Node, NodeConfig, Out, Sentence

from ._text import clause_end, clean_text, forced_cut, sentence_end, word_cut

__all__ = ["SentenceSplitter"]


class SentenceSplitter(Node):
    """Cut a streamed LLM reply into sentences for TTS, emitting each as soon as it is complete.

    A sentence ends at ``.``, ``!``, ``?`` or ``…`` followed by white space, or at a line
    break; not after abbreviations (``Mr.``, ``e.g.``), initials, list numbers or inside
    numbers (``3.5``), nor before a lower-case word. A ``.`` is decided when the next word
    arrives (or the reply ends), so ``"3."`` + ``"5"`` is never cut.

    So the first audio leaves sooner, the **first chunk of each reply** may end at a clause
    break (``, ; : —`` followed by a space) once it has at least ``min_first_chars``
    characters ("Well, the capital of France," is spoken while the rest is generated).
    A run-on text longer than ``max_chars`` is cut at its last clause break or space.

    **Bounded wait for the first chunk.** A first sentence that is slow to generate (long,
    or with digits: a small model emits "225,772,100" one token per digit) would hold the
    first audio back until it is complete. So when ``first_wait`` seconds have passed since
    the reply's first text was *generated* and the first chunk still has no sentence or
    clause end, it is cut after its last complete word, once it has ``min_first_words``
    of them ("The moon is approximately" while "225,772,100 miles away from Earth." is
    still being generated); the rest goes on as normal sentences. A word still being
    streamed, and so a number, is never cut; nor is the chunk made to end on a dot
    (``Mr.``). The time is taken from ``LLMText.generated`` (the clock reading ``LLMNode``
    stamps on each delta), or the arrival time when a frame has none: text that
    preemptive generation held back until the turn was confirmed arrives late, and is
    judged by when it was made. The deadline is checked when text arrives (no timer: a
    streaming LLM sends the next delta within tens of milliseconds, and until it does
    there is no more text to say), and a batch of text arriving at once is judged whole,
    so a short sentence that was complete in time ("The capital of France is Paris.")
    stays one chunk however late it is released (the agent's preemptive generation
    releases its held text as one frame for this reason).

    The default ``first_wait`` of 0.2 s is tuned for the embedded stack (SmolLM2 on two
    cores, benchmarks/README.md): a short first sentence takes 86-135 ms from its first
    text, a long one with a number 300-420 ms. 0.2 s leaves short sentences whole with
    some margin for a loaded machine, and starts a long one 100-220 ms sooner; a
    four-word minimum keeps the first piece long enough to sound like a phrase rather
    than a stray word. A word count alone (cut after n words) was not chosen: it cannot
    tell a short sentence about to end from a slow one, and would chop every reply. With
    hibari the junction of a cut chunk and the rest is 100-190 ms of quiet (the piece's
    0.4-0.5 s of trailing silence is trimmed by the ``TTSNode`` to 50 ms, then its 50 ms
    clause pause), no longer than the pauses inside a whole sentence. The stamp must come
    from the run's clock (an ``LLMNode`` of the same graph).

    Every chunk is cleaned for speech before it is sent (LiveKit's default
    ``tts_text_transforms``): markdown syntax and emoji are removed; chunks with nothing
    speakable left are skipped.

    Replies: ``LLMText(final=True)`` ends a reply. The remaining text is sent as the last
    sentence with ``final=True``; when nothing remains, ``Sentence("", final=True)`` is sent,
    so every reply ends with exactly one final sentence. A ``Flush`` event (or an empty
    non-final ``LLMText``, the same in order with the text) sends what is
    buffered (not final) and is not forwarded; other events are forwarded. An interrupt
    drops the buffered partial text.

    Config:
        first_clause: allow the first chunk of a reply to end at a clause break (default
            ``True``).
        min_first_chars: minimum length of such a first clause chunk (default 20, as
            LiveKit's ``min_sentence_len``).
        first_wait: seconds after a reply's first text was generated after which its
            first chunk is cut at a word boundary if it has no sentence or clause end yet
            (default 0.2; ``None``: wait for the end of the sentence or clause).
        min_first_words: complete words the first chunk needs for such a cut (default 4).
        max_chars: cut a run-on text at this length (default 300).
        filter_markdown: remove markdown syntax (default ``True``).
        filter_emoji: remove emoji (default ``True``).
    """

    class Config(NodeConfig):
        first_clause: bool = True
        min_first_chars: int = Field(20, ge=1)
        first_wait: float | None = Field(0.2, ge=0.0, le=10.0)
        min_first_words: int = Field(4, ge=1)
        max_chars: int = Field(300, ge=20)
        filter_markdown: bool = True
        filter_emoji: bool = True

    config: Config
    text: In[LLMText]
    sentences: Out[Sentence]

    def __init__(self, config: NodeConfig | None = None, /, **settings: Any) -> None:
        super().__init__(config, **settings)
        self._buffer = ""
        self._sent = 0  # chunks sent in the current reply
        self._started: float | None = None  # when the reply's first text was generated

    @property
    def buffered(self) -> str:
        """The text received but not sent yet."""
        return self._buffer

    async def on_text(self, frame: LLMText) -> None:
        """Buffer a delta; send every sentence it completes; on ``final`` end the reply.

        An empty non-final ``LLMText`` flushes like a ``Flush`` event, but in order with the
        text before it (the LLM sends one before tool calls).
        """
        if not frame.text and not frame.final:
            rest, self._buffer = self._buffer, ""
            await self._send(rest, final=False)
            return
        if self._started is None and frame.text.strip():
            self._started = self.clock.now() if frame.generated is None else frame.generated
        self._buffer += frame.text
        while (cut := self._next_cut(at_end=frame.final)) is not None:
            chunk, self._buffer = self._buffer[:cut], self._buffer[cut:].lstrip()
            await self._send(chunk, final=False)
        if frame.final:
            rest = self._buffer
            self._end_reply()
            await self.emit(self.sentences, Sentence(self._clean(rest), final=True))

    async def on_event(self, event: Event) -> None:
        """``Flush``: send the buffered text now. Other events are forwarded."""
        if isinstance(event, Flush):
            rest, self._buffer = self._buffer, ""
            await self._send(rest, final=False)
            return
        await super().on_event(event)

    async def on_interrupt(self, event: Any) -> None:
        """Drop the buffered partial text; the next text starts a new reply."""
        self._end_reply()

    async def on_end_of_stream(self) -> None:
        """Input ended mid-reply: send what is left as the reply's final sentence."""
        if self._buffer.strip() or self._sent:
            rest = self._buffer
            self._end_reply()
            await self.emit(self.sentences, Sentence(self._clean(rest), final=True))

    # ------------------------------------------------------------------ internals

    def _end_reply(self) -> None:
        self._buffer, self._sent, self._started = "", 0, None

    def _next_cut(self, *, at_end: bool) -> int | None:
        cfg = self.config
        text = self._buffer
        end = sentence_end(text, at_end=at_end)
        if self._sent == 0 and cfg.first_clause:
            clause = clause_end(text, cfg.min_first_chars)
            if clause is not None and (end is None or clause < end):
                return clause
        if end is not None:
            # at the end of a reply the last sentence is sent as the final one
            return None if at_end and end >= len(text.rstrip()) else end
        if len(text) > cfg.max_chars:
            return forced_cut(text, cfg.max_chars)
        if self._sent == 0 and not at_end and self._waited_enough():
            return word_cut(text, cfg.min_first_words)
        return None

    def _waited_enough(self) -> bool:
        """Whether the first chunk has waited ``first_wait`` since the reply's first text."""
        wait, started = self.config.first_wait, self._started
        if wait is None or started is None:
            return False
        return self.clock.now() - started >= wait - 1e-9  # 0.7 - 0.5 < 0.2 in floating point

    def _clean(self, text: str) -> str:
        cfg = self.config
        return clean_text(text, markdown=cfg.filter_markdown, emoji=cfg.filter_emoji)

    async def _send(self, chunk: str, *, final: bool) -> None:
        text = self._clean(chunk)
        if text:
            self._sent += 1
            await self.emit(self.sentences, Sentence(text, final=final))

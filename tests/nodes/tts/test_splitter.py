"""SentenceSplitter: boundaries, abbreviations and decimals, markdown/emoji, replies, interrupts,
the bounded wait for a reply's first chunk."""

from __future__ import annotations

import re
from typing import Any

import pytest

from voicegraph.graph import (
    ConfigError,
    Event,
    Flush,
    Graph,
    In,
    LLMText,
    Node,
    Out,
    Sentence,
)
from voicegraph.nodes.tts import SentenceSplitter, clean_text, filter_emoji, filter_markdown
from voicegraph.nodes.tts._text import clause_end, sentence_end, word_cut
from voicegraph.runner import Runner, VirtualClock

Step = tuple[Any, ...]


class ScriptedLLM(Node):
    """Plays a script: ("text", delta[, final[, generated]]), ("sleep", s), ("flush",),
    ("interrupt",)."""

    text: Out[LLMText]

    def __init__(self, steps: list[Step]) -> None:
        super().__init__()
        self.steps = steps
        self.restart_on_interrupt = False

    async def run(self) -> None:
        for step in self.steps:
            kind = step[0]
            if kind == "text":
                final = step[2] if len(step) > 2 else False
                generated = step[3] if len(step) > 3 else None
                await self.emit(self.text, LLMText(step[1], final=final, generated=generated))
            elif kind == "sleep":
                await self.clock.sleep(step[1])
            elif kind == "flush":
                await self.send_event(Flush(), self.text)
            elif kind == "interrupt":
                self.interrupt("test")


class Collect(Node):
    """Records (clock time, sentence) and every event it receives."""

    sentences: In[Sentence]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[float, Sentence]] = []
        self.events: list[Event] = []

    async def on_sentences(self, frame: Sentence) -> None:
        self.got.append((self.clock.now(), frame))

    async def on_event(self, event: Event) -> None:
        self.events.append(event)


async def run_splitter(steps: list[Step], **settings: Any) -> Collect:
    g = Graph()
    llm = g.add(ScriptedLLM(steps))
    splitter = g.add(SentenceSplitter(**settings))
    sink = g.add(Collect())
    g.connect(llm.text, splitter.text)
    g.connect(splitter.sentences, sink.sentences)
    await Runner(g, clock=VirtualClock()).run()
    return sink


def texts(sink: Collect) -> list[tuple[str, bool]]:
    return [(s.text, s.final) for _, s in sink.got]


def tokens(text: str, size: int = 3) -> list[Step]:
    """Stream ``text`` in small deltas, 10 ms apart, then end the reply."""
    steps: list[Step] = []
    for i in range(0, len(text), size):
        steps += [("text", text[i : i + size]), ("sleep", 0.01)]
    return [*steps, ("text", "", True)]


async def test_each_sentence_is_sent_as_soon_as_it_is_complete() -> None:
    sink = await run_splitter(
        [
            ("text", "Hello there"),
            ("sleep", 0.1),
            ("text", ". How are"),  # the dot waits for the next word
            ("sleep", 0.1),
            ("text", " you? I'm fine"),
            ("sleep", 0.1),
            ("text", "! Good"),
            ("sleep", 0.1),
            ("text", "bye.", True),
        ]
    )
    assert texts(sink) == [
        ("Hello there.", False),
        ("How are you?", False),
        ("I'm fine!", False),
        ("Goodbye.", True),
    ]
    times = [round(t, 3) for t, _ in sink.got]
    assert times == [0.1, 0.2, 0.3, 0.4]


async def test_abbreviations_decimals_and_initials_do_not_end_sentences() -> None:
    text = (
        "Mr. Smith paid 3.5 dollars for bread, e.g. rye. J. K. Rowling wrote it. "
        "Prices rose 2.25 percent! Really? Yes... it did. The end."
    )
    sink = await run_splitter(tokens(text), first_clause=False)
    assert texts(sink) == [
        ("Mr. Smith paid 3.5 dollars for bread, e.g. rye.", False),
        ("J. K. Rowling wrote it.", False),
        ("Prices rose 2.25 percent!", False),
        ("Really?", False),
        ("Yes... it did.", False),
        ("The end.", True),
    ]


async def test_a_number_split_across_deltas_is_not_cut() -> None:
    sink = await run_splitter(
        [("text", "It is 3."), ("sleep", 0.1), ("text", "5 degrees. "), ("text", "", True)],
        first_clause=False,
    )
    assert texts(sink) == [("It is 3.5 degrees.", True)]


async def test_markdown_and_emoji_are_removed() -> None:
    text = (
        "## Answer\n**Paris** is the *capital* of [France](https://fr.example). 😀 Visit "
        "`soon` 🎉!\n- first item\n- second ~~old~~ item\n"
    )
    sink = await run_splitter(tokens(text, size=4))
    assert texts(sink) == [
        ("Answer", False),
        ("Paris is the capital of France.", False),
        ("Visit soon !", False),
        ("first item", False),
        ("second item", False),
        ("", True),
    ]
    assert all("*" not in t and "#" not in t for t, _ in texts(sink))


async def test_final_flushes_the_remainder_or_sends_an_empty_final() -> None:
    sink = await run_splitter(
        [
            ("text", "No punctuation at the end"),
            ("text", "", True),
            ("sleep", 0.1),
            ("text", "All done! "),
            ("sleep", 0.1),
            ("text", "", True),
            ("text", "😀", True),  # nothing speakable: still exactly one final
        ],
        first_clause=False,
    )
    assert texts(sink) == [
        ("No punctuation at the end", True),
        ("All done!", False),
        ("", True),
        ("", True),
    ]


async def test_interrupt_drops_the_buffered_partial_text() -> None:
    sink = await run_splitter(
        [
            ("text", "First. Hello wor"),
            ("sleep", 0.1),
            ("interrupt",),
            ("sleep", 0.1),
            ("text", "Bye now.", True),
        ]
    )
    assert texts(sink) == [("First.", False), ("Bye now.", True)]
    assert [s.epoch for _, s in sink.got] == [0, 1]


async def test_first_chunk_of_a_reply_ends_early_at_a_clause() -> None:
    reply = "Well, the capital of France, as you know, is Paris. It is big, old, and lovely. "
    steps = [*tokens(reply), ("sleep", 0.1), *tokens(reply)]
    sink = await run_splitter(steps)
    first_reply = [
        ("Well, the capital of France,", False),  # "Well," alone is under min_first_chars
        ("as you know, is Paris.", False),
        ("It is big, old, and lovely.", True),  # later chunks are whole sentences
    ]
    assert texts(sink) == first_reply * 2  # the next reply starts early again
    # the first chunk leaves as soon as its comma and the following space arrived
    first_time = sink.got[0][0]
    assert first_time == pytest.approx(reply.index(", as") // 3 * 0.01 + 0.01, abs=0.011)

    sink = await run_splitter(tokens(reply), first_clause=False)
    assert texts(sink)[0] == ("Well, the capital of France, as you know, is Paris.", False)
    sink = await run_splitter(tokens(reply), min_first_chars=40)
    assert texts(sink)[0] == ("Well, the capital of France, as you know,", False)


async def test_flush_sends_the_buffer_and_is_not_forwarded() -> None:
    sink = await run_splitter(
        [
            ("text", "A thought without an end"),
            ("sleep", 0.1),
            ("flush",),
            ("sleep", 0.1),
            ("text", "", True),
        ],
        first_clause=False,
    )
    assert texts(sink) == [("A thought without an end", False), ("", True)]
    assert sink.got[0][0] == pytest.approx(0.1)
    assert not any(isinstance(e, Flush) for e in sink.events)


async def test_run_on_text_is_cut_at_max_chars() -> None:
    words = " ".join(f"word{i}" for i in range(60))
    sink = await run_splitter(tokens(words, size=7), first_clause=False, max_chars=100)
    chunks = [t for t, _ in texts(sink)]
    assert len(chunks) > 3 and all(len(c) <= 100 for c in chunks)
    assert " ".join(chunks) == words


async def test_end_of_input_mid_reply_sends_a_final_sentence() -> None:
    sink = await run_splitter([("text", "Cut off mid")], first_clause=False)
    assert texts(sink) == [("Cut off mid", True)]


def test_text_filters() -> None:
    assert filter_emoji("Hi 👋🏽 there ❤️") == "Hi  there "
    assert filter_markdown("![a cat](c.png) and __bold__ and _it_ and snake_case") == (
        "a cat and bold and it and snake_case"
    )
    assert filter_markdown("3 * 7 = 21 and 2*3") == "3 * 7 = 21 and 2*3"
    assert filter_markdown("> quoted\n---\n```python\nprint(1)\n```") == "quoted\n\n\nprint(1)\n"
    assert clean_text("**Paris.") == "Paris."  # stray markers of a style cut in two
    assert clean_text("```") == ""


def test_boundary_rules() -> None:
    assert sentence_end("Hello.") is None  # the next word decides
    assert sentence_end("Hello.", at_end=True) is None  # nothing after it: not a cut
    assert sentence_end("Hello. x", at_end=True) is None  # lower case continues
    assert sentence_end("Done! ") == 5
    assert sentence_end('He said "go." Then') == 13
    assert sentence_end("1. Paris\n2. Berlin") == 8
    assert sentence_end("I have 3. You too") == 9
    assert clause_end("Yes, indeed", 20) is None
    assert clause_end("1,000 people came, and left", 5) == 18
    assert word_cut("The moon is approximately 225,77", 4) == 25  # never inside a number
    assert word_cut("The moon is approximately 225,772,100 ", 4) == 37
    assert word_cut("The moon is approximately", 4) is None  # the last word may go on
    assert word_cut("The moon is approximately", 3) == 11
    assert word_cut("I met Mr. Smith", 2) == 5  # not right after "Mr."
    assert word_cut("Thebigword", 1) is None


def test_bad_settings_are_reported() -> None:
    with pytest.raises(ConfigError, match="min_first_chars"):
        SentenceSplitter(min_first_chars=0)
    with pytest.raises(ConfigError, match="max_chars"):
        SentenceSplitter(max_chars=5)


# --------------------------------------------------------------- the bounded first wait

MOON = "The moon is approximately 225,772,100 miles away from Earth. It is far."
FRANCE = "The capital of France is Paris. It is lovely."


def model_tokens(text: str, delay: float = 0.03) -> list[Step]:
    """Stream ``text`` as a small LLM does, a word or one digit per token, ``delay`` apart."""
    steps: list[Step] = []
    for token in re.findall(r"\s*(?:\d|[^\s\d]+)", text):
        steps += [("text", token), ("sleep", delay)]
    return [*steps, ("text", "", True)]


async def test_a_slow_first_sentence_is_cut_at_a_word_boundary_after_first_wait() -> None:
    sink = await run_splitter(model_tokens(MOON))  # defaults: first_wait 0.2 s, 4 words
    assert texts(sink) == [
        ("The moon is approximately", False),
        ("225,772,100 miles away from Earth.", False),  # the rest: normal sentences
        ("It is far.", True),
    ]
    # cut when the first token at or past 0.2 s after the first text arrived ("," at 0.21)
    assert sink.got[0][0] == pytest.approx(0.21)
    # without the bounded wait the first chunk is the whole sentence, 0.36 s later
    sink = await run_splitter(model_tokens(MOON), first_wait=None)
    assert texts(sink)[0] == ("The moon is approximately 225,772,100 miles away from Earth.", False)
    assert sink.got[0][0] == pytest.approx(0.57)
    # a longer minimum waits for more complete words
    sink = await run_splitter(model_tokens(MOON), min_first_words=6)
    assert texts(sink)[0] == ("The moon is approximately 225,772,100 miles", False)


async def test_a_fast_short_sentence_stays_one_chunk() -> None:
    # same token rate: the sentence is complete (its next word arrived) at 0.21 s, which is
    # past first_wait, but a sentence end is always taken first
    sink = await run_splitter(model_tokens(FRANCE))
    assert texts(sink) == [("The capital of France is Paris.", False), ("It is lovely.", True)]
    sink = await run_splitter(model_tokens(FRANCE, delay=0.01))
    assert texts(sink) == [("The capital of France is Paris.", False), ("It is lovely.", True)]


@pytest.mark.parametrize("first_wait", [0.0, 0.03, 0.09, 0.12, 0.2, 0.27, 0.33, 0.42, 0.6])
@pytest.mark.parametrize("min_first_words", [1, 2, 4, 5])
async def test_numbers_and_words_are_never_split(first_wait: float, min_first_words: int) -> None:
    sink = await run_splitter(
        model_tokens(MOON), first_wait=first_wait, min_first_words=min_first_words
    )
    chunks = texts(sink)
    assert " ".join(t for t, _ in chunks) == MOON  # every cut is at a space
    assert sum("225,772,100" in t for t, _ in chunks) == 1
    assert [f for _, f in chunks] == [False] * (len(chunks) - 1) + [True]
    assert len(chunks[0][0].split()) >= min(min_first_words, 9)


async def test_held_text_is_judged_by_when_it_was_generated() -> None:
    # preemptive generation releases text generated earlier (at clock 0.0) at 0.5 s
    sink = await run_splitter(
        [
            ("sleep", 0.5),
            ("text", "The moon is approximately 225,7", False, 0.0),
            ("sleep", 0.1),
            ("text", "72,100 miles away from Earth.", False, 0.6),
            ("text", "", True),
        ]
    )
    assert texts(sink) == [
        ("The moon is approximately", False),  # at once: its wait is long over
        ("225,772,100 miles away from Earth.", True),
    ]
    assert [round(t, 3) for t, _ in sink.got] == [0.5, 0.6]
    # a short sentence that was complete in time stays whole, however late it comes
    sink = await run_splitter(
        [
            ("sleep", 0.5),
            ("text", "The capital of France is Paris. It", False, 0.0),
            ("text", " is lovely.", False, 0.5),
            ("text", "", True),
        ]
    )
    assert texts(sink) == [("The capital of France is Paris.", False), ("It is lovely.", True)]
    # text without a generation time is timed from its arrival
    sink = await run_splitter(
        [
            ("sleep", 0.5),
            ("text", "The moon is approximately 225,7"),
            ("sleep", 0.1),
            ("text", "72,100"),
            ("sleep", 0.1),
            ("text", " miles"),
            ("sleep", 0.1),
            ("text", " away from Earth.", True),
        ]
    )
    assert texts(sink) == [
        ("The moon is approximately 225,772,100", False),
        ("miles away from Earth.", True),
    ]
    assert sink.got[0][0] == pytest.approx(0.7)


async def test_interrupt_drops_the_text_and_restarts_the_first_wait() -> None:
    first_part = model_tokens(MOON)[:10]  # 5 tokens, 0.15 s: "The moon is approximately 2"
    sink = await run_splitter([*first_part, ("interrupt",), ("sleep", 0.3), *model_tokens(MOON)])
    assert texts(sink) == [
        ("The moon is approximately", False),
        ("225,772,100 miles away from Earth.", False),
        ("It is far.", True),
    ]
    assert [s.epoch for _, s in sink.got] == [1, 1, 1]
    # the second reply's first text came at 0.45 s: its wait ends 0.2 s later, not before
    assert sink.got[0][0] == pytest.approx(0.45 + 0.21)


async def test_every_reply_ends_with_one_final_sentence_after_an_early_cut() -> None:
    steps = [
        *model_tokens(MOON),
        ("sleep", 0.5),
        *model_tokens("Short one. And a much longer second sentence follows here."),
    ]
    sink = await run_splitter(steps)
    assert [f for _, f in texts(sink)].count(True) == 2
    assert texts(sink)[3:] == [
        ("Short one.", False),
        ("And a much longer second sentence follows here.", True),  # not the first chunk
    ]

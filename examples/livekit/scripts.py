"""What the scripted LLM (:class:`dialogue.DialogueLLM`) answers in each port: the replies and
tool calls LiveKit's tests expect from their hosted model. Triggers are pieces of the user's
words (or of the instructions of a ``generate_reply``); see ``dialogue.py``."""

from __future__ import annotations

from dialogue import Round

from voicegraph.testing import ScriptedToolCall as Call

__all__ = ["EVALS"]

EVALS: dict[str, list[Round]] = {
    # tests/test_evals.py
    "weather in san francisco": [
        [Call(name="lookup_weather", arguments={"location": "San Francisco"})],
        "It is sunny and 70 degrees in San Francisco.",
    ],
    "speak to echo": [[Call(name="talk_to_echo")], "Transferring you to Echo."],
    "say hello to the user": ["Hello! I am Echo, nice to meet you."],
    "hello how are you": ["I am doing great, thanks for asking!"],
    "start the random generator": [
        [Call(name="start_random_generator")],
        "Your random number is ready.",
    ],
    "call the generate_number tool": [[Call(name="generate_number")], "Done."],
    "give me a random number": [[Call(name="generate_number")], "Here it is."],
}

"""ChatContext: items, round trip, truncation, OpenAI format, barge-in helpers."""

from __future__ import annotations

import json

import pytest

from voicegraph.graph import InputError
from voicegraph.nodes.llm import ChatContext, ChatMessage, FunctionCall, FunctionCallOutput


def weather_chat() -> ChatContext:
    chat = ChatContext()
    chat.add_message("system", "Be brief.")
    chat.add_message("user", "Weather in Paris?")
    chat.add_message("assistant", "Let me check.")
    chat.add(FunctionCall(call_id="c1", name="get_weather", arguments='{"city": "Paris"}'))
    chat.add(FunctionCall(call_id="c2", name="get_time", arguments="{}"))
    chat.extend(
        [
            FunctionCallOutput(call_id="c1", name="get_weather", output="Sunny"),
            FunctionCallOutput(call_id="c2", name="get_time", output="boom", is_error=True),
        ]
    )
    chat.add_message("assistant", "It is sunny.", interrupted=True)
    return chat


def test_round_trip_through_json() -> None:
    chat = weather_chat()
    data = json.loads(json.dumps(chat.to_dict()))
    again = ChatContext.from_dict(data)
    assert again == chat
    assert [type(i) for i in again.items] == [type(i) for i in chat.items]
    assert again.items[-1] == ChatMessage(
        id=chat.items[-1].id, role="assistant", text="It is sunny.", interrupted=True
    )
    assert data["items"][3] == {
        "id": chat.items[3].id,
        "type": "function_call",
        "call_id": "c1",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }


def test_from_dict_rejects_bad_data_clearly() -> None:
    with pytest.raises(InputError, match=r"items\.0\.message\.role"):
        ChatContext.from_dict({"items": [{"type": "message", "role": "robot", "text": "hi"}]})
    with pytest.raises(InputError, match="not a valid chat context"):
        ChatContext.from_dict({"items": [{"type": "selfie"}]})


def test_copy_is_deep() -> None:
    chat = weather_chat()
    copy = chat.copy()
    copy.replace_last_assistant_text("It")
    copy.add_message("user", "more")
    assert chat.last_assistant is not None and chat.last_assistant.text == "It is sunny."
    assert len(copy) == len(chat) + 1


def test_openai_messages_with_tool_calls_and_results() -> None:
    messages = weather_chat().to_openai_messages()
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "boom"},
        {"role": "assistant", "content": "It is sunny."},
    ]


def test_openai_messages_standalone_calls_and_orphans() -> None:
    chat = ChatContext()
    chat.add_message("user", "hi")
    chat.add(FunctionCall(call_id="a", name="f"))
    chat.add(FunctionCallOutput(call_id="a", name="f", output="1"))
    chat.add(FunctionCallOutput(call_id="ghost", name="f", output="?"))  # no call
    chat.add(FunctionCall(call_id="b", name="f"))  # no output yet
    messages = chat.to_openai_messages()
    assert messages == [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "1"},
    ]


def test_truncate_keeps_the_system_message_and_never_starts_with_a_tool_item() -> None:
    chat = weather_chat()
    chat.add_message("user", "Thanks")
    chat.truncate(4)  # last 4: output c1, output c2, assistant, user -> outputs dropped
    assert [i.type for i in chat.items] == ["message", "message", "message"]
    assert [m.role for m in chat.messages] == ["system", "assistant", "user"]
    assert chat.instructions == "Be brief."

    chat = weather_chat()
    before = list(chat.items)
    assert chat.truncate(100).items == before  # nothing to cut
    assert len(chat) == 8
    chat.truncate(1)
    assert [m.text for m in chat.messages] == ["Be brief.", "It is sunny."]

    no_system = ChatContext()
    for i in range(5):
        no_system.add_message("user", str(i))
    assert [m.text for m in no_system.truncate(2).messages] == ["3", "4"]
    with pytest.raises(ValueError, match="at least 1"):
        no_system.truncate(0)


def test_barge_in_helpers() -> None:
    chat = ChatContext()
    assert chat.last_assistant is None
    assert chat.replace_last_assistant_text("x") is None
    chat.add_message("user", "Tell me a story")
    chat.add_message("assistant", "Once upon a time there was a dragon.")
    chat.add_message("user", "(noise)")
    message = chat.replace_last_assistant_text("Once upon a")
    assert message is not None
    assert (message.text, message.interrupted) == ("Once upon a", True)
    chat.replace_last_assistant_text("")  # nothing heard: keep the message, empty
    assert chat.items[1] == ChatMessage(id=message.id, role="assistant", text="", interrupted=True)


def test_instructions() -> None:
    chat = ChatContext()
    assert chat.instructions is None
    chat.add_message("user", "hi")
    chat.set_instructions("Be nice.")
    assert chat.instructions == "Be nice." and chat.items[0].type == "message"
    chat.set_instructions("Be brief.")
    assert [m.text for m in chat.messages] == ["Be brief.", "hi"]


def test_items_validate_assignment() -> None:
    message = ChatMessage(role="user", text="hi")
    with pytest.raises(ValueError):
        message.role = "robot"  # type: ignore[assignment]
    assert message.id.startswith("item_") and message.id != ChatMessage(role="user").id

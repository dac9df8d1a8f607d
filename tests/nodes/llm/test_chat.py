"""ChatContext: items, round trip, truncation, OpenAI format, barge-in helpers."""

from __future__ import annotations

import json

import pytest

from voicegraph.graph import ConfigError, InputError, UsageError
from voicegraph.nodes.llm import (
    AgentHandoffItem,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
)


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


def test_copies_share_items_but_edits_stay_in_one() -> None:
    chat = weather_chat()
    copy = chat.copy()
    assert copy == chat and copy.items is not chat.items
    assert all(a is b for a, b in zip(copy.items, chat.items, strict=True))  # cheap: shared
    before = chat.to_dict()
    copy.replace_last_assistant_text("It")
    copy.set_instructions("Be verbose.")
    copy.replace(copy.items[1].id, text="Weather in Rome?")
    copy.append_text(copy.items[2].id, " Hold on.")
    copy.add_message("user", "more")
    copy.truncate(3)
    assert chat.to_dict() == before  # the original saw none of it
    assert [m.text for m in copy.messages] == ["Be verbose.", "It", "more"]
    # and the other way round: editing the original leaves an earlier copy alone
    snapshot = chat.copy()
    chat.replace_last_assistant_text("")
    chat.set_instructions("Be kind.")
    chat.append_text(chat.items[2].id, " OK")
    assert snapshot.to_dict() == before
    texts = [m.text for m in chat.messages]
    assert texts[:3] == ["Be kind.", "Weather in Paris?", "Let me check. OK"]


def test_replace_puts_a_validated_copy_in_place() -> None:
    chat = weather_chat()
    old = chat.items[5]
    assert isinstance(old, FunctionCallOutput)
    new = chat.replace(old.id, output="Rainy", is_error=False)
    assert chat.items[5] is new and new.id == old.id and old.output == "Sunny"
    assert new == FunctionCallOutput(id=old.id, call_id="c1", name="get_weather", output="Rainy")
    with pytest.raises(ConfigError, match=r"role"):
        chat.replace(chat.items[1].id, role="robot")
    with pytest.raises(ConfigError, match=r"colour"):
        chat.replace(chat.items[1].id, colour="red")
    with pytest.raises(ConfigError, match="keeps an item's id"):
        chat.replace(chat.items[1].id, id="mine")
    with pytest.raises(UsageError, match="no item with id 'nope'"):
        chat.replace("nope", text="x")
    with pytest.raises(UsageError, match="no message"):
        chat.append_text(chat.items[3].id, "x")  # a function call has no text
    assert chat.to_dict()["items"][1]["text"] == "Weather in Paris?"  # failed edits changed nothing


def test_streamed_text_is_appended_by_replacing_the_message() -> None:
    chat = ChatContext()
    message = chat.add_message("assistant", "Hel")
    seen = chat.copy()
    latest = chat.append_text(message.id, "lo")
    latest = chat.append_text(latest.id, " there.")
    assert chat.items == [latest] and latest.text == "Hello there." and latest.id == message.id
    assert message.text == "Hel" and seen.items[0].text == "Hel"
    assert chat.get(message.id) is latest
    # the streamed copy is a complete item: equal, serializable, validated, copyable
    expected = ChatMessage(id=message.id, role="assistant", text="Hello there.")
    assert latest == expected and latest.model_dump() == expected.model_dump()
    assert latest.model_copy(update={"interrupted": True}).interrupted
    assert latest.model_fields_set >= {"role", "text"}
    with pytest.raises(ValueError):
        latest.role = "robot"  # type: ignore[assignment]
    latest.text = "Hi."  # assignment works on a streamed copy too (it is in a context we own)
    assert ChatContext.from_dict(chat.to_dict()).items == [latest]


def test_round_trip_after_edits() -> None:
    chat = weather_chat()
    chat.add(AgentHandoffItem(old_agent_id="a", new_agent_id="b"))
    chat.append_text(chat.items[2].id, " Hold on.")
    chat.replace_last_assistant_text("It is")
    chat.set_instructions("Be brief, please.")
    again = ChatContext.from_dict(json.loads(json.dumps(chat.to_dict())))
    assert again == chat and again.to_dict() == chat.to_dict()
    assert [m.text for m in again.messages] == [
        "Be brief, please.",
        "Weather in Paris?",
        "Let me check. Hold on.",
        "It is",
    ]
    assert again.items[-2] == chat.items[-2]  # the handoff record
    assert again.copy() == again


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
    with pytest.raises(ValueError, match="must not be negative"):
        no_system.truncate(-1)
    assert no_system.truncate(0).items == []  # LiveKit: 0 keeps only the instructions


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
    first = chat.items[0]
    chat.set_instructions("Be brief.")  # unchanged text: the same item stays
    assert chat.items[0] is first


def test_items_validate_assignment() -> None:
    message = ChatMessage(role="user", text="hi")
    with pytest.raises(ValueError):
        message.role = "robot"  # type: ignore[assignment]
    assert message.id.startswith("item_") and message.id != ChatMessage(role="user").id

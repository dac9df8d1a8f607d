"""The chat context's LiveKit Agents 1.8 API: add_message(role=, content=), content /
text_content, copy(exclude_*, tools=), truncate(max_items=), merge, read-only contexts."""

from __future__ import annotations

import pytest

from voicegraph.graph import ConfigError, UsageError
from voicegraph.nodes.llm import (
    AgentHandoffItem,
    ChatContext,
    ChatMessage,
    FunctionCall,
    FunctionCallOutput,
    ImageContent,
    ReadOnlyChatContext,
)


def tool_chat() -> ChatContext:
    chat = ChatContext()
    chat.add_message(role="system", content="Be brief.")
    chat.add_message(role="user", content="Weather and time?")
    chat.add(FunctionCall(call_id="c1", name="weather", arguments="{}"))
    chat.add(FunctionCall(call_id="c2", name="clock", arguments="{}"))
    chat.add(FunctionCallOutput(call_id="c1", name="weather", output="sunny"))
    chat.add(FunctionCallOutput(call_id="c2", name="clock", output="noon"))
    chat.add_message(role="assistant", content="")
    chat.add(AgentHandoffItem(new_agent_id="booker"))
    chat.add_message(role="assistant", content="Sunny, and it is noon.")
    return chat


def test_add_message_takes_livekit_content_and_keeps_the_positional_form() -> None:
    chat = ChatContext.empty()
    said = chat.add_message(role="user", content="Hello")
    assert said.content == ["Hello"] and said.text_content == "Hello" and said.text == "Hello"
    old = chat.add_message("assistant", "Hi!", interrupted=True)
    assert old.content == ["Hi!"] and old.interrupted
    both = chat.add_message(role="user", content=["Two", "lines"], id="item_mine")
    assert both.text_content == "Two\nLines".replace("L", "l") and both.id == "item_mine"
    assert [m["content"] for m in chat.to_openai_messages()] == ["Hello", "Hi!", "Two\nlines"]
    with pytest.raises(ConfigError, match="give exactly one"):
        chat.add_message(role="user")
    with pytest.raises(ConfigError, match="give exactly one"):
        chat.add_message("user", "a", content="b")
    with pytest.raises(ConfigError, match="content parts must be str, ImageContent"):
        chat.add_message(role="user", content=["ok", 42])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="role"):
        chat.add_message(role="robot", content="beep")  # type: ignore[arg-type]
    assert len(chat) == 3  # failed calls added nothing


def test_images_are_kept_but_not_sent_to_the_engines() -> None:
    chat = ChatContext()
    image = ImageContent(image="https://example.com/cat.jpg")
    message = chat.add_message(role="user", content=["What is this?", image])
    assert message.content == ["What is this?", image] and message.media == [image]
    assert chat.to_openai_messages() == [{"role": "user", "content": "What is this?"}]
    only_image = ChatMessage(role="user", content=[image])
    assert only_image.text_content is None and only_image.content == [image]
    assert chat.to_dict()["items"][0]["media"] == []  # LiveKit's default: no images
    kept = ChatContext.from_dict(chat.to_dict(exclude_image=False))
    (again,) = kept.messages
    assert isinstance(again.media[0], ImageContent) and again.media[0].image == image.image


def test_changing_the_content_list_changes_the_message() -> None:
    message = ChatMessage(role="system", content=["Be brief."])
    message.content.append("Context: the shop opens at 9.")  # LiveKit's RAG example does this
    assert message.text == "Be brief.\nContext: the shop opens at 9."
    message.content = ["Replaced."]
    assert message.text_content == "Replaced."
    with pytest.raises(ConfigError, match="content must be a str or a list"):
        message.content = 5  # type: ignore[assignment]
    with pytest.raises(ValueError, match="not both"):
        ChatMessage(role="user", content=["a"], text="b")


def test_copy_leaves_out_what_livekit_leaves_out() -> None:
    chat = tool_chat()
    assert [i.id for i in chat.copy().items] == [i.id for i in chat.items]
    no_tools = chat.copy(exclude_function_call=True)
    assert [i.type for i in no_tools.items] == ["message"] * 3 + ["agent_handoff", "message"]
    assert [m.role for m in chat.copy(exclude_instructions=True).messages] == [
        "user",
        "assistant",
        "assistant",
    ]
    assert len(chat.copy(exclude_empty_message=True).messages) == 3
    assert not any(isinstance(i, AgentHandoffItem) for i in chat.copy(exclude_handoff=True).items)
    weather_only = chat.copy(tools=["weather"])
    calls = [i for i in weather_only.items if isinstance(i, FunctionCall | FunctionCallOutput)]
    assert [(i.type, i.call_id) for i in calls] == [
        ("function_call", "c1"),
        ("function_call_output", "c1"),
    ]
    assert chat.copy(tools=[]).items == chat.copy(exclude_function_call=True).items
    assert len(chat) == 9  # the original is untouched


def test_truncate_follows_livekit() -> None:
    chat = tool_chat()
    chat.truncate(max_items=5)  # last 5: output c1, output c2, "", handoff, reply
    assert [i.type for i in chat.items] == ["message", "message", "agent_handoff", "message"]
    assert chat.instructions == "Be brief."  # kept in front: 4 items kept + the instructions

    chat = tool_chat()
    before = list(chat.items)
    assert chat.truncate(max_items=9).items == before  # not more than that: unchanged
    assert len(chat.truncate(max_items=0)) == 1 and chat.instructions == "Be brief."
    with pytest.raises(ValueError, match="must not be negative"):
        chat.truncate(max_items=-1)

    late = ChatContext()  # instructions that are not the first item are kept too
    late.add_message(role="user", content="hi")
    late.add_message(role="system", content="Be kind.")
    for i in range(3):
        late.add_message(role="user", content=str(i))
    assert [m.text for m in late.truncate(max_items=2).messages] == ["Be kind.", "1", "2"]


def test_merge_adds_what_is_missing_after_its_predecessor() -> None:
    base = ChatContext()
    first = base.add_message(role="user", content="one")
    last = base.add_message(role="assistant", content="three")
    other = base.copy()
    other.items.insert(1, ChatMessage(role="user", content=["two"]))
    other.add_message(role="user", content="four")
    other.add(FunctionCall(call_id="x", name="f"))
    assert base.merge(other, exclude_function_call=True) is base
    assert [m.text for m in base.messages] == ["one", "two", "three", "four"]
    assert base.items[0] is first and base.items[2] is last
    assert not any(isinstance(i, FunctionCall) for i in base.items)
    assert base.merge(other).items[-1].type == "function_call"
    assert base.is_equivalent(other)  # now the same items in the same order
    changed = other.copy()
    changed.replace(first.id, text="uno")
    assert not base.is_equivalent(changed) and not base.is_equivalent(ChatContext())


def test_lookups_and_removal() -> None:
    chat = tool_chat()
    reply = chat.items[-1]
    assert chat.get_by_id(reply.id) is reply and chat.index_by_id(reply.id) == 8
    assert chat.messages() == chat.messages  # LiveKit's messages() and voicegraph's property
    chat.remove(reply)
    chat.remove(chat.items[0].id)
    assert len(chat) == 7 and chat.get_by_id(reply.id) is None
    with pytest.raises(UsageError, match="no item with id 'nope'"):
        chat.remove("nope")


def test_a_read_only_context_refuses_every_change() -> None:
    chat = tool_chat()
    frozen = ReadOnlyChatContext.of(chat.items)
    assert frozen.readonly and not chat.readonly
    changes = [
        lambda: frozen.add_message(role="user", content="x"),
        lambda: frozen.items.append(ChatMessage(role="user", text="x")),
        lambda: frozen.items.pop(),
        lambda: frozen.truncate(max_items=1),
        lambda: frozen.set_instructions("other"),
        lambda: frozen.remove(chat.items[0]),
    ]
    for change in changes:
        with pytest.raises(RuntimeError, match=r"read-only.*update_chat_ctx"):
            change()
    assert frozen.items == chat.items and len(chat) == 9
    mine = frozen.copy()
    mine.add_message(role="user", content="fine")
    assert not mine.readonly and len(mine) == 10 and len(frozen) == 9


def test_a_livekit_dump_reads_back() -> None:
    dumped = {
        "items": [
            {
                "id": "item_1",
                "type": "message",
                "role": "user",
                "content": ["Hello", "there"],
                "interrupted": False,
                "created_at": 1.5,
                "extra": {},
                "metrics": {},
            },
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}",
             "created_at": 2.0, "extra": {}, "group_id": None},
        ]
    }  # fmt: skip
    chat = ChatContext.from_dict(dumped)
    assert chat.items[0].id == "item_1" and chat.messages[0].text == "Hello\nthere"
    assert isinstance(chat.items[1], FunctionCall)

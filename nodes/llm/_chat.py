"""The chat context: the conversation an LLM sees, as typed, serializable items.

Items, as in LiveKit Agents: :class:`ChatMessage` (``system`` / ``user`` / ``assistant``
text; ``interrupted`` marks an assistant message cut off by the user), :class:`FunctionCall`
(a tool call the model requested), :class:`FunctionCallOutput` (its result) and
:class:`AgentHandoffItem` (the session switched agents here; not sent to the model).

>>> chat = ChatContext()
>>> _ = chat.add_message("system", "Be brief.")
>>> _ = chat.add_message("user", "Hi!")
>>> [m["role"] for m in chat.to_openai_messages()]
['system', 'user']

Items are shared, not copied: :meth:`ChatContext.copy` is a new list holding the same item
objects (as LiveKit's ``ChatContext.copy()`` is), so a copy costs microseconds however long
the conversation. voicegraph never edits an item that is in a context; it puts an edited copy
in its place (:meth:`ChatContext.replace`), which leaves every other context holding the old
item unchanged. Do the same with items of a context you did not build yourself:

>>> heard = chat.copy()
>>> _ = heard.replace(heard.items[1].id, text="Hi")
>>> chat.items[1].text, heard.items[1].text
('Hi!', 'Hi')

Editing an item in place (``item.text = ...``, validated) is fine while it is in no context,
or only in contexts you own (``on_user_turn_completed``'s ``new_message`` is such an item).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voicegraph.graph import ConfigError, InputError, UsageError

__all__ = [
    "AgentHandoffItem",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
]

ChatRole: TypeAlias = Literal["system", "user", "assistant"]


def _new_id() -> str:
    return f"item_{os.urandom(6).hex()}"  # 48 random bits, as uuid4().hex[:12] was, faster


_set = object.__setattr__


def _with_text(message: ChatMessage, text: str) -> ChatMessage:
    """A copy of ``message`` with ``text``: what ``model_copy(update=...)`` gives (no
    validation), in a third of its time (it runs for every streamed delta)."""
    new = ChatMessage.__new__(ChatMessage)
    fields = dict(message.__dict__)
    fields["text"] = text
    _set(new, "__dict__", fields)
    _set(new, "__pydantic_fields_set__", message.__pydantic_fields_set__ | {"text"})
    _set(new, "__pydantic_extra__", None)  # extra="forbid"
    _set(new, "__pydantic_private__", None)  # no private attributes
    return new


class _Item(BaseModel):
    """Base of the items. Assignments are validated (``item.text = ...``); voicegraph itself
    never assigns to an item that is in a context (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: str = Field(default_factory=_new_id)


class ChatMessage(_Item):
    """A text message.

    Attributes:
        role: ``"system"``, ``"user"`` or ``"assistant"``.
        text: the message text.
        interrupted: ``True`` for an assistant message the user cut off; ``text`` is then
            what the listener actually heard (default ``False``).
    """

    type: Literal["message"] = "message"
    role: ChatRole
    text: str = ""
    interrupted: bool = False


class FunctionCall(_Item):
    """A tool call requested by the model.

    Attributes:
        call_id: pairs the call with its :class:`FunctionCallOutput`.
        name: the tool's name.
        arguments: the arguments as a JSON object string, as the model produced it.
    """

    type: Literal["function_call"] = "function_call"
    call_id: str
    name: str
    arguments: str = "{}"


class FunctionCallOutput(_Item):
    """The result of a tool call.

    Attributes:
        call_id: the :class:`FunctionCall` this answers.
        name: the tool's name.
        output: the result text (an error message when ``is_error``).
        is_error: whether the call failed (default ``False``).
    """

    type: Literal["function_call_output"] = "function_call_output"
    call_id: str
    name: str
    output: str = ""
    is_error: bool = False


class AgentHandoffItem(_Item):
    """A record that the session handed the conversation to another agent (LiveKit's
    ``AgentHandoff`` item). It stays in the history but is not sent to the model.

    Attributes:
        old_agent_id: the agent that handed off (``None`` for the first agent).
        new_agent_id: the agent that took over.
    """

    type: Literal["agent_handoff"] = "agent_handoff"
    old_agent_id: str | None = None
    new_agent_id: str


AnyChatItem: TypeAlias = ChatMessage | FunctionCall | FunctionCallOutput | AgentHandoffItem
ChatItem: TypeAlias = Annotated[AnyChatItem, Field(discriminator="type")]


class ChatContext(BaseModel):
    """An ordered list of chat items with the operations a voice agent needs.

    Attributes:
        items: the conversation, oldest first.
    """

    model_config = ConfigDict(extra="forbid")

    items: list[ChatItem] = Field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    # ------------------------------------------------------------------ adding

    def add_message(self, role: ChatRole, text: str, *, interrupted: bool = False) -> ChatMessage:
        """Append a text message and return it."""
        message = ChatMessage(role=role, text=text, interrupted=interrupted)
        self.items.append(message)
        return message

    def add(self, item: AnyChatItem) -> None:
        """Append one item."""
        self.items.append(item)

    def extend(self, items: Iterable[AnyChatItem]) -> None:
        """Append several items, in order."""
        self.items.extend(items)

    def get(self, item_id: str) -> AnyChatItem | None:
        """The item with id ``item_id``, or ``None``."""
        index = self._index(item_id)
        return None if index is None else self.items[index]

    def _index(self, item_id: str) -> int | None:
        """Where the item ``item_id`` is (searched from the newest: edits are mostly there)."""
        items = self.items
        for index in range(len(items) - 1, -1, -1):
            if items[index].id == item_id:
                return index
        return None

    # ------------------------------------------------------------------ views

    @property
    def messages(self) -> list[ChatMessage]:
        """The text messages only, in order."""
        return [item for item in self.items if isinstance(item, ChatMessage)]

    @property
    def last_assistant(self) -> ChatMessage | None:
        """The most recent assistant message, or ``None``."""
        for item in reversed(self.items):
            if isinstance(item, ChatMessage) and item.role == "assistant":
                return item
        return None

    @property
    def instructions(self) -> str | None:
        """The text of the leading system message, or ``None`` if there is none."""
        first = self.items[0] if self.items else None
        if isinstance(first, ChatMessage) and first.role == "system":
            return first.text
        return None

    # ------------------------------------------------------------------ editing

    def replace(self, item_id: str, **changes: Any) -> AnyChatItem:
        """Put a copy of item ``item_id`` with ``changes`` in its place; return the new item.

        The old item object is left as it was, so other contexts holding it (copies of this
        one) do not change. The new item keeps the id and is validated like a new one.

        >>> chat = ChatContext()
        >>> old = chat.add_message("assistant", "It is sunny.")
        >>> new = chat.replace(old.id, text="It", interrupted=True)
        >>> (old.text, new.text, chat.items[0] is new, new.id == old.id)
        ('It is sunny.', 'It', True, True)

        Raises:
            UsageError: no item with this id is in the context.
            ConfigError: a change names no field of the item or has a wrong value.
        """
        index = self._index(item_id)
        if index is None:
            raise UsageError(
                f"no item with id {item_id!r} in this chat context; look ids up in its items"
            )
        old = self.items[index]
        if "id" in changes or "type" in changes:
            raise ConfigError(f"replace() keeps an item's id and type; got {sorted(changes)}")
        try:
            new = type(old).model_validate({**dict(old), **changes})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(f"cannot replace {old.type} {item_id!r}: {problems}") from None
        self.items[index] = new
        return new

    def append_text(self, item_id: str, text: str) -> ChatMessage:
        """Put a copy of message ``item_id`` with ``text`` appended in its place; return it.

        The streaming form of :meth:`replace` (no validation: ``text`` must be a ``str``), used
        for every text delta of a reply, so readers see the reply so far.

        Raises:
            UsageError: no message with this id is in the context.
        """
        index = self._index(item_id)
        old = None if index is None else self.items[index]
        if index is None or not isinstance(old, ChatMessage):
            raise UsageError(
                f"no message with id {item_id!r} in this chat context; look ids up in its items"
            )
        new = _with_text(old, old.text + text)
        self.items[index] = new
        return new

    def set_instructions(self, text: str) -> None:
        """Replace the leading system message's text, or insert one at the start."""
        first = self.items[0] if self.items else None
        if isinstance(first, ChatMessage) and first.role == "system":
            if first.text != text:
                self.items[0] = _with_text(first, text)
        else:
            self.items.insert(0, ChatMessage(role="system", text=text))

    def replace_last_assistant_text(
        self, text: str, *, interrupted: bool = True
    ) -> ChatMessage | None:
        """Set the last assistant message's text to what was actually played.

        Used on barge-in: the context keeps only what the listener heard. An empty ``text``
        keeps the message with ``""`` (as LiveKit does). The message is replaced (see
        :meth:`replace`); returns the new one, or ``None`` if there is no assistant message.
        """
        message = self.last_assistant
        if message is None:
            return None
        new = self.replace(message.id, text=text, interrupted=interrupted)
        assert isinstance(new, ChatMessage)
        return new

    def truncate(self, max_items: int) -> ChatContext:
        """Keep the last ``max_items`` items (in place) and return ``self``.

        As in LiveKit Agents: the kept part never starts with a function call or output (a
        tool result without its call is useless to the model), and the leading system message
        (the instructions) is always kept, in front, even if that makes ``max_items + 1``.

        Raises:
            ValueError: ``max_items`` is less than 1.
        """
        if max_items < 1:
            raise ConfigError(f"max_items must be at least 1 (items to keep), got {max_items}")
        first = self.items[0] if self.items else None
        system = first if isinstance(first, ChatMessage) and first.role == "system" else None
        kept = self.items[-max_items:]
        while kept and not isinstance(kept[0], ChatMessage):
            kept.pop(0)
        if system is not None and (not kept or kept[0] is not system):
            kept.insert(0, system)
        self.items = kept
        return self

    def copy(self) -> ChatContext:  # type: ignore[override]
        """A new context with a new list of the same items (as LiveKit's ``copy()``).

        Adding, removing or replacing items (:meth:`replace`, :meth:`set_instructions`, ...)
        in either leaves the other unchanged; it costs microseconds however long the
        conversation is. Items are shared: edit them with :meth:`replace`, not in place.
        """
        return self.model_copy(update={"items": list(self.items)})

    # ------------------------------------------------------------------ formats

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict; :meth:`from_dict` gives an equal context back."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChatContext:
        """Rebuild a context from :meth:`to_dict` output.

        Raises:
            InputError: the data is not a valid chat context (the message says which item).
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise InputError(f"not a valid chat context: {problems}") from None

    def to_openai_messages(self) -> list[dict[str, Any]]:
        """The OpenAI chat ``messages`` list, as llama-cpp's ``create_chat_completion`` takes.

        Function calls become ``tool_calls`` of an assistant message (merged into the
        assistant message right before them, otherwise a new one with ``content: ""``, which
        chat templates can render), outputs become ``role: "tool"`` messages. Calls without
        an output yet and outputs without their call are left out, so the list is always
        valid for the API. Handoff records are left out.
        """
        outputs = {i.call_id for i in self.items if isinstance(i, FunctionCallOutput)}
        calls = {i.call_id for i in self.items if isinstance(i, FunctionCall)}
        out: list[dict[str, Any]] = []
        for item in self.items:
            if isinstance(item, ChatMessage):
                out.append({"role": item.role, "content": item.text})
            elif isinstance(item, FunctionCall):
                if item.call_id not in outputs:
                    continue
                call = {
                    "id": item.call_id,
                    "type": "function",
                    "function": {"name": item.name, "arguments": item.arguments},
                }
                last = out[-1] if out else None
                if last is not None and last["role"] == "assistant":
                    last.setdefault("tool_calls", []).append(call)
                else:
                    out.append({"role": "assistant", "content": "", "tool_calls": [call]})
            elif isinstance(item, FunctionCallOutput) and item.call_id in calls:
                out.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
        return out

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
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from voicegraph.graph import ConfigError, InputError, UsageError

from ._content import AudioContent, ChatContent, ContentList, ImageContent

__all__ = [
    "AgentHandoffItem",
    "AudioContent",
    "ChatContent",
    "ChatContext",
    "ChatItem",
    "ChatMessage",
    "ChatRole",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageContent",
    "ReadOnlyChatContext",
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


_LIVEKIT_METADATA = frozenset(
    {"created_at", "extra", "metrics", "transcript_confidence", "hash", "group_id"}
)
"""Fields of LiveKit's items that voicegraph's do not have; dropped when an item is read
(``from_dict`` of a LiveKit ``to_dict()``)."""


class _Item(BaseModel):
    """Base of the items. Assignments are validated (``item.text = ...``); voicegraph itself
    never assigns to an item that is in a context (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: str = Field(default_factory=_new_id)

    @model_validator(mode="before")
    @classmethod
    def _drop_livekit_metadata(cls, data: Any) -> Any:
        if isinstance(data, dict) and not _LIVEKIT_METADATA.isdisjoint(data):
            return {k: v for k, v in data.items() if k not in _LIVEKIT_METADATA}
        return data


class ChatMessage(_Item):
    """A message: its text, and any image or audio parts.

    Build it with ``text=`` or, as in LiveKit, ``content=`` (a ``str`` or a list of
    ``str``, :class:`ImageContent` and :class:`AudioContent`). Text parts are joined with a
    newline into ``text``; the other parts are kept in ``media`` (and not sent to
    voicegraph's text-only engines).

    Attributes:
        role: ``"system"``, ``"user"`` or ``"assistant"``.
        text: the message text.
        media: the image and audio parts (default none).
        interrupted: ``True`` for an assistant message the user cut off; ``text`` is then
            what the listener actually heard (default ``False``).
    """

    type: Literal["message"] = "message"
    role: ChatRole
    text: str = ""
    media: list[ImageContent | AudioContent] = Field(default_factory=list)
    interrupted: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_content(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "content" not in data:
            return data
        if "text" in data or "media" in data:
            raise ConfigError("give a message's content= or its text= (and media=), not both")
        data = dict(data)
        text, media = _split_content(data.pop("content"))
        return {**data, "text": text, "media": media}

    @property
    def content(self) -> list[ChatContent]:
        """The parts, as LiveKit's ``ChatMessage.content``: the text (one part; none when
        it is empty and there is media), then the media. Changing the list
        (``message.content.append(...)``) or assigning one changes the message."""
        parts: list[ChatContent] = [self.text] if self.text or not self.media else []
        return ContentList([*parts, *self.media], self._set_content)

    @content.setter
    def content(self, parts: str | Sequence[ChatContent]) -> None:
        self._set_content(parts)

    def _set_content(self, parts: str | Sequence[Any]) -> None:
        text, media = _split_content(parts)
        self.text = text
        self.media = media  # validated on assignment

    @property
    def text_content(self) -> str | None:
        """The text parts joined by newlines (LiveKit's ``text_content``): ``text``, or
        ``None`` for a message with media and no text."""
        return None if not self.text and self.media else self.text


def _split_content(content: Any) -> tuple[str, list[Any]]:
    """``(text, media)`` of a LiveKit-style content: a ``str`` or a list of parts.

    Raises:
        ConfigError: content of another type, or a part that is none of ``str``, image, audio.
    """
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list | tuple):
        raise ConfigError(
            f"a message's content must be a str or a list of parts, got {type(content).__name__}"
        )
    texts: list[str] = []
    media: list[Any] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, ImageContent | AudioContent | dict):
            media.append(part)
        else:
            raise ConfigError(
                f"a message's content parts must be str, ImageContent or AudioContent (from "
                f"voicegraph.agents.llm), got {type(part).__module__}.{type(part).__name__}"
            )
    return "\n".join(texts), media


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

    def __init__(self, items: Iterable[AnyChatItem] | None = None, **data: Any) -> None:
        """``ChatContext()``, ``ChatContext(items)`` (as LiveKit) or ``ChatContext(items=...)``."""
        if items is not None:
            data["items"] = list(items)
        super().__init__(**data)

    @classmethod
    def empty(cls) -> ChatContext:
        """A context with no items (LiveKit's ``ChatContext.empty()``)."""
        return cls()

    def __len__(self) -> int:
        return len(self.items)

    @property
    def readonly(self) -> bool:
        """Whether changes raise :class:`UsageError` (see :class:`ReadOnlyChatContext`)."""
        return False

    # ------------------------------------------------------------------ adding

    def add_message(
        self,
        role: ChatRole,
        text: str | None = None,
        *,
        content: str | Sequence[ChatContent] | None = None,
        interrupted: bool = False,
        id: str | None = None,
    ) -> ChatMessage:
        """Append a message and return it.

        ``add_message("user", "Hi")``, or as in LiveKit ``add_message(role="user",
        content="Hi")`` / ``content=["Look:", ImageContent(image=url)]`` (text parts are
        joined by newlines; image and audio parts are kept but not sent to the engines).

        Raises:
            ConfigError: neither or both of ``text`` and ``content``, or a bad role or part.
        """
        if (text is None) == (content is None):
            raise ConfigError(
                "add_message() takes the message as text (add_message('user', 'Hi')) or as "
                "content= (add_message(role='user', content='Hi')): give exactly one"
            )
        fields: dict[str, Any] = {"role": role, "interrupted": interrupted}
        if id is not None:
            fields["id"] = id
        if content is not None:
            fields["content"] = content if isinstance(content, str) else list(content)
        else:
            fields["text"] = text
        try:
            message = ChatMessage(**fields)
        except ValidationError as exc:
            raise ConfigError(f"add_message(): {_problems(exc)}") from None
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

    def get_by_id(self, item_id: str) -> AnyChatItem | None:
        """LiveKit's name for :meth:`get`."""
        return self.get(item_id)

    def index_by_id(self, item_id: str) -> int | None:
        """The position of item ``item_id``, or ``None``."""
        return self._index(item_id)

    def remove(self, item: AnyChatItem | str) -> None:
        """Remove an item (given as the item or its id).

        Raises:
            UsageError: no such item is in the context.
        """
        item_id = item if isinstance(item, str) else item.id
        index = self._index(item_id)
        if index is None:
            raise UsageError(
                f"no item with id {item_id!r} in this chat context; look ids up in its items"
            )
        del self.items[index]

    def _index(self, item_id: str) -> int | None:
        """Where the item ``item_id`` is (searched from the newest: edits are mostly there)."""
        items = self.items
        for index in range(len(items) - 1, -1, -1):
            if items[index].id == item_id:
                return index
        return None

    # ------------------------------------------------------------------ views

    @property
    def messages(self) -> _Messages:
        """The messages only, in order: ``chat.messages`` or, as in LiveKit, ``chat.messages()``
        (the list is callable and returns itself)."""
        return _Messages(item for item in self.items if isinstance(item, ChatMessage))

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

        As in LiveKit Agents: nothing changes if there are no more items than that; the kept
        part never starts with a function call or output (a tool result without its call is
        useless to the model); the first system message (the instructions) is always kept,
        in front, even if that makes ``max_items + 1``. ``max_items=0`` keeps only it.

        Raises:
            ConfigError: ``max_items`` is negative (a ``ValueError``, as LiveKit raises).
        """
        if max_items < 0:
            raise ConfigError(f"max_items must not be negative (items to keep), got {max_items}")
        if len(self.items) <= max_items:
            return self
        system = next(
            (i for i in self.items if isinstance(i, ChatMessage) and i.role == "system"), None
        )
        kept = self.items[-max_items:] if max_items else []
        while kept and isinstance(kept[0], FunctionCall | FunctionCallOutput):
            kept.pop(0)
        if system is not None and all(item is not system for item in kept):
            kept.insert(0, system)
        self.items[:] = kept
        return self

    def copy(  # type: ignore[override]
        self,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
        exclude_empty_message: bool = False,
        exclude_handoff: bool = False,
        exclude_config_update: bool = False,
        tools: Sequence[Any] | None = None,
    ) -> ChatContext:
        """A new context with a new list of the same items (as LiveKit's ``copy()``).

        Adding, removing or replacing items (:meth:`replace`, :meth:`set_instructions`, ...)
        in either leaves the other unchanged; it costs microseconds however long the
        conversation is. Items are shared: edit them with :meth:`replace`, not in place.

        Args:
            exclude_function_call: leave out function calls and their outputs.
            exclude_instructions: leave out system messages.
            exclude_empty_message: leave out messages with neither text nor media.
            exclude_handoff: leave out handoff records.
            exclude_config_update: accepted for LiveKit; voicegraph's contexts hold no
                configuration-update items.
            tools: keep only the calls (and their outputs) of these tools: tools or tool
                names (``None``: all).
        """
        del exclude_config_update  # no such items in voicegraph
        names = None if tools is None else {_tool_name(t) for t in tools}
        call_ids = (
            None
            if names is None
            else {i.call_id for i in self.items if isinstance(i, FunctionCall) and i.name in names}
        )
        kept: list[AnyChatItem] = []
        for item in self.items:
            if isinstance(item, FunctionCall | FunctionCallOutput):
                if exclude_function_call:
                    continue
                if call_ids is not None and item.call_id not in call_ids:
                    continue
            elif isinstance(item, ChatMessage):
                if exclude_instructions and item.role == "system":
                    continue
                if exclude_empty_message and not item.text and not item.media:
                    continue
            elif exclude_handoff and isinstance(item, AgentHandoffItem):
                continue
            kept.append(item)
        return ChatContext.model_construct(items=kept)

    def merge(
        self,
        other_chat_ctx: ChatContext,
        *,
        exclude_function_call: bool = False,
        exclude_instructions: bool = False,
        exclude_config_update: bool = False,
    ) -> ChatContext:
        """Add the items of ``other_chat_ctx`` that this context lacks (by id); return ``self``.

        voicegraph's items carry no timestamps (LiveKit orders merged items by
        ``created_at``): a new item goes right after the item that precedes it in
        ``other_chat_ctx``, or at the end if none of those is here.
        """
        del exclude_config_update  # no such items in voicegraph
        ids = {item.id for item in self.items}
        at: int | None = None
        for item in other_chat_ctx.items:
            if item.id in ids:
                at = self._index(item.id)
                continue
            if exclude_function_call and isinstance(item, FunctionCall | FunctionCallOutput):
                continue
            if exclude_instructions and isinstance(item, ChatMessage) and item.role == "system":
                continue
            at = len(self.items) if at is None else at + 1
            self.items.insert(at, item)
            ids.add(item.id)
        return self

    def is_equivalent(self, other: ChatContext) -> bool:
        """Same items (ids, types and contents) in the same order (LiveKit's check)."""
        return len(self.items) == len(other.items) and all(
            a.id == b.id and a == b for a, b in zip(self.items, other.items, strict=True)
        )

    # ------------------------------------------------------------------ formats

    def to_dict(
        self,
        *,
        exclude_image: bool = True,
        exclude_audio: bool = True,
        exclude_timestamp: bool = True,
        exclude_function_call: bool = False,
        exclude_metrics: bool = False,
        exclude_config_update: bool = False,
    ) -> dict[str, Any]:
        """A JSON-compatible dict; :meth:`from_dict` gives an equal context back.

        LiveKit's keywords: images and audio parts are left out unless ``exclude_image`` /
        ``exclude_audio`` is ``False`` (an image given as a video frame cannot be written
        as JSON); ``exclude_function_call`` leaves calls and outputs out. Timestamps,
        metrics and configuration updates do not exist in voicegraph's items.
        """
        del exclude_timestamp, exclude_metrics, exclude_config_update  # none in voicegraph
        items = []
        for item in self.items:
            if exclude_function_call and isinstance(item, FunctionCall | FunctionCallOutput):
                continue
            if isinstance(item, ChatMessage) and item.media:
                media = [
                    m
                    for m in item.media
                    if not (exclude_image and isinstance(m, ImageContent))
                    and not (exclude_audio and isinstance(m, AudioContent))
                ]
                item = item.model_copy(update={"media": media})
            items.append(item.model_dump(mode="json"))
        return {"items": items}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChatContext:
        """Rebuild a context from :meth:`to_dict` output.

        Raises:
            InputError: the data is not a valid chat context (the message says which item).
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InputError(f"not a valid chat context: {_problems(exc)}") from None

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


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


def _tool_name(tool: Any) -> str:
    """A tool's name: a ``str``, a voicegraph ``FunctionTool`` (``name``) or a LiveKit one
    (``info.name``)."""
    if isinstance(tool, str):
        return tool
    name = getattr(tool, "name", None) or getattr(getattr(tool, "info", None), "name", None)
    if not isinstance(name, str):
        raise ConfigError(f"copy(tools=...): expected tools or tool names, got {tool!r}")
    return name


class _Messages(list[ChatMessage]):
    """``ChatContext.messages``: a list, callable as LiveKit's ``messages()`` method."""

    def __call__(self) -> list[ChatMessage]:
        return self


class _FrozenItems(list[AnyChatItem]):
    """The items of a :class:`ReadOnlyChatContext`: every change raises."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise UsageError(READ_ONLY_MESSAGE)

    append = extend = insert = pop = remove = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


READ_ONLY_MESSAGE = (
    "this chat context is read-only (an agent's chat_ctx): change a copy and apply it with "
    "`chat_ctx = agent.chat_ctx.copy(); chat_ctx.add_message(...); "
    "await agent.update_chat_ctx(chat_ctx)`"
)


class ReadOnlyChatContext(ChatContext):
    """A snapshot of a conversation that cannot be changed (``Agent.chat_ctx``, as LiveKit's).

    Every change (``add_message``, ``items.append``, ``truncate``, ...) raises
    :class:`UsageError` (a ``RuntimeError``, as LiveKit raises); :meth:`copy` gives a
    context you can change.
    """

    @classmethod
    def of(cls, items: Iterable[AnyChatItem]) -> ReadOnlyChatContext:
        """A read-only context holding ``items`` (the list is copied, the items shared)."""
        return cls.model_construct(items=_FrozenItems(items))

    @property
    def readonly(self) -> bool:
        return True

    def __setattr__(self, name: str, value: Any) -> None:
        raise UsageError(READ_ONLY_MESSAGE)

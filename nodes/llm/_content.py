"""A chat message's content parts besides text: :class:`ImageContent`, :class:`AudioContent`
(LiveKit Agents' names and fields), and the list view ``ChatMessage.content`` returns.

voicegraph's engines read a message's text only; image and audio parts are kept in the
message (and in :meth:`ChatContext.copy`, ``to_dict(exclude_image=False)``, ...) but not sent
to the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, Literal, SupportsIndex, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AudioContent", "ChatContent", "ContentList", "ImageContent"]


class ImageContent(BaseModel):
    """An image in a message (LiveKit's ``ImageContent``): kept, not sent to voicegraph's
    text-only engines.

    Attributes:
        image: a URL (``https://...`` or a ``data:`` URL) or a ``livekit.rtc.VideoFrame``.
        inference_width, inference_height: resize hints for a frame.
        inference_detail: ``"auto"``, ``"high"`` or ``"low"``.
        mime_type: the image's MIME type, if known.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str = Field(default_factory=lambda: f"img_{os.urandom(6).hex()}")
    type: Literal["image_content"] = "image_content"
    image: Any
    inference_width: int | None = None
    inference_height: int | None = None
    inference_detail: Literal["auto", "high", "low"] = "auto"
    mime_type: str | None = None


class AudioContent(BaseModel):
    """Audio in a message (LiveKit's ``AudioContent``): kept, not sent to the engines.

    Attributes:
        frame: the audio frames.
        transcript: their transcript, if known.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    type: Literal["audio_content"] = "audio_content"
    frame: list[Any]
    transcript: str | None = None


ChatContent: TypeAlias = str | ImageContent | AudioContent
"""One part of a message's content."""


class ContentList(list[ChatContent]):
    """``ChatMessage.content``: a list whose changes are written back to its message.

    ``message.content.append("More context.")`` changes the message's text, as it changes
    the content of a LiveKit message.
    """

    def __init__(self, parts: Iterable[ChatContent], write: Callable[[list[Any]], None]) -> None:
        super().__init__(parts)
        self._write = write

    def _changed(self) -> None:
        self._write(list(self))

    def append(self, part: ChatContent) -> None:
        super().append(part)
        self._changed()

    def extend(self, parts: Iterable[ChatContent]) -> None:
        super().extend(parts)
        self._changed()

    def insert(self, index: SupportsIndex, part: ChatContent) -> None:
        super().insert(index, part)
        self._changed()

    def remove(self, part: ChatContent) -> None:
        super().remove(part)
        self._changed()

    def pop(self, index: SupportsIndex = -1) -> ChatContent:
        part = super().pop(index)
        self._changed()
        return part

    def clear(self) -> None:
        super().clear()
        self._changed()

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._changed()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._changed()

    def __iadd__(self, parts: Iterable[ChatContent]) -> ContentList:  # type: ignore[override,misc]
        super().extend(parts)
        self._changed()
        return self

"""Chat context and tools in Gemini's shapes (``types.Content`` / ``types.Tool``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from voicegraph.nodes.llm import ChatContext, ChatMessage, FunctionCall, FunctionCallOutput
from voicegraph.nodes.tools import FunctionTool

__all__ = ["to_contents", "to_tools"]


def to_contents(
    chat: ChatContext,
    signatures: Mapping[str, bytes] | None = None,
    *,
    with_ids: bool = False,
) -> tuple[list[Any], str | None]:
    """The Gemini ``contents`` and ``system_instruction`` for a chat context.

    System messages (wherever they are) are joined into the system instruction; ``user``
    stays ``user``, ``assistant`` becomes ``model``; a function call becomes a ``model``
    ``functionCall`` part (with the thought signature Gemini gave it, from ``signatures``) and
    its output a ``user`` ``functionResponse`` part (``{"output": ...}``, or ``{"error": ...}``
    when it failed). Consecutive parts of one role are merged into one content, as Gemini
    expects turns to alternate. Calls without an output (and outputs without their call) are
    left out, and so are empty assistant messages (a reply cut off before it said anything).
    ``with_ids`` also sends the call ids (the Live API pairs calls and responses by id).

    >>> chat = ChatContext()
    >>> _ = chat.add_message("system", "Be brief.")
    >>> _ = chat.add_message("user", "Hi!")
    >>> contents, system = to_contents(chat)
    >>> system, [(c.role, c.parts[0].text) for c in contents]
    ('Be brief.', [('user', 'Hi!')])
    """
    from google.genai import types

    signatures = signatures or {}
    outputs = {i.call_id for i in chat.items if isinstance(i, FunctionCallOutput)}
    calls = {i.call_id: i for i in chat.items if isinstance(i, FunctionCall)}
    system: list[str] = []
    turns: list[tuple[str, list[Any]]] = []

    def add(role: str, part: Any) -> None:
        if turns and turns[-1][0] == role:
            turns[-1][1].append(part)
        else:
            turns.append((role, [part]))

    for item in chat.items:
        if isinstance(item, ChatMessage):
            if item.role == "system":
                if item.text.strip():
                    system.append(item.text)
            elif item.text.strip():
                add("user" if item.role == "user" else "model", types.Part(text=item.text))
        elif isinstance(item, FunctionCall):
            if item.call_id not in outputs:
                continue
            add("model", _call_part(types, item, signatures.get(item.call_id), with_ids))
        elif isinstance(item, FunctionCallOutput) and item.call_id in calls:
            add("user", _response_part(types, item, with_ids))
        # other items (e.g. agent handoff records) are not sent to the model
    contents = [types.Content(role=role, parts=parts) for role, parts in turns]
    return contents, ("\n\n".join(system) or None)


def _call_part(types: Any, call: FunctionCall, signature: bytes | None, with_ids: bool) -> Any:
    try:
        args = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        args = {}
    if not isinstance(args, dict):
        args = {}
    fc = types.FunctionCall(name=call.name, args=args, id=call.call_id if with_ids else None)
    return types.Part(function_call=fc, thought_signature=signature)


def _response_part(types: Any, output: FunctionCallOutput, with_ids: bool) -> Any:
    key = "error" if output.is_error else "output"
    return types.Part(
        function_response=types.FunctionResponse(
            name=output.name,
            response={key: output.output},
            id=output.call_id if with_ids else None,
        )
    )


def to_tools(tools: Sequence[FunctionTool]) -> list[Any]:
    """One Gemini ``Tool`` declaring every function (JSON schema from ``FunctionTool``).

    Returns ``[]`` without tools.
    """
    if not tools:
        return []
    from google.genai import types

    declarations = [
        types.FunctionDeclaration(
            name=tool.name,
            description=tool.description or None,
            parameters_json_schema=_schema(tool),
        )
        for tool in tools
    ]
    return [types.Tool(function_declarations=declarations)]


def _schema(tool: FunctionTool) -> dict[str, Any] | None:
    schema = tool.parameters
    if not schema.get("properties"):
        return None  # a function without parameters
    return schema

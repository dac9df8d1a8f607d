"""Errors of function tools.

::

    VoicegraphError
    └── ToolError                      raise it in a tool: its message goes back to the LLM
        ├── ToolArgumentsError (ValueError)   the LLM's arguments are not valid JSON / schema
        └── ToolTimeoutError (TimeoutError)   the tool ran past its timeout

    Exception
    └── StopResponse                   raise it in a tool: no follow-up reply to its result
                                       (control flow, not an error: not a VoicegraphError)
"""

from __future__ import annotations

from voicegraph.graph import VoicegraphError

__all__ = ["StopResponse", "ToolArgumentsError", "ToolError", "ToolTimeoutError"]


class ToolError(VoicegraphError):
    """A tool failed in a way the LLM should hear about.

    Raise it inside a tool to send a clear message back to the model as an error result
    (``ToolResult(is_error=True, output=str(error))``), as LiveKit's ``ToolError`` does.
    """


class ToolArgumentsError(ToolError, ValueError):
    """The arguments the LLM produced are malformed JSON or do not match the tool's schema."""


class ToolTimeoutError(ToolError, TimeoutError):
    """A tool did not finish within its timeout."""


class StopResponse(Exception):
    """Raise it in a tool to end the reply: the call is recorded, the LLM does not reply to it.

    Control flow, not an error, so it is not a :class:`~voicegraph.graph.VoicegraphError`:
    handlers of voicegraph's errors (the CLI, the worker) never mistake it for a fault.

    As LiveKit's ``StopResponse``: the tool's result (``""``) goes into the chat context as a
    :class:`~voicegraph.nodes.tools.SilentToolResult`; when every result of a tool round is
    silent, the LLM ends its reply instead of generating again.
    """

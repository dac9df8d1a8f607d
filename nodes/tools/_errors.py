"""Errors of function tools.

::

    VoicegraphError
    └── ToolError                      raise it in a tool: its message goes back to the LLM
        ├── ToolArgumentsError (ValueError)   the LLM's arguments are not valid JSON / schema
        └── ToolTimeoutError (TimeoutError)   the tool ran past its timeout
"""

from __future__ import annotations

from voicegraph.graph import VoicegraphError

__all__ = ["ToolArgumentsError", "ToolError", "ToolTimeoutError"]


class ToolError(VoicegraphError):
    """A tool failed in a way the LLM should hear about.

    Raise it inside a tool to send a clear message back to the model as an error result
    (``ToolResult(is_error=True, output=str(error))``), as LiveKit's ``ToolError`` does.
    """


class ToolArgumentsError(ToolError, ValueError):
    """The arguments the LLM produced are malformed JSON or do not match the tool's schema."""


class ToolTimeoutError(ToolError, TimeoutError):
    """A tool did not finish within its timeout."""

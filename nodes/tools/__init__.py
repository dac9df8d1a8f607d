"""Function tools for LLMs and the :class:`ToolExecutor` node that runs them.

>>> from voicegraph.nodes.tools import function_tool
>>> @function_tool
... def add(a: int, b: int = 1) -> int:
...     '''Add two numbers.
...
...     Args:
...         a: The first number.
...         b: The second number.
...     '''
...     return a + b
>>> add.parameters["properties"]["a"]
{'description': 'The first number.', 'type': 'integer'}
"""

from voicegraph.graph import rehome

from ._docstring import Docstring as Docstring
from ._docstring import parse_docstring as parse_docstring
from ._errors import StopResponse as StopResponse
from ._errors import ToolArgumentsError as ToolArgumentsError
from ._errors import ToolError as ToolError
from ._errors import ToolTimeoutError as ToolTimeoutError
from ._executor import ToolExecutor as ToolExecutor
from ._loading import ToolLike as ToolLike
from ._loading import load_tool as load_tool
from ._loading import load_tools as load_tools
from ._loading import resolve_tools as resolve_tools
from ._loading import tool_path as tool_path
from ._results import SilentToolResult as SilentToolResult
from ._tool import DEFAULT_TOOL_TIMEOUT as DEFAULT_TOOL_TIMEOUT
from ._tool import FunctionTool as FunctionTool
from ._tool import error_result as error_result
from ._tool import function_tool as function_tool
from ._tool import is_tool_context as is_tool_context
from ._tool import output_text as output_text

__all__ = [
    "FunctionTool",
    "SilentToolResult",
    "StopResponse",
    "ToolArgumentsError",
    "ToolError",
    "ToolExecutor",
    "ToolLike",
    "ToolTimeoutError",
    "function_tool",
]

rehome(__name__, globals(), __all__)

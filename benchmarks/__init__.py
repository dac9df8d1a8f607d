"""voicegraph's performance suite: ``python -m benchmarks [--quick]``.

Each benchmark lives in its own module and compares voicegraph with raw asyncio and anyio
baselines measured in the same run; see README.md.
"""

from .cli import main as main

__all__ = ["main"]

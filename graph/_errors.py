"""The voicegraph exception tree.

Every error voicegraph raises derives from :class:`VoicegraphError`::

    VoicegraphError
    ├── GraphError (ValueError)          the graph is invalid; lists every problem at once
    ├── ConfigError (ValueError, TypeError)  a setting or argument has a wrong value or type
    ├── InputError (ValueError, TypeError)   input data is unusable (a broken WAV, a wrong rate)
    ├── MissingDependencyError (ImportError)  an optional extra is not installed
    ├── NodeError                        a node raised while running; names node, port, frame
    ├── FrameTypeError (TypeError)       a node emitted a frame its output port does not carry
    ├── UsageError (RuntimeError)        the API was used in the wrong order or state;
    │                                    the message says what to do instead
    ├── RunnerError                      the runner could not run or finish the graph
    │   └── DeadlockError                every task is blocked and no timer is pending
    ├── ProviderError                    a model/cloud provider failed
    │   └── ProviderTimeoutError (TimeoutError)
    └── DeadlineError (TimeoutError)     work ran past its deadline on the run's clock

:func:`leaf_exceptions` flattens an exception group (anyio task groups raise them) into the
errors it holds; :func:`first_error` picks the one to raise.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ._redact import clip

__all__ = [
    "ConfigError",
    "DeadlineError",
    "DeadlockError",
    "FrameTypeError",
    "GraphError",
    "InputError",
    "MissingDependencyError",
    "NodeError",
    "ProviderError",
    "ProviderTimeoutError",
    "RunnerError",
    "UsageError",
    "VoicegraphError",
    "first_error",
    "leaf_exceptions",
]


class VoicegraphError(Exception):
    """Root of every exception voicegraph raises."""


class GraphError(VoicegraphError, ValueError):
    """The graph is invalid. ``problems`` lists every problem found, not just the first."""

    MAX_LISTED = 50
    """Problems the message lists; :attr:`problems` keeps every one."""
    MAX_LINE = 1000
    """Characters of each problem the message shows (longer ones end with ``...``)."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = clip(self.problems[0], self.MAX_LINE)
        else:
            lines = "\n".join(
                f"  - {clip(p, self.MAX_LINE)}" for p in self.problems[: self.MAX_LISTED]
            )
            message = f"the graph has {len(self.problems)} problems:\n{lines}"
            if len(self.problems) > self.MAX_LISTED:
                more = len(self.problems) - self.MAX_LISTED
                message += f"\n  ... and {more} more (all are in GraphError.problems)"
        super().__init__(message)


class ConfigError(VoicegraphError, ValueError, TypeError):
    """A setting or argument is invalid: a wrong value (``ValueError``) or type (``TypeError``)."""


class InputError(VoicegraphError, ValueError, TypeError):
    """Input data cannot be used as given (a truncated WAV, an unsupported encoding, ...)."""


class MissingDependencyError(VoicegraphError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str | None = None, *, what: str | None = None) -> None:
        needed = f" for {what}" if what else ""
        if extra is None:  # part of the default install: the environment is broken
            hint = "it is part of voicegraph's default install; reinstall: pip install voicegraph"
        else:
            hint = f"install it with: pip install 'voicegraph[{extra}]'"
        super().__init__(f"the package {package!r} is needed{needed} but is not installed; {hint}")
        self.package = package
        self.extra = extra


class NodeError(VoicegraphError):
    """A node raised while running.

    Attributes:
        node: the name of the node that failed.
        port: the input port whose frame was being handled, if any.
        frame: a short description of that frame, if any.
    """

    def __init__(
        self,
        node: str,
        error: BaseException,
        *,
        port: str | None = None,
        frame: str | None = None,
    ) -> None:
        where = f"node {node!r}"
        if port is not None:
            where += f" (input port {port!r}"
            where += f", frame {frame})" if frame else ")"
        super().__init__(f"{where} failed: {type(error).__name__}: {error}")
        self.node = node
        self.port = port
        self.frame = frame
        self.error = error


class FrameTypeError(VoicegraphError, TypeError):
    """A node emitted a frame of a type its output port does not carry.

    Raised in the *sending* node (inside its ``emit``), so the run's :class:`NodeError` names
    the node at fault, not the one that would have received the frame.

    Attributes:
        node: the sending node.
        port: the output port.
        expected: the frame type(s) the port carries, as text.
        actual: the type of the frame that was emitted.
    """

    def __init__(self, node: str, port: str, expected: str, actual: type) -> None:
        super().__init__(
            f"node {node!r} emitted a {actual.__name__} on output port {port!r}, which carries "
            f"{expected}: fix the sender, or declare the port with the type it really sends"
        )
        self.node = node
        self.port = port
        self.expected = expected
        self.actual = actual


class UsageError(VoicegraphError, RuntimeError):
    """The API was used in the wrong order or state; the message says what to do instead.

    For example: awaiting a session's reply before ``await session.start(agent)``, or calling a
    node's port methods before the node was added to a graph and run.
    """


class RunnerError(VoicegraphError):
    """The runner could not run or finish the graph."""


class DeadlockError(RunnerError):
    """Every task is blocked, nothing is pending on the clock, and the graph has not finished."""


class ProviderError(VoicegraphError):
    """A model or cloud provider failed. The message names the provider and, where known, status.

    Attributes:
        provider: who failed, e.g. ``"gemini"``.
        status: the HTTP status, if any.
        retry_after: seconds the provider asked to wait before retrying (``Retry-After``).
    """

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        status_text = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{provider}{status_text}: {message}")
        self.provider = provider
        self.status = status
        self.retry_after = retry_after


class ProviderTimeoutError(ProviderError, TimeoutError):
    """A provider did not answer in time."""


class DeadlineError(VoicegraphError, TimeoutError):
    """Work did not finish before its deadline; raised by :func:`~voicegraph.graph.deadline`."""


def leaf_exceptions(error: BaseException) -> list[BaseException]:
    """The exceptions inside ``error`` and its nested exception groups, in order.

    An error that is not a group is its own only leaf, so callers need no ``isinstance``.

    >>> group = ExceptionGroup("tasks", [ValueError("a"), ExceptionGroup("inner", [KeyError("b")])])
    >>> [type(e).__name__ for e in leaf_exceptions(group)]
    ['ValueError', 'KeyError']
    """
    return list(_leaves(error))


def first_error(error: BaseException) -> BaseException:
    """The error to raise for a task group's failure: its first leaf that is an ``Exception``.

    Cancellations (and ``KeyboardInterrupt`` etc.) are passed over; if there is nothing else,
    ``error`` itself is returned, so ``raise first_error(group) from None`` never loses one.
    The group's other ``Exception`` leaves are noted on it (``also failed: ...``), so a second
    fault is never hidden by the first.

    >>> error = first_error(ExceptionGroup("tasks", [KeyError("k"), ValueError("v")]))
    >>> error, error.__notes__
    (KeyError('k'), ['also failed: ValueError: v'])
    """
    leaves = [e for e in _leaves(error) if isinstance(e, Exception)]
    if not leaves:
        return error
    first = leaves[0]
    for other in leaves[1:]:
        note = f"also failed: {type(other).__name__}: {other}"
        if note not in getattr(first, "__notes__", ()):
            first.add_note(note)
    return first


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error

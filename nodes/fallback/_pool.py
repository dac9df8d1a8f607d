"""What the fallback nodes share: provider availability, background recovery, attempt timeouts.

Behaviour follows LiveKit's ``FallbackAdapter``: providers are tried in order; one that fails
(an error or no answer within ``attempt_timeout``) is marked unavailable and the next one
serves; an unavailable provider is retried *in the background* (the failed request is sent
to it again and its answer discarded) and serves again as soon as a retry succeeds. Retries
back off exponentially from ``retry_interval`` up to ``max_retry_interval``, and never come
sooner than a ``Retry-After`` the provider sent (``error.retry_after``). When every provider
is unavailable, all are tried again, in order, for each request.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import anyio
import anyio.abc
from pydantic import Field

from voicegraph.graph import (
    Clock,
    ConfigError,
    Node,
    NodeConfig,
    ProviderError,
    ProviderTimeoutError,
)
from voicegraph.nodes._engine import adopt

__all__ = [
    "AvailabilityChanged",
    "FallbackConfig",
    "FallbackMixin",
    "ProviderStatus",
    "timed",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AvailabilityChanged:
    """A provider became unavailable (it failed) or available again (a retry succeeded).

    Attributes:
        provider: the provider's index in the fallback order.
        name: the provider node's class name.
        available: its new state.
        at: clock time of the change.
        error: why it failed (empty when it recovered).
    """

    provider: int
    name: str
    available: bool
    at: float
    error: str = ""


@dataclass(slots=True)
class ProviderStatus:
    """The state of one provider.

    Attributes:
        available: whether requests go to it.
        failures: consecutive failures (drives the backoff); 0 once it works again.
        retry_at: clock time of its next background retry (while unavailable).
        last_error: the last failure, as text.
    """

    available: bool = True
    failures: int = 0
    retry_at: float = 0.0
    last_error: str = ""


class FallbackConfig(NodeConfig):
    """Settings shared by the fallback nodes (mixed into each node's ``Config``).

    Attributes:
        attempt_timeout: seconds a provider may take (per streamed chunk for the LLM, per
            call for STT and TTS) before it counts as failed.
        retry_interval: seconds before the first background retry of a failed provider.
        max_retry_interval: the longest wait between retries (default 30).
    """

    attempt_timeout: float = Field(5.0, gt=0.0)
    retry_interval: float = Field(0.5, ge=0.0)
    max_retry_interval: float = Field(30.0, ge=0.0)


def retry_after_of(error: BaseException) -> float | None:
    """The delay a provider asked for (``error.retry_after``, set from ``Retry-After``)."""
    value = getattr(error, "retry_after", None)  # ProviderError.retry_after, or alike
    return float(value) if isinstance(value, int | float) and value >= 0 else None


def describe(error: BaseException) -> str:
    """A one-line description of a failure."""
    return str(error) if isinstance(error, ProviderError) else f"{type(error).__name__}: {error}"


async def timed(clock: Clock, seconds: float, work: Awaitable[T], what: str) -> T:
    """Await ``work``; raise :class:`ProviderTimeoutError` after ``seconds`` on ``clock``.

    The time is measured on the run's clock, so scripted providers are deterministic under a
    ``VirtualClock``. (A cloud provider's network wait is invisible to the virtual clock: run
    graphs with cloud providers on the ``RealClock``.) The work runs in the calling task and
    is cancelled on timeout.
    """
    result: list[T] = []
    error: BaseException | None = None
    timed_out = False
    async with anyio.create_task_group() as tg:

        async def watchdog() -> None:
            nonlocal timed_out
            await clock.sleep(seconds)
            timed_out = True
            tg.cancel_scope.cancel()

        tg.start_soon(watchdog)
        try:
            result.append(await work)
        except Exception as exc:  # re-raised outside the task group (no ExceptionGroup)
            error = exc
        tg.cancel_scope.cancel()
    if timed_out and not result and error is None:
        raise ProviderTimeoutError("fallback", f"{what} gave no answer within {seconds:g} s")
    if error is not None:
        raise error
    return result[0]


class FallbackMixin(Node):
    """Runs a fallback node: owns its providers, their status and the recovery tasks.

    Subclasses (:class:`FallbackLLM`, :class:`FallbackSTT`, :class:`FallbackTTS`) set
    ``providers`` and call :meth:`_failed` / :meth:`_succeeded` around each attempt.

    Attributes:
        providers: the provider nodes, in order of preference.
        status: one :class:`ProviderStatus` per provider.
        changes: availability changes, oldest first (the last 1000), like LiveKit's
            ``*_availability_changed`` events.
    """

    kind_name: ClassVar[str] = "provider"
    providers: list[Any]

    def _init_pool(self, providers: Sequence[Any], expected: type) -> None:
        if not providers:
            raise ConfigError(f"{type(self).__name__} needs at least one provider")
        for provider in providers:
            if not isinstance(provider, expected):
                raise ConfigError(
                    f"{type(self).__name__}: every provider must be a {expected.__name__}, "
                    f"got {type(provider).__name__}"
                )
        self.providers = list(providers)
        self.status = [ProviderStatus() for _ in self.providers]
        self.changes: deque[AvailabilityChanged] = deque(maxlen=1000)
        self._probes: dict[int, Callable[[], Awaitable[Any]]] = {}
        self._probing: set[int] = set()
        self._tg: anyio.abc.TaskGroup | None = None

    @property
    def fallback_config(self) -> FallbackConfig:
        config = self.config
        assert isinstance(config, FallbackConfig)
        return config

    # ------------------------------------------------------------------ lifecycle

    async def setup(self) -> None:
        """Set up the node itself, then attach and set up every provider (in order)."""
        await super().setup()
        for index, provider in enumerate(self.providers):
            adopt(provider, self, f"{self.name}[{index}]")
            await provider.setup()

    async def close(self) -> None:
        """Close every provider, then the node itself."""
        for provider in self.providers:
            try:
                await provider.close()
            except Exception:
                log.exception("%s: closing %s failed", self.name, provider.name)
        await super().close()

    async def run(self) -> None:
        """Dispatch inputs to the ``on_<port>`` handlers; run recovery probes alongside."""
        try:
            await self._run_with_probes()
        except BaseExceptionGroup as group:  # raise the handler's error itself
            errors = [e for e in _leaves(group) if isinstance(e, Exception)]
            if not errors:
                raise
            raise errors[0] from None

    async def _run_with_probes(self) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            self._probing.clear()
            for index in list(self._probes):  # probes cut off by an interrupt start again
                self._start_probe(index)
            try:
                async for port, frame in self.frames():
                    handler = self.handler_for(port)
                    if handler is not None:
                        await handler(frame)
            finally:
                self._tg = None
                tg.cancel_scope.cancel()

    def order(self) -> list[int]:
        """Provider indices to try: the available ones in order; all of them if none is."""
        available = [i for i, s in enumerate(self.status) if s.available]
        if not available:
            log.warning("%s: every %s is unavailable; trying them all", self.name, self.kind_name)
            return list(range(len(self.providers)))
        return available

    # ------------------------------------------------------------------ bookkeeping

    def _failed(
        self, index: int, error: BaseException, probe: Callable[[], Awaitable[Any]]
    ) -> None:
        """Mark provider ``index`` unavailable and schedule its background retry."""
        status = self._backoff(index, error)
        name = type(self.providers[index]).__name__
        if status.available:
            status.available = False
            self.changes.append(
                AvailabilityChanged(index, name, False, self.clock.now(), status.last_error)
            )
            log.warning("%s: %s %d (%s) failed: %s", self.name, self.kind_name, index, name,
                        status.last_error)  # fmt: skip
        self._probes[index] = probe
        self._start_probe(index)

    def _succeeded(self, index: int) -> None:
        """Provider ``index`` answered: it is available again."""
        status = self.status[index]
        status.failures = 0
        self._probes.pop(index, None)
        if not status.available:
            status.available = True
            name = type(self.providers[index]).__name__
            self.changes.append(AvailabilityChanged(index, name, True, self.clock.now()))
            log.info("%s: %s %d (%s) is available again", self.name, self.kind_name, index, name)

    def _start_probe(self, index: int) -> None:
        if self._tg is not None and index not in self._probing and index in self._probes:
            self._probing.add(index)
            self._tg.start_soon(self._recover, index)

    async def _recover(self, index: int) -> None:
        status = self.status[index]
        try:
            while not status.available and index in self._probes:
                await self.clock.sleep_until(status.retry_at)
                if status.available:
                    break
                probe = self._probes[index]
                try:
                    await timed(self.clock, self.fallback_config.attempt_timeout, probe(), "retry")
                except Exception as exc:
                    self._failed_again(index, exc)
                else:
                    self._succeeded(index)
        finally:
            self._probing.discard(index)

    def _backoff(self, index: int, error: BaseException) -> ProviderStatus:
        """Count a failure; the next retry comes after the backoff, or the Retry-After."""
        status = self.status[index]
        cfg = self.fallback_config
        status.failures += 1
        status.last_error = describe(error)
        backoff = min(cfg.retry_interval * 2 ** (status.failures - 1), cfg.max_retry_interval)
        status.retry_at = self.clock.now() + max(backoff, retry_after_of(error) or 0.0)
        return status

    def _failed_again(self, index: int, error: BaseException) -> None:
        status = self._backoff(index, error)
        log.info("%s: retrying %s %d failed: %s", self.name, self.kind_name, index,
                 status.last_error)  # fmt: skip

    def _all_failed(self, errors: list[str]) -> ProviderError:
        listing = "; ".join(errors)
        return ProviderError(
            "fallback", f"every {self.kind_name} failed ({len(errors)} tried): {listing}"
        )


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for e in error.exceptions for leaf in _leaves(e)]
    return [error]

"""What the fallback engines share: providers, their availability, and background recovery.

Behaviour follows LiveKit's ``FallbackAdapter``: providers are tried in order; one that fails
(an error or no answer within ``attempt_timeout``) is marked unavailable and the next one
serves; an unavailable provider is retried *in the background* (the failed request is sent
to it again and its answer discarded) and serves again as soon as a retry succeeds. Retries
back off exponentially from ``retry_interval`` up to ``max_retry_interval``, and never come
sooner than a ``Retry-After`` the provider sent (``error.retry_after``). When every provider
is unavailable, all are tried again, in order, for each request.

**Where the background retries run.** An engine has no task of its own, so the retries run
in :meth:`FallbackEngine.background`, the optional :class:`~voicegraph.graph.Engine` method
that runs beside the host node while it runs: every host's ``EngineSlot`` starts it (with
``Node.run_in_background``) when it first enters the engine, and the run's end cancels it,
so hosts need no code of their own. It waits for failures, retries each failed provider on
its backoff schedule, and runs the providers' own ``background()`` too (a fallback of
fallbacks). Several hosts may run it at once (one engine shared by several hosts): each
failed provider is retried by one of them, and picked up by another if that one stops. While
*no* host runs it (an engine used on its own, ``async with FallbackLLM(...) as llm``), nothing
runs between requests: a failed provider is instead tried again, in its place in the order,
by the first request after its retry time, and is available again if that request succeeds.

The providers are engines entered (``async with``) when the fallback engine starts and exited
when it closes; they run on the clock the host binds to the fallback engine.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import anyio
import anyio.abc

from voicegraph.graph import Clock, ConfigError, Engine, NodeConfig, ProviderError

from ._status import AvailabilityChanged, FallbackConfig, ProviderStatus, describe, retry_after_of
from ._timed import timed

__all__ = ["FallbackEngine", "Probe"]

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Engine)

Probe = Callable[[], Awaitable[Any]]
"""A background retry: sends a failed request to its provider again (the answer is dropped)."""


class FallbackEngine(Engine, Generic[E]):
    """Base of the fallback engines: owns the providers, their status and the recovery.

    Subclasses (:class:`FallbackLLM`, :class:`FallbackSTT`, :class:`FallbackTTS`) also derive
    from their stage's engine interface, set :attr:`provider_kind` to it, and call
    :meth:`order`, :meth:`failed` and :meth:`succeeded` around each attempt.

    Args:
        providers: the engines to try, in order of preference (at least one, each a
            :attr:`provider_kind`).

    Attributes:
        providers: the provider engines, in order of preference.
        status: one :class:`ProviderStatus` per provider.
        changes: availability changes, oldest first (the last 1000), like LiveKit's
            ``*_availability_changed`` events.
    """

    provider_kind: ClassVar[type[Engine]] = Engine

    def __init__(
        self, config: NodeConfig | None = None, /, *, providers: Sequence[E], **settings: Any
    ) -> None:
        super().__init__(config, **settings)
        name, kind = type(self).__name__, self.provider_kind
        if not providers:
            raise ConfigError(f"{name} needs at least one provider")
        for provider in providers:
            if not isinstance(provider, kind):
                raise ConfigError(
                    f"{name}: every provider must be a {kind.__name__}, "
                    f"got {type(provider).__name__}"
                )
        self.providers: list[E] = list(providers)
        self.status = [ProviderStatus() for _ in self.providers]
        self.changes: deque[AvailabilityChanged] = deque(maxlen=1000)
        self._probes: dict[int, Probe] = {}
        self._probing: set[int] = set()
        self._wakers: list[anyio.Event] = []
        self._entered: list[E] = []

    @property
    def fallback_config(self) -> FallbackConfig:
        """The fallback settings (every subclass's ``Config`` is a :class:`FallbackConfig`)."""
        config = self.config
        assert isinstance(config, FallbackConfig)
        return config

    # ------------------------------------------------------------------ engine

    def parts(self) -> Mapping[str, Engine | Sequence[Engine]]:
        """``{"providers": [...]}``: graph files store the providers (type and config)."""
        return {"providers": list(self.providers)}

    def label(self) -> str:
        """E.g. ``"FallbackLLM(GeminiLLM, LlamaLLM)"``."""
        inner = ", ".join(provider.label() for provider in self.providers)
        return f"{type(self).__name__}({inner})"

    def bind(self, clock: Clock) -> None:
        """Use ``clock`` here and in every provider (attempt timeouts and retries use it)."""
        super().bind(clock)
        for provider in self.providers:
            provider.bind(clock)

    async def start(self) -> None:
        """Enter every provider, in order, on this engine's clock."""
        self.bind(self.clock)
        try:
            for provider in self.providers:
                await provider.__aenter__()
                self._entered.append(provider)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Exit every provider entered by :meth:`start`, last first (errors are logged)."""
        entered, self._entered = self._entered, []
        for provider in reversed(entered):
            try:
                await provider.__aexit__(None, None, None)
            except Exception:
                log.exception("%s: closing %s failed", self.label(), provider.label())

    async def background(self) -> None:
        """Retry failed providers until cancelled (see the module docs); hosts run this."""
        async with anyio.create_task_group() as tg:
            for provider in self.providers:
                tg.start_soon(provider.background)
            while True:
                waker = anyio.Event()
                self._wakers.append(waker)
                try:
                    for index in list(self._probes):
                        if index not in self._probing:
                            self._probing.add(index)
                            tg.start_soon(self._recover, index)
                    await waker.wait()
                finally:
                    self._wakers.remove(waker)

    # ------------------------------------------------------------------ bookkeeping

    def order(self) -> list[int]:
        """Provider indices to try: the available ones in order; all of them if none is.

        While no host runs :meth:`background`, a failed provider whose retry time has come
        is tried in its place too.
        """
        now, alone = self.clock.now(), not self._wakers
        chosen = [
            i for i, s in enumerate(self.status) if s.available or (alone and s.retry_at <= now)
        ]
        if not chosen:
            log.warning("%s: every %s is unavailable; trying them all", self.label(), self.kind)
            return list(range(len(self.providers)))
        return chosen

    def failed(self, index: int, error: BaseException, probe: Probe) -> None:
        """Provider ``index`` failed: mark it unavailable and schedule ``probe`` to retry it."""
        status = self._backoff(index, error)
        if status.available:
            status.available = False
            name = self.providers[index].label()
            self.changes.append(
                AvailabilityChanged(index, name, False, self.clock.now(), status.last_error)
            )
            log.warning("%s: %s %d (%s) failed: %s", self.label(), self.kind, index, name,
                        status.last_error)  # fmt: skip
        self._probes[index] = probe
        self._wake()

    def succeeded(self, index: int) -> None:
        """Provider ``index`` answered: it is available again."""
        status = self.status[index]
        status.failures = 0
        self._probes.pop(index, None)
        if not status.available:
            status.available = True
            name = self.providers[index].label()
            self.changes.append(AvailabilityChanged(index, name, True, self.clock.now()))
            log.info("%s: %s %d (%s) is available again", self.label(), self.kind, index, name)

    def all_failed(self, errors: list[str]) -> ProviderError:
        """The error for a request no provider could serve (``errors``: one line each)."""
        listing = "; ".join(errors)
        return ProviderError(
            "fallback", f"every {self.kind} failed ({len(errors)} tried): {listing}"
        )

    # ------------------------------------------------------------------ recovery

    def _wake(self) -> None:
        for waker in self._wakers:
            waker.set()

    async def _recover(self, index: int) -> None:
        status = self.status[index]
        try:
            while not status.available and index in self._probes:
                await self.clock.sleep_until(status.retry_at)
                if status.available or index not in self._probes:
                    break
                probe = self._probes[index]
                try:
                    timeout = self.fallback_config.attempt_timeout
                    await timed(self.clock, timeout, probe(), "retry")
                except Exception as exc:
                    status = self._backoff(index, exc)
                    log.info("%s: retrying %s %d failed: %s", self.label(), self.kind, index,
                             status.last_error)  # fmt: skip
                else:
                    self.succeeded(index)
        finally:
            self._probing.discard(index)
            self._wake()  # a retry cut off here is picked up by another host still running

    def _backoff(self, index: int, error: BaseException) -> ProviderStatus:
        """Count a failure; the next retry comes after the backoff, or the Retry-After."""
        status = self.status[index]
        cfg = self.fallback_config
        status.failures += 1
        status.last_error = describe(error)
        backoff = min(cfg.retry_interval * 2 ** (status.failures - 1), cfg.max_retry_interval)
        status.retry_at = self.clock.now() + max(backoff, retry_after_of(error) or 0.0)
        return status

"""The state a fallback engine keeps per provider, and its settings."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from voicegraph.graph import NodeConfig, ProviderError

__all__ = ["AvailabilityChanged", "FallbackConfig", "ProviderStatus", "describe", "retry_after_of"]


@dataclass(frozen=True, slots=True)
class AvailabilityChanged:
    """A provider became unavailable (it failed) or available again (a retry succeeded).

    Attributes:
        provider: the provider's index in the fallback order.
        name: the provider engine's label (its class name).
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
        retry_at: clock time of its next retry (while unavailable).
        last_error: the last failure, as text.
    """

    available: bool = True
    failures: int = 0
    retry_at: float = 0.0
    last_error: str = ""


class FallbackConfig(NodeConfig):
    """Settings shared by the fallback engines (mixed into each one's ``Config``).

    Attributes:
        attempt_timeout: seconds a provider may take (per streamed chunk for the LLM, per
            call for STT and TTS) before it counts as failed.
        retry_interval: seconds before the first retry of a failed provider.
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

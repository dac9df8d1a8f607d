"""deadline(): a time limit on the run's clock (virtual and real), and leaf_exceptions()."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from voicegraph.graph import (
    ConfigError,
    DeadlineError,
    RealClock,
    VoicegraphError,
    deadline,
    first_error,
    leaf_exceptions,
)
from voicegraph.runner import VirtualClock


def virtual(main: Callable[[VirtualClock], Awaitable[Any]]) -> Any:
    async def driven() -> Any:
        clock = VirtualClock()
        async with clock.running():
            return await main(clock)

    return anyio.run(driven)


def test_work_that_finishes_in_time_is_untouched() -> None:
    async def main(clock: VirtualClock) -> tuple[str, float, float]:
        async with deadline(clock, 5.0) as limit:
            await clock.sleep(2.0)
            left = limit.remaining
        return "done", clock.now(), left

    assert virtual(main) == ("done", 2.0, 3.0)


def test_slow_work_is_cancelled_at_the_deadline_in_virtual_time() -> None:
    cleaned: list[float] = []

    async def main(clock: VirtualClock) -> None:
        try:
            async with deadline(clock, 1.5) as limit:
                try:
                    await clock.sleep(3600.0)
                finally:
                    cleaned.append(clock.now())
        finally:
            assert limit.expired

    with pytest.raises(DeadlineError, match=r"within 1\.5 s") as info:
        virtual(main)
    assert isinstance(info.value, VoicegraphError) and isinstance(info.value, TimeoutError)
    assert cleaned == [1.5]  # the body saw its cancellation at exactly the limit


def test_the_caller_chooses_the_error() -> None:
    async def main(clock: VirtualClock) -> None:
        async with deadline(clock, 1.0, error=lambda: LookupError("slow tool")):
            await clock.sleep(2.0)

    with pytest.raises(LookupError, match="slow tool"):
        virtual(main)


@pytest.mark.parametrize("clock_kind", ["virtual", "real"])
def test_the_blocks_own_error_propagates_unwrapped(clock_kind: str) -> None:
    async def main(clock: Any) -> None:
        async with deadline(clock, 10.0):
            await clock.sleep(0.001)
            raise KeyError("from the body")

    with pytest.raises(KeyError, match="from the body") as info:
        if clock_kind == "virtual":
            virtual(main)
        else:
            anyio.run(main, RealClock())
    assert not isinstance(info.value, BaseExceptionGroup)


def test_an_error_raised_while_being_cancelled_is_not_replaced_by_the_timeout() -> None:
    async def main(clock: VirtualClock) -> None:
        async with deadline(clock, 1.0):
            try:
                await clock.sleep(2.0)
            finally:
                raise ValueError("cleanup failed")

    with pytest.raises(ValueError, match="cleanup failed"):
        virtual(main)


def test_a_cancellation_from_outside_is_not_a_timeout() -> None:
    async def main(clock: VirtualClock) -> tuple[bool, float]:
        with anyio.CancelScope() as outer:

            async def cancel_soon() -> None:
                await clock.sleep(1.0)
                outer.cancel()

            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_soon)
                async with deadline(clock, 5.0):
                    await clock.sleep(10.0)
        return outer.cancelled_caught, clock.now()

    assert virtual(main) == (True, 1.0)


def test_paused_time_does_not_count() -> None:
    async def main(clock: VirtualClock) -> float:
        async with deadline(clock, 2.0) as limit:
            await clock.sleep(1.0)
            with limit.paused():
                await clock.sleep(10.0)  # e.g. waiting for the user: not the tool's time
                assert limit.remaining == 1.0
            await clock.sleep(0.9)
        return clock.now()

    assert virtual(main) == pytest.approx(11.9)


def test_the_deadline_still_holds_after_a_pause() -> None:
    async def main(clock: VirtualClock) -> None:
        async with deadline(clock, 2.0) as limit:
            with limit.paused():
                await clock.sleep(5.0)
            await clock.sleep(5.0)

    moments: list[float] = []

    async def timed(clock: VirtualClock) -> None:
        try:
            await main(clock)
        finally:
            moments.append(clock.now())

    with pytest.raises(DeadlineError):
        virtual(timed)
    assert moments == [7.0]


def test_a_clock_that_cannot_sleep_fails_loudly_instead_of_hanging() -> None:
    class Broken(VirtualClock):
        async def sleep(self, seconds: float) -> None:
            raise RuntimeError("clock is broken")

    async def main() -> None:
        clock = Broken()
        async with clock.running(), deadline(clock, 1.0):
            await anyio.sleep_forever()

    with pytest.raises(RuntimeError, match="clock is broken"):
        anyio.run(main)


def test_real_clock_deadline_expires_and_can_pause() -> None:
    async def slow() -> None:
        clock = RealClock()
        async with deadline(clock, 0.01):
            await clock.sleep(30.0)

    with pytest.raises(DeadlineError):
        anyio.run(slow)

    async def paused() -> str:
        clock = RealClock()
        async with deadline(clock, 0.05) as limit:
            with limit.paused():
                await clock.sleep(0.1)
            await clock.sleep(0.01)
        return "in time"

    assert anyio.run(paused) == "in time"


def test_no_limit_and_bad_limits() -> None:
    async def main(clock: VirtualClock) -> float:
        async with deadline(clock, None) as limit:
            await clock.sleep(1e6)
        assert limit.remaining == math.inf and not limit.expired
        return clock.now()

    assert virtual(main) == 1e6

    async def nan(clock: VirtualClock) -> None:
        async with deadline(clock, math.nan):
            pass

    with pytest.raises(ConfigError, match="NaN"):
        virtual(nan)


def test_zero_seconds_cancels_at_the_first_wait() -> None:
    async def main(clock: VirtualClock) -> None:
        async with deadline(clock, 0.0):
            await clock.sleep(1.0)

    with pytest.raises(DeadlineError):
        virtual(main)


def test_leaf_exceptions_flattens_nested_groups_in_order() -> None:
    a, b, c = ValueError("a"), KeyError("b"), KeyboardInterrupt()
    group = BaseExceptionGroup("outer", [a, BaseExceptionGroup("inner", [b, c])])
    assert leaf_exceptions(group) == [a, b, c]
    assert leaf_exceptions(a) == [a]


def test_first_error_passes_over_cancellations_and_never_loses_the_group() -> None:
    cancelled = asyncio.CancelledError
    wanted = KeyError("k")
    group = BaseExceptionGroup("outer", [cancelled(), BaseExceptionGroup("in", [wanted])])
    assert first_error(group) is wanted
    only_cancelled = BaseExceptionGroup("outer", [cancelled(), KeyboardInterrupt()])
    assert first_error(only_cancelled) is only_cancelled
    plain = ValueError("v")
    assert first_error(plain) is plain

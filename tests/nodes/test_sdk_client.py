"""SDKClient: ``async with`` closes the HTTP client under the SDK client."""

from __future__ import annotations

from voicegraph.nodes._http import SDKClient


class Http:
    def __init__(self) -> None:
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


async def test_leaving_async_with_closes_the_http_client() -> None:
    made: list[Http] = []

    def make() -> tuple[str, Http]:
        made.append(Http())
        return "sdk", made[-1]

    async with SDKClient(make) as sdk:
        assert not made  # made on first use, not on entry
        assert sdk.client == "sdk" and sdk.is_open
    assert not sdk.is_open and [h.closed for h in made] == [1]
    async with sdk:  # entered again: a new pair, closed again
        assert sdk.client == "sdk"
    assert [h.closed for h in made] == [1, 1]


async def test_async_with_on_an_unused_client_makes_nothing() -> None:
    made: list[Http] = []
    async with SDKClient(lambda: ("sdk", made.append(Http()) or made[-1])) as sdk:
        pass
    assert not made and not sdk.is_open

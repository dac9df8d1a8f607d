"""The playground page in headless Chromium (Debian's ``chromium``, driven by Playwright),
with a fake microphone playing a bundled sample: the transcript, the agent's reply, its
audio played, the live diagram, and barge-in.

The agent is the scripted test agent (scripted STT/LLM/TTS, real Silero VAD) so that the
tests are quick; the embedded models run in ``tests/e2e``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from voicegraph.nodes.samples import sample_path
from voicegraph.playground import PlaygroundServer, agent_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip(
    "playwright.async_api",
    reason="the browser tests need Playwright: pip install 'voicegraph[dev]'",
)
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="the browser tests need Debian's chromium: apt-get install chromium",
)

AGENT = str(Path(__file__).with_name("scripted_agent.py"))


def chromium_args(wav: Path) -> list[str]:
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        "--autoplay-policy=no-user-gesture-required",
    ]


async def open_page(wav: Path) -> AsyncIterator[tuple[Any, PlaygroundServer]]:
    server = PlaygroundServer(agent_server(AGENT))
    port = await server.start("127.0.0.1", 0)
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=chromium_args(wav)
        )
        try:
            page = await browser.new_page()
            await page.goto(f"http://127.0.0.1:{port}/")
            yield page, server
        finally:
            await browser.close()
            await server.close()


@pytest.fixture
async def question_page() -> AsyncIterator[tuple[Any, PlaygroundServer]]:
    async for opened in open_page(sample_path("question")):
        yield opened


@pytest.fixture
async def barge_in_page() -> AsyncIterator[tuple[Any, PlaygroundServer]]:
    async for opened in open_page(sample_path("barge_in")):
        yield opened


async def test_the_page_talks_with_the_agent(question_page: tuple[Any, PlaygroundServer]) -> None:
    page, server = question_page
    await page.click("#talk")
    user = page.locator("#transcript li.user:not(.interim)").first
    await user.wait_for(timeout=20_000)
    assert await user.locator(".text").inner_text() == "What is the capital of France?"
    await page.wait_for_function("window.voicegraph.state === 'speaking'", timeout=10_000)
    await page.wait_for_function(
        "window.voicegraph.framesReceived > 20 && window.voicegraph.samplesPlayed > 24000",
        timeout=10_000,
    )  # at least a second of the agent's voice went through the player
    reply = page.locator("#transcript li.agent:not(.interim)").first
    await reply.wait_for(timeout=20_000)
    assert (await reply.locator(".text").inner_text()).startswith("Paris is the capital")
    assert "interrupted" not in (await reply.get_attribute("class") or "")
    # while it played, the reply's words appeared as each part was heard (the first clause)
    live = await page.evaluate("window.voicegraph.agentLive")
    assert live and live[0] == "Paris is the capital of France,", live
    await page.wait_for_function("window.voicegraph.diagramUpdates >= 2", timeout=10_000)
    assert await page.locator("#diagram svg").count() == 1
    svg = await page.locator("#diagram").inner_html()
    assert "stt" in svg and "tts" in svg
    await page.wait_for_function("window.voicegraph.timelines >= 1", timeout=20_000)
    assert (await page.get_attribute("#timeline", "src") or "").startswith("data:image/png")
    stats = await page.evaluate("window.voicegraph")
    assert stats["framesSent"] > 100  # the fake microphone's frames reached the server
    (bridge,) = server.sessions.values()
    assert bridge is not None and bridge.frames_in > 100


async def test_barge_in_stops_the_agent_and_marks_the_reply(
    barge_in_page: tuple[Any, PlaygroundServer],
) -> None:
    page, _ = barge_in_page
    await page.click("#talk")
    await page.wait_for_function("window.voicegraph.state === 'speaking'", timeout=20_000)
    await page.wait_for_function("window.voicegraph.flushes >= 1", timeout=20_000)
    reply = page.locator("#transcript li.agent.interrupted").first
    await reply.wait_for(timeout=10_000)
    played_at_cut = await page.evaluate("window.voicegraph.samplesPlayed")
    heard = await reply.locator(".text").inner_text()
    assert heard and "Eiffel Tower" not in heard  # cut off before the end of the reply
    second = page.locator("#transcript li.user:not(.interim)").nth(1)
    await second.wait_for(timeout=10_000)
    assert await second.locator(".text").inner_text() == "Wait, stop. Tell me about Paris instead."
    # from the cut to the user's next words being transcribed, the agent has nothing new to
    # say (its next reply needs them), so the old reply's queued audio must not play on:
    # at most one render quantum of the player (128 samples) plus what was in flight (0.1 s)
    assert await page.evaluate("window.voicegraph.samplesPlayed") - played_at_cut < 2400

"""Drive the real playground page in headless Chromium and save docs/images/playground.png.

    python scripts/make_playground_screenshots.py              # the embedded models (~1 min)
    python scripts/make_playground_screenshots.py --scripted   # the scripted test agent

Needs Debian's chromium (``apt-get install chromium``) and Playwright (``pip install
'voicegraph[dev]'``; no ``playwright install``: the system browser is used). The fake
microphone plays the bundled question; the screenshot is taken once the agent has answered
and the timeline is drawn.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path

from playwright.async_api import async_playwright

from voicegraph.nodes.samples import sample_path
from voicegraph.playground import PlaygroundServer, agent_server

ROOT = Path(__file__).resolve().parents[1]
SCRIPTED = ROOT / "tests" / "playground" / "scripted_agent.py"


async def shoot(output: Path, *, embedded: bool, timeout: float) -> None:
    server = PlaygroundServer(agent_server(None if embedded else str(SCRIPTED)))
    port = await server.start("127.0.0.1", 0)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={sample_path('question')}%noloop",
    ]
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=args)
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            await page.goto(f"http://127.0.0.1:{port}/")
            await page.click("#talk")
            ms = timeout * 1000
            await page.wait_for_selector("#transcript li.agent:not(.interim)", timeout=ms)
            await page.wait_for_function("window.voicegraph.timelines >= 1", timeout=ms)
            await page.wait_for_timeout(1200)  # one more diagram update
            output.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(output), full_page=True)
            await browser.close()
    finally:
        await server.close()
    print(f"wrote {output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scripted", action="store_true", help="the scripted test agent")
    parser.add_argument("--output", type=Path, default=ROOT / "docs/images/playground.png")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait")
    options = parser.parse_args()
    asyncio.run(shoot(options.output, embedded=not options.scripted, timeout=options.timeout))


if __name__ == "__main__":
    main()

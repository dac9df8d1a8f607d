"""The playground server over real WebSockets on 127.0.0.1: sessions are independent and
freed when closed, a live session id is not shared, bad input gets a clear close code and
reason while other sessions go on, and a token guards a server that asks for one."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import numpy as np
import pytest

from voicegraph.graph import ConfigError
from voicegraph.playground import PlaygroundServer, agent_server, is_loopback

Playground = tuple[PlaygroundServer, str]
AGENT = str(Path(__file__).with_name("scripted_agent.py"))


def start_message(rate: int = 16000) -> str:
    return json.dumps({"type": "start", "sample_rate": rate})


async def next_event(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next JSON event of ``kind`` (skipping audio and other events)."""
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            data: dict[str, Any] = json.loads(message.data)
            if data["type"] == kind:
                return data
    raise AssertionError(f"the socket closed before a {kind!r} event ({ws.close_code})")


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str]:
    """The close code and reason the server sent (audio and events before it skipped)."""
    with anyio.fail_after(10):
        while True:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.CLOSE:
                return ws.close_code, message.extra or ""
            if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return ws.close_code, ""


def agent_session(server: PlaygroundServer, session_id: str) -> Any:
    bridge = server.sessions.get(session_id)
    return None if bridge is None else bridge.agent_session


async def drop_cancelled_timers() -> None:
    """Make asyncio drop its cancelled timers now rather than at their deadlines.

    A cancelled timer keeps the context it was scheduled in (here: the job's context, which
    references the job and its session) until the loop drops it: at its deadline, or at once
    when cancelled timers are more than half of a heap of over 100. Tip the balance.
    """
    loop = asyncio.get_running_loop()
    for handle in [loop.call_later(3600, lambda: None) for _ in range(500)]:
        handle.cancel()
    await anyio.sleep(0.05)


async def wait_until(condition: Any, seconds: float = 10.0) -> None:
    with anyio.fail_after(seconds):
        while not condition():
            await anyio.sleep(0.02)


async def test_two_tabs_are_two_sessions_each_with_its_own_graph(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    server, url = playground
    async with (
        http.ws_connect(f"{url}/ws?session=one") as one,
        http.ws_connect(f"{url}/ws?session=two") as two,
    ):
        await one.send_str(start_message())
        await two.send_str(start_message(48000))
        assert (await next_event(one, "ready"))["session"] == "one"
        assert (await next_event(two, "ready"))["sample_rate"] == 24000
        assert set(server.sessions) == {"one", "two"}
        a, b = server.sessions["one"], server.sessions["two"]
        assert a is not None and b is not None
        await wait_until(lambda: a.agent_session is not None and b.agent_session is not None)
        assert a.agent_session.runner is not b.agent_session.runner
        assert a.agent_session.graph is not b.agent_session.graph
        assert (await next_event(one, "diagram"))["svg"].lstrip().startswith("<")


async def test_a_closed_tab_ends_its_session_and_frees_its_runner(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    server, url = playground
    async with http.ws_connect(f"{url}/ws?session=gone") as ws:
        await ws.send_str(start_message())
        await next_event(ws, "ready")
        await wait_until(lambda: agent_session(server, "gone") is not None)
        await wait_until(lambda: agent_session(server, "gone").runner is not None)
        runner = weakref.ref(agent_session(server, "gone").runner)
        session = weakref.ref(agent_session(server, "gone"))
    await wait_until(lambda: "gone" not in server.sessions)

    def freed() -> bool:
        gc.collect()
        return runner() is None and session() is None

    await drop_cancelled_timers()
    await wait_until(freed, seconds=5)


async def test_a_second_connection_to_a_live_session_is_refused(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    _, url = playground
    async with http.ws_connect(f"{url}/ws?session=mine") as first:
        await first.send_str(start_message())
        await next_event(first, "ready")
        async with http.ws_connect(f"{url}/ws?session=mine") as second:
            code, reason = await closed_with(second)
        assert code == 4409
        assert "already open" in reason and "new tab" in reason
        await first.send_bytes(np.zeros(320, np.int16).tobytes())  # the first goes on
        assert not first.closed


@pytest.mark.parametrize(
    ("first", "then", "code", "words"),
    [
        ("not json", None, 4400, "JSON"),
        (json.dumps({"type": "dance"}), None, 4400, "unknown message type"),
        (b"\x00\x01", None, 4400, "start"),
        (json.dumps({"type": "start", "sample_rate": 44100}), None, 4415, "44100"),
        (json.dumps({"type": "start", "sample_rate": "16k"}), None, 4415, "16000"),
        (start_message(), b"\x00" * 6401, 4400, "16-bit"),
        (start_message(), b"\x00" * 6400, 4413, "too long"),
        (start_message(), b"\x00" * 70_000, 1009, ""),
        (start_message(), "{]", 4400, "JSON"),
    ],
)
async def test_bad_input_closes_that_socket_with_a_reason_and_others_go_on(
    playground: Playground,
    http: aiohttp.ClientSession,
    first: str | bytes,
    then: str | bytes | None,
    code: int,
    words: str,
) -> None:
    server, url = playground
    async with http.ws_connect(f"{url}/ws?session=good") as good:
        await good.send_str(start_message())
        await next_event(good, "ready")
        async with http.ws_connect(f"{url}/ws?session=bad") as bad:
            for message in (first, then):
                if isinstance(message, bytes):
                    await bad.send_bytes(message)
                elif message is not None:
                    await bad.send_str(message)
            got_code, reason = await closed_with(bad)
        assert got_code == code, reason
        assert words in reason
        await wait_until(lambda: "bad" not in server.sessions)
        await good.send_bytes(np.zeros(320, np.int16).tobytes())
        assert (await next_event(good, "diagram"))["svg"]  # still served
        assert list(server.sessions) == ["good"]


async def test_a_session_id_must_be_given(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    _, url = playground
    async with http.get(f"{url}/ws?session=../etc") as response:
        assert response.status == 400
        assert "session id" in await response.text()


async def test_the_page_and_its_files_are_served(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    _, url = playground
    async with http.get(f"{url}/") as page:
        assert page.status == 200 and "voicegraph playground" in await page.text()
    for name in ("app.js", "style.css", "capture-worklet.js", "player-worklet.js"):
        async with http.get(f"{url}/static/{name}") as response:
            assert response.status == 200, name


async def test_a_token_guards_the_page_and_the_socket(http: aiohttp.ClientSession) -> None:
    server = PlaygroundServer(agent_server(AGENT), token="s3cret")
    port = await server.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    try:
        async with http.get(f"{url}/") as page:
            assert page.status == 401 and "token" in await page.text()
        async with http.get(f"{url}/?token=wrong") as page:
            assert page.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{url}/ws?session=x")
        assert refused.value.status == 401
        async with http.get(f"{url}/?token=s3cret") as page:
            assert page.status == 200
        async with http.get(f"{url}/static/app.js") as script:  # public code, no secret
            assert script.status == 200
        async with http.ws_connect(f"{url}/ws?session=x&token=s3cret") as ws:
            await ws.send_str(start_message())
            assert (await next_event(ws, "ready"))["session"] == "x"
    finally:
        await server.close()


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.0.2.1", "example.org"]))


def test_which_agents_the_playground_accepts(tmp_path: Path) -> None:
    (tmp_path / "agents_mod.py").write_text(
        "from voicegraph.nodes.agent import Agent\n"
        "class Helper(Agent):\n"
        "    def __init__(self):\n"
        "        super().__init__(instructions='help')\n"
        "def make():\n"
        "    return Helper()\n"
        "instance = Helper()\n"
        "number = 3\n"
    )
    module = str(tmp_path / "agents_mod.py")
    assert agent_server(None).entrypoint is not None  # the standard agent
    assert agent_server(AGENT).entrypoint is not None  # an entrypoint
    assert agent_server(f"{module}:Helper").entrypoint is not None
    assert agent_server(f"{module}:make").entrypoint is not None
    with pytest.raises(ConfigError, match="Agent instance.*own agent"):
        agent_server(f"{module}:instance")
    with pytest.raises(ConfigError, match="int"):
        agent_server(f"{module}:number")
    with pytest.raises(ConfigError):
        agent_server(f"{module}:missing")


def test_the_command_refuses_an_agent_it_cannot_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from voicegraph.cli import app

    (tmp_path / "not_agent.py").write_text("value = 3\n")
    result = CliRunner().invoke(
        app, ["playground", f"{tmp_path / 'not_agent.py'}:value", "--no-browser"]
    )
    assert result.exit_code == 1
    assert "int" in result.output and "Agent class" in result.output
    help_text = CliRunner().invoke(app, ["playground", "--help"]).output
    assert "--no-browser" in help_text and "--token" in help_text

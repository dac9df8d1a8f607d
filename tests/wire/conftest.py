"""Wire-test fixtures: loopback fakes of Gemini and ElevenLabs, a TLS certificate, a network guard.

The real SDKs talk to servers on 127.0.0.1 that speak each provider's protocol. An autouse
guard makes any attempt to resolve or connect to another host fail the test, so nothing
here can reach the internet.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_elevenlabs import FakeElevenLabs, FakeElevenLabsWS
from fake_gemini import FakeGemini, FakeLive
from loopback import TLS, make_certificate

_LOCAL = {"127.0.0.1", "localhost", "::1"}


def _is_local(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host in _LOCAL:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any name lookup or connection to a host other than the loopback interface."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_local(host):
            raise OSError(f"wire tests may only reach 127.0.0.1, not {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _is_local(address[0]):
            raise OSError(f"wire tests may only reach 127.0.0.1, not {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    for variable in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "ELEVEN_API_KEY", "ELEVENLABS_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    yield


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLS:
    """A self-signed certificate for 127.0.0.1, made for this test session."""
    return TLS(make_certificate(tmp_path_factory.mktemp("tls")))


@pytest.fixture
async def gemini() -> AsyncIterator[FakeGemini]:
    fake = FakeGemini()
    await fake.http.start()
    yield fake
    await fake.http.stop()


@pytest.fixture
async def gemini_live(tls: TLS) -> AsyncIterator[FakeLive]:
    fake = FakeLive(tls.server)
    await fake.ws.start()
    yield fake
    await fake.ws.stop()


@pytest.fixture
async def eleven() -> AsyncIterator[FakeElevenLabs]:
    fake = FakeElevenLabs()
    await fake.http.start()
    yield fake
    await fake.http.stop()


@pytest.fixture
async def eleven_ws(tls: TLS) -> AsyncIterator[FakeElevenLabsWS]:
    fake = FakeElevenLabsWS(tls.server)
    await fake.tts.start()
    await fake.stt.start()
    yield fake
    await fake.tts.stop()
    await fake.stt.stop()

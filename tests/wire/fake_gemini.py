"""A loopback Gemini API: REST + SSE ``streamGenerateContent`` and the Live WebSocket.

Responses have the recorded shapes of the real service (``candidates`` / ``usageMetadata``
chunks, ``error`` bodies, Live ``setupComplete`` / ``serverContent`` / ``toolCall`` /
``sessionResumptionUpdate`` messages).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

from loopback import HTTPResponse, HTTPServer, Plan, Reply, Request, Session, WSServer, stream_reply

MODEL_VERSION = "gemini-2.5-flash"


def text_chunk(text: str, *, finish: str | None = None, usage: bool = False) -> dict[str, Any]:
    """One SSE chunk of a streamed answer, as Gemini sends it."""
    candidate: dict[str, Any] = {
        "content": {"parts": [{"text": text}], "role": "model"},
        "index": 0,
    }
    if finish:
        candidate["finishReason"] = finish
    chunk: dict[str, Any] = {
        "candidates": [candidate],
        "modelVersion": MODEL_VERSION,
        "responseId": "resp-loopback",
    }
    if usage:
        chunk["usageMetadata"] = {
            "promptTokenCount": 12,
            "candidatesTokenCount": 9,
            "totalTokenCount": 21,
        }
    return chunk


def call_chunk(
    name: str, args: dict[str, Any], *, signature: bytes | None = None
) -> dict[str, Any]:
    """A chunk carrying a function call (with a thought signature, as Gemini 2.5+ sends)."""
    part: dict[str, Any] = {"functionCall": {"name": name, "args": args}}
    if signature is not None:
        part["thoughtSignature"] = base64.b64encode(signature).decode()
    return {
        "candidates": [
            {"content": {"parts": [part], "role": "model"}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 5, "totalTokenCount": 35},
        "modelVersion": MODEL_VERSION,
    }


def answer(text: str, **kwargs: Any) -> Reply:
    """A streamed answer: one chunk per word, the last with ``finishReason`` and usage."""
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    chunks = [text_chunk(p) for p in pieces[:-1]]
    chunks.append(text_chunk(pieces[-1], finish="STOP", usage=True))
    return Reply(chunks=chunks, **kwargs)


def error(status: int, message: str, api_status: str, **kwargs: Any) -> Reply:
    """A Google API error body."""
    body = {"error": {"code": status, "message": message, "status": api_status}}
    return Reply(status=status, body=body, **kwargs)


def _sse(chunk: Any) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    return b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n"


class FakeGemini:
    """The REST side: ``plan`` decides each streamed answer; ``requests`` records them."""

    def __init__(self) -> None:
        self.http = HTTPServer()
        self.plan = Plan(lambda: answer("The capital of France is Paris."))
        self.http.route("POST", "/v1", self._generate)

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def requests(self) -> list[Request]:
        return self.http.requests

    async def _generate(self, request: Request, response: HTTPResponse) -> None:
        reply = self.plan.next()
        if request.headers.get("x-goog-api-key") != "test-key":
            reply = error(401, "API key not valid. Please pass a valid API key.", "UNAUTHENTICATED")
        if request.path.endswith(":streamGenerateContent"):
            await stream_reply(
                response, request, reply, content_type="text/event-stream", frame=_sse
            )
        else:
            await response.send(404, {"Content-Type": "application/json"}, b"{}")


# --------------------------------------------------------------------------- Live API


def camel(value: Any) -> Any:
    """Keys in camelCase, as the service's JSON mapping accepts both spellings."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            head, *rest = key.split("_")
            out[head + "".join(w[:1].upper() + w[1:] for w in rest)] = camel(item)
        return out
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"

LiveScript = Callable[[Any, Session, "FakeLive"], Any]


def audio_message(pcm: bytes) -> dict[str, Any]:
    """Model audio (24 kHz PCM16) in a ``serverContent.modelTurn``."""
    data = base64.b64encode(pcm).decode()
    part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data}}
    return {"serverContent": {"modelTurn": {"parts": [part]}}}


class FakeLive:
    """The Live side over TLS. Each session runs ``script(ws, session, self)``.

    ``audio_in`` collects the bytes of ``realtimeInput.audio`` per session; ``tool_responses``
    the ``toolResponse`` messages; ``setups`` the ``setup`` messages (e.g. the resumption
    handle a reconnecting client sends).
    """

    def __init__(self, tls: Any, script: LiveScript | None = None) -> None:
        self.script = script
        self.setups: list[dict[str, Any]] = []
        self.tool_responses: list[dict[str, Any]] = []
        self.audio_in: list[int] = []
        self.reject_status: int | None = None
        self.ws = WSServer(self._session, tls=tls, reject=self._reject)

    @property
    def base_url(self) -> str:
        return self.ws.base_url

    def _reject(self, session: Session) -> tuple[int, dict[str, str], bytes] | None:
        if session.path != LIVE_PATH:
            return 404, {}, b"no such endpoint"
        if session.headers.get("x-goog-api-key") != "test-key" or self.reject_status == 401:
            return 401, {}, b'{"error": {"code": 401, "status": "UNAUTHENTICATED"}}'
        return None

    async def _session(self, ws: Any, session: Session) -> None:
        setup = camel(json.loads(await ws.recv()))
        self.setups.append(setup["setup"])
        await ws.send(json.dumps({"setupComplete": {}}))
        self.audio_in.append(0)
        if self.script is not None:
            await self.script(ws, session, self)

    async def read(
        self, ws: Any, session: Session, *, until: Callable[[dict[str, Any]], bool]
    ) -> None:
        """Read client messages (recording them, keys in camelCase) until ``until(message)``."""
        while True:
            message = camel(json.loads(await ws.recv()))
            session.received.append(message)
            audio = message.get("realtimeInput", {}).get("audio")
            if audio:
                self.audio_in[-1] += len(base64.urlsafe_b64decode(audio["data"]))
            if "toolResponse" in message:
                self.tool_responses.append(message["toolResponse"])
            if until(message):
                return

    async def drain(self, ws: Any, session: Session) -> None:
        """Keep reading until the client goes away."""
        try:
            await self.read(ws, session, until=lambda m: False)
        except Exception:
            return

    @staticmethod
    async def pause(seconds: float) -> None:
        await asyncio.sleep(seconds)

"""A loopback ElevenLabs API: TTS (HTTP streaming with timestamps, ``multi-stream-input``
WebSocket) and STT (Scribe batch REST, Scribe realtime WebSocket).

The synthesized "speech" is a deterministic tone: ``SECONDS_PER_CHAR`` per character, with
character alignment exactly as the service sends it (absolute seconds over HTTP, milliseconds
relative to each chunk over the WebSocket).
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
from typing import Any

import numpy as np
from loopback import HTTPResponse, HTTPServer, Plan, Reply, Request, Session, WSServer, stream_reply

SECONDS_PER_CHAR = 0.04
KEY = "test-key"


def speak(text: str, rate: int) -> tuple[bytes, list[str], list[float]]:
    """Tone audio for ``text`` (silence for spaces), its characters and their start seconds."""
    per_char = round(SECONDS_PER_CHAR * rate)
    t = np.arange(per_char * len(text)) / rate
    tone = 0.3 * np.sin(2 * math.pi * 220 * t)
    mask = np.repeat([not c.isspace() for c in text], per_char)
    pcm = (tone * mask * 32767).astype("<i2").tobytes()
    starts = [i * per_char / rate for i in range(len(text))]
    return pcm, list(text), starts


def _words(text: str) -> list[str]:
    """Split keeping the spaces: 'a b' -> ['a ', 'b']."""
    pieces, current = [], ""
    for char in text:
        current += char
        if char == " ":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def timestamped_chunks(text: str, rate: int) -> list[dict[str, Any]]:
    """``stream/with-timestamps`` JSON lines: one per word, absolute times."""
    chunks, offset = [], 0.0
    for word in _words(text):
        pcm, chars, starts = speak(word, rate)
        alignment = {
            "characters": chars,
            "character_start_times_seconds": [offset + s for s in starts],
            "character_end_times_seconds": [offset + s + SECONDS_PER_CHAR for s in starts],
        }
        chunks.append(
            {
                "audio_base64": base64.b64encode(pcm).decode(),
                "alignment": alignment,
                "normalized_alignment": alignment,
            }
        )
        offset += len(word) * SECONDS_PER_CHAR
    return chunks


def _jsonl(chunk: Any) -> bytes:
    return chunk if isinstance(chunk, bytes) else json.dumps(chunk).encode() + b"\n"


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"detail": {"status": f"error_{status}", "message": message}}


class FakeElevenLabs:
    """The REST side (plain HTTP): TTS streaming with timestamps and Scribe batch STT."""

    def __init__(self) -> None:
        self.http = HTTPServer()
        self.tts_plan = Plan(lambda: Reply())
        self.stt_plan = Plan(lambda: Reply(body=stt_result("what is the capital of france")))
        self.http.route("POST", "/v1/text-to-speech/", self._tts)
        self.http.route("POST", "/v1/speech-to-text", self._stt)

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def requests(self) -> list[Request]:
        return self.http.requests

    async def _tts(self, request: Request, response: HTTPResponse) -> None:
        reply = self.tts_plan.next()
        if request.headers.get("xi-api-key") != KEY:
            reply = Reply(status=401, body=error_body(401, "Invalid API key"))
        if reply.status == 200 and not reply.chunks and reply.raw is None:
            rate = int(request.query.get("output_format", ["pcm_24000"])[0].split("_")[1])
            reply.chunks = timestamped_chunks(request.json()["text"], rate)
        await stream_reply(response, request, reply, content_type="application/json", frame=_jsonl)

    async def _stt(self, request: Request, response: HTTPResponse) -> None:
        reply = self.stt_plan.next()
        if request.headers.get("xi-api-key") != KEY:
            reply = Reply(status=401, body=error_body(401, "Invalid API key"))
        if not await response.sleep(reply.first_delay):
            return
        body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        ctype = "application/json" if not isinstance(reply.body, bytes) else "text/plain"
        await response.send(reply.status, {"Content-Type": ctype, **reply.headers}, body)


def stt_result(text: str) -> dict[str, Any]:
    """A Scribe batch answer."""
    words = [
        {"text": w, "start": i * 0.3, "end": i * 0.3 + 0.25, "type": "word", "logprob": -0.1}
        for i, w in enumerate(text.split())
    ]
    return {"language_code": "eng", "language_probability": 0.99, "text": text, "words": words}


class FakeElevenLabsWS:
    """The WebSocket side: ``tts`` speaks ``multi-stream-input`` over TLS (``wss://``),
    ``stt`` the Scribe realtime protocol over plain ``ws://`` (the SDK maps http → ws).

    ``tts_plan`` / ``stt_plan`` decide each session: ``Reply.status`` refuses the handshake;
    ``delay`` paces audio messages; ``cut_after`` drops the connection after that many audio
    messages; ``extra`` may hold ``close_code``/``close_reason`` (close after the first text),
    ``malformed`` (send garbage), ``error_type`` (an STT error message), ``transcripts``
    (STT texts, one per commit).
    """

    def __init__(self, tls: Any) -> None:
        self.tts_plan = Plan(lambda: Reply())
        self.stt_plan = Plan(
            lambda: Reply(extra={"transcripts": ["what is the capital of france"]})
        )
        self.tts = WSServer(self._tts, tls=tls, reject=self._reject_tts)
        self.stt = WSServer(self._stt, reject=self._reject_stt)
        self.closed_contexts: list[str] = []
        self.audio_sent: dict[str, int] = {}
        self.stt_audio_bytes = 0

    @property
    def tts_url(self) -> str:
        return self.tts.base_url

    @property
    def stt_url(self) -> str:
        return self.stt.base_url

    # ------------------------------------------------------------------ TTS

    def _reject(
        self, session: Session, plan: Plan, prefix: str
    ) -> tuple[int, dict[str, str], bytes] | None:
        if not session.path.startswith(prefix):
            return 404, {}, b"no such endpoint"
        session.reply = plan.next()
        if session.headers.get("xi-api-key") != KEY:
            return 401, {}, json.dumps(error_body(401, "Invalid API key")).encode()
        reply: Reply = session.reply
        if reply.status != 200:
            body = (
                reply.body
                if isinstance(reply.body, bytes)
                else json.dumps(reply.body or {}).encode()
            )
            return reply.status, reply.headers, body
        return None

    def _reject_tts(self, session: Session) -> tuple[int, dict[str, str], bytes] | None:
        return self._reject(session, self.tts_plan, "/v1/text-to-speech/")

    async def _tts(self, ws: Any, session: Session) -> None:
        reply: Reply = session.reply
        rate = int(session.query.get("output_format", ["pcm_24000"])[0].split("_")[1])
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def reader() -> None:
            async for raw in ws:
                message = json.loads(raw)
                session.received.append(message)
                if message.get("close_context"):
                    self.closed_contexts.append(message["context_id"])
                await inbox.put(message)
            await inbox.put({"close_socket": True})

        reading = asyncio.create_task(reader())
        sent = 0
        try:
            while True:
                message = await inbox.get()
                if message.get("close_socket"):
                    await ws.close()
                    return
                context = message.get("context_id", "default")
                if "close_code" in reply.extra and message.get("text", "").strip():
                    await ws.close(reply.extra["close_code"], reply.extra.get("close_reason", ""))
                    return
                if reply.extra.get("malformed") and message.get("text", "").strip():
                    await ws.send("{this is not json")
                    continue
                if message.get("close_context"):
                    await ws.send(json.dumps({"isFinal": True, "contextId": context}))
                    continue
                text = message.get("text", "")
                if not text.strip() or not message.get("flush"):
                    continue
                if sent == 0:
                    await asyncio.sleep(reply.first_delay)
                for word in _words(text):  # flushed text is spoken even if the context closes
                    if reply.cut_after is not None and sent >= reply.cut_after:
                        ws.transport.abort()
                        return
                    pcm, chars, starts = speak(word, rate)
                    alignment = {
                        "chars": chars,
                        "charStartTimesMs": [round(s * 1000) for s in starts],  # relative
                        "charDurationsMs": [round(SECONDS_PER_CHAR * 1000)] * len(chars),
                    }
                    await ws.send(
                        json.dumps(
                            {
                                "audio": base64.b64encode(pcm).decode(),
                                "alignment": alignment,
                                "normalizedAlignment": alignment,
                                "contextId": context,
                            }
                        )
                    )
                    sent += 1
                    self.audio_sent[context] = self.audio_sent.get(context, 0) + 1
                    await asyncio.sleep(reply.delay)
        finally:
            reading.cancel()

    # ------------------------------------------------------------------ STT

    def _reject_stt(self, session: Session) -> tuple[int, dict[str, str], bytes] | None:
        return self._reject(session, self.stt_plan, "/v1/speech-to-text/realtime")

    async def _stt(self, ws: Any, session: Session) -> None:
        reply: Reply = session.reply
        await ws.send(
            json.dumps(
                {
                    "message_type": "session_started",
                    "session_id": "sess-loopback",
                    "config": {"sample_rate": 16000, "model_id": session.query["model_id"][0]},
                }
            )
        )
        texts = list(reply.extra.get("transcripts", []))
        received = 0
        partial_words = 0
        async for raw in ws:
            message = json.loads(raw)
            session.received.append({k: v for k, v in message.items() if k != "audio_base_64"})
            if reply.extra.get("error_type"):
                await ws.send(
                    json.dumps({"message_type": reply.extra["error_type"], "error": "refused"})
                )
                continue
            if reply.extra.get("malformed"):
                await ws.send("{this is not json")
                continue
            audio = base64.b64decode(message.get("audio_base_64") or "")
            received += len(audio)
            self.stt_audio_bytes += len(audio)
            current = texts[0].split() if texts else []
            if (
                audio
                and current
                and received // 16000 > partial_words
                and partial_words < len(current)
            ):
                partial_words += 1  # a partial every 0.5 s of audio
                await ws.send(
                    json.dumps(
                        {
                            "message_type": "partial_transcript",
                            "text": " ".join(current[:partial_words]),
                        }
                    )
                )
            if message.get("commit"):
                await asyncio.sleep(reply.first_delay)
                text = texts.pop(0) if texts else ""
                await ws.send(json.dumps({"message_type": "committed_transcript", "text": text}))
                received = partial_words = 0
                if reply.cut_after == 0:
                    ws.transport.abort()
                    return

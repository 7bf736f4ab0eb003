"""A lean HTTP/1.1 client for the callback benches: POSTs written as pre-built bytes on keep-alive
loopback connections, the answer's status line and Content-Length read back, nothing else.

WeCom's servers are other machines; on the bench they share our two cores with the server, so
what the load generator spends per request comes out of the server's share and, in a burst of
200, out of its acknowledgement times (the generator's event loop turns each answer over only
when it gets to it). Measured on this bench (2026-12-02): the generator with the fake WeCom API
took 1.1-1.2 ms of CPU per callback with this client against 1.5-1.8 ms with aiohttp's, and 220
posts at once to a do-nothing aiohttp server were answered at p99 42-49 ms against 73-76 ms
(bench/callback_load.py ``--client aiohttp`` keeps aiohttp's for comparison). Like aiohttp's
pool (``limit=0``), a request takes an idle connection or opens a new one (the connect is inside its time)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import aiohttp


@dataclass(frozen=True)
class Built:
    """A request built ahead: its target (path and query), body and the bytes on the wire."""

    target: str
    body: bytes
    wire: bytes


class Poster(Protocol):
    def request(self, target: str, body: bytes) -> Built: ...

    async def post(self, request: Built) -> tuple[int, float]: ...

    async def close(self) -> None: ...


class RawPoster:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    def request(self, target: str, body: bytes) -> Built:
        """``POST target`` with ``body``, its bytes built before the clock starts."""
        head = (f"POST {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n")
        return Built(target, body, head.encode() + body)

    async def post(self, request: Built) -> tuple[int, float]:
        """Send a built request; (status, seconds from the first byte written to the answer read).
        A connection the server closed is dropped and the request sent again on a new one."""
        t0 = time.perf_counter()
        for _ in range(2):
            reader, writer = self._idle.pop() if self._idle else await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(request.wire)
                head = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                continue
            status = int(head[9:12])
            fields = {k: v for k, _, v in (line.partition(b":") for line in head.lower().split(b"\r\n")[1:])}
            if b"transfer-encoding" in fields:
                raise ValueError("a chunked answer: this client reads Content-Length bodies only")
            length = int(fields.get(b"content-length", b"0"))
            if length:
                await reader.readexactly(length)
            if fields.get(b"connection", b"").strip() == b"close":
                writer.close()
            else:
                self._idle.append((reader, writer))
            return status, time.perf_counter() - t0
        raise ConnectionError(f"{self.host}:{self.port} closed the connection twice")

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


class AiohttpPoster:
    """The same through aiohttp's client (``--client aiohttp``): what the benches used before."""

    def __init__(self, host: str, port: int) -> None:
        self.base = f"http://{host}:{port}"
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    def request(self, target: str, body: bytes) -> Built:
        return Built(target, body, b"")

    async def post(self, request: Built) -> tuple[int, float]:
        t0 = time.perf_counter()
        async with self._http.post(self.base + request.target, data=request.body) as r:
            await r.read()
        return r.status, time.perf_counter() - t0

    async def close(self) -> None:
        await self._http.close()


def poster(kind: str, host: str, port: int) -> Poster:
    """``raw`` (RawPoster) or ``aiohttp`` (AiohttpPoster)."""
    return RawPoster(host, port) if kind == "raw" else AiohttpPoster(host, port)

"""A lean HTTP/1.1 load client: one keep-alive connection per concurrent worker.

httpx's connection pool costs the client several milliseconds of CPU per request at 64
connections (measured here: ~4 ms/request at 64 in flight, ~1 ms at 8), more than the
servers under test spend, so with httpx a "ceiling" would measure the client. This
client writes the request bytes itself and reads the answer by ``Content-Length``
(every answer of the servers under test has one; anything else is an error), which
costs tens of microseconds per request.
"""

from __future__ import annotations

import asyncio
import contextlib


class HTTPClientError(Exception):
    pass


class Connection:
    """One keep-alive connection to ``host:port``; reconnects when the server closed it."""

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._reader = self._writer = None

    def _request_bytes(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [f"POST {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"content-length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """Send one request and return ``(status, body)``."""
        data = self._request_bytes(path, body, headers)
        for attempt in (0, 1):
            if self._writer is None:
                await self._connect()
            assert self._reader is not None and self._writer is not None
            try:
                self._writer.write(data)
                return await asyncio.wait_for(self._read_response(self._reader), self.timeout)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                # a keep-alive connection the server closed: retry once on a fresh one
                await self.close()
                if attempt:
                    raise HTTPClientError(f"{type(exc).__name__}: {exc}") from exc
            except BaseException:
                await self.close()
                raise
        raise AssertionError("unreachable")

    async def _read_response(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length: int | None = None
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if length is None:
            await self.close()
            raise HTTPClientError(f"{status} answer without Content-Length")
        body = await reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, body

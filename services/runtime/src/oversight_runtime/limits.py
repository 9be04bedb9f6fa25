"""Limits that keep one client from holding what every other client needs.

- **Slow headers**: uvicorn arms no timer while a request's headers trickle in, so a client that
  opens connections and sends a few bytes now and then holds them for ever ("slowloris").
  ``guarded_protocol`` closes a connection whose request head is not complete in time.
- **Slow bodies**: ``BodyTimeoutMiddleware`` answers 408 when a part of a request body does not
  arrive in time. Once the body is complete, waiting on the client (a live stream listening for
  the disconnect) is not timed.
- **Live streams**: ``StreamLimiter`` caps the server-sent-event streams open at once, per user
  and in all; one over the cap is refused with 429.

Body size is limited by FastAPI itself (``max_body_size``): 413 before the body is read.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def guarded_protocol(header_timeout: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, closing connections whose request head is too slow."""

    class SlowHeaderGuard(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.logger.warning(
                    "closing a connection whose request headers took over %ss", header_timeout
                )
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return SlowHeaderGuard


class BodyTimeoutMiddleware:
    """408 when the next part of a request body does not arrive within ``timeout`` seconds."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_complete = False

        async def timed_receive() -> Message:
            nonlocal body_complete
            if body_complete:
                return await receive()
            try:
                # ``asyncio.timeout`` and not ``wait_for``: wait_for receives in a task of its own,
                # and when the caller is cancelled at that moment (Starlette's is_disconnected()
                # polls receive in a cancelled scope) that task could take the body message and drop
                # it, leaving the request to time out with its body long delivered.
                async with asyncio.timeout(self.timeout):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(
                    408, f"the request body did not arrive within {self.timeout:g}s", {"Connection": "close"}
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_complete = True
            return message

        await self.app(scope, timed_receive, send)


class TooManyStreams(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class StreamSlot:
    limiter: StreamLimiter
    user: str
    released: bool = False

    def release(self) -> None:
        """Give the slot back; safe to call more than once (the stream's end and its cleanup)."""
        if not self.released:
            self.released = True
            self.limiter._release(self.user)


@dataclass
class StreamLimiter:
    per_user: int
    total: int
    _open: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, user: str) -> StreamSlot:
        with self._lock:
            if sum(self._open.values()) >= self.total:
                raise TooManyStreams(f"this service already serves {self.total} live streams")
            if self._open[user] >= self.per_user:
                raise TooManyStreams(f"you already have {self.per_user} live streams open")
            self._open[user] += 1
        return StreamSlot(self, user)

    def _release(self, user: str) -> None:
        with self._lock:
            self._open[user] -= 1
            if self._open[user] <= 0:
                del self._open[user]

    @property
    def open(self) -> int:
        return sum(self._open.values())

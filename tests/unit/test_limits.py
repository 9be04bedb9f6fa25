"""The live-stream cap and the slow-body timeout, without a server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.exceptions import HTTPException

from oversight_runtime.limits import BodyTimeoutMiddleware, StreamLimiter, TooManyStreams


def test_streams_are_capped_per_user_and_in_all_and_a_slot_is_given_back_once() -> None:
    limiter = StreamLimiter(per_user=2, total=3)
    a1, a2 = limiter.acquire("a"), limiter.acquire("a")
    with pytest.raises(TooManyStreams, match="you already have 2"):
        limiter.acquire("a")
    b1 = limiter.acquire("b")
    with pytest.raises(TooManyStreams, match="already serves 3"):
        limiter.acquire("c")
    a1.release()
    a1.release()  # the stream's end and its cleanup both release: counted once
    assert limiter.open == 2
    limiter.acquire("c")
    for slot in (a2, b1):
        slot.release()
    assert limiter.open == 1


async def _run(
    middleware: BodyTimeoutMiddleware, messages: list[dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """Feed ``messages`` to the app's receive (None: the client goes quiet) and return what the app read."""
    read: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        message = messages.pop(0) if messages else None
        if message is None:
            await asyncio.sleep(3600)
        assert message is not None
        return message

    async def app(scope: Any, receive_: Any, send: Any) -> None:
        while True:
            message = await receive_()
            read.append(message)
            if not message.get("more_body"):
                return

    middleware.app = app
    await middleware({"type": "http"}, receive, lambda _m: asyncio.sleep(0))
    return read


async def test_a_body_that_stops_arriving_is_408() -> None:
    middleware = BodyTimeoutMiddleware(lambda *_: None, timeout=0.05)  # type: ignore[arg-type]
    with pytest.raises(HTTPException) as cut_off:
        await _run(middleware, [{"type": "http.request", "body": b"{", "more_body": True}, None])
    assert cut_off.value.status_code == 408 and cut_off.value.headers == {"Connection": "close"}


async def test_a_whole_body_is_read_and_waiting_afterwards_is_not_timed() -> None:
    """A live stream waits on the client for its disconnect: that wait is not a slow body."""
    middleware = BodyTimeoutMiddleware(lambda *_: None, timeout=0.05)  # type: ignore[arg-type]
    read = await _run(
        middleware,
        [{"type": "http.request", "body": b"{}", "more_body": True}, {"type": "http.request", "body": b""}],
    )
    assert [m["body"] for m in read] == [b"{}", b""]

    waited = False

    async def quiet() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    async def stream(scope: Any, receive: Any, send: Any) -> None:
        nonlocal waited
        await receive()  # the (empty) body
        with pytest.raises(TimeoutError):  # the app's own patience runs out, not the middleware's
            await asyncio.wait_for(receive(), 0.3)
        waited = True

    messages = [{"type": "http.request", "body": b""}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else await quiet()

    await BodyTimeoutMiddleware(stream, timeout=0.05)({"type": "http"}, receive, lambda _m: asyncio.sleep(0))
    assert waited

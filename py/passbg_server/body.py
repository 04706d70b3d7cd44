"""The request body as the app reads it, and the drain of a refused one.

A server that answers early (413 too large, 415 not a form, 401, 503) and then closes the connection
while the client is still sending makes the kernel reset it: the client then sees "connection reset"
(a browser's fetch a network error) instead of the answer. uvicorn discards an unread body on a
keep-alive connection, but closes at once when the client asked for `Connection: close` (as urllib
does). So before answering a refusal the app reads and drops the rest of the body, up to
DRAIN_FACTOR times the upload limit (reading more to say no is not worth it: such a client may still
see a reset). A client that waits for `100 Continue` has sent nothing yet and is answered at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]

DRAIN_FACTOR = 4


class RequestBody:
    """Wraps the ASGI `receive` of one request and remembers how much of the body has arrived."""

    def __init__(self, receive: Receive, headers: dict[str, str]) -> None:
        self._receive = receive
        self.headers = headers
        self.received = 0
        self.ended = False
        self.asked = False  # receive() called at least once (uvicorn then sends 100 Continue)

    async def receive(self) -> dict[str, Any]:
        self.asked = True
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.ended = True
        else:
            self.received += len(message.get("body", b""))
            self.ended = not message.get("more_body", False)
        return message

    async def drain(self, limit: int, stall_s: float) -> int:
        """Read and drop the rest of the body while at most `limit` bytes have arrived in all; returns
        the bytes dropped. Gives up when the client stalls for stall_s or declares a longer body."""
        if self.ended or (not self.asked and "100-continue" in self.headers.get("expect", "").lower()):
            return 0
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return 0
        start = self.received
        while not self.ended and self.received <= limit:
            try:
                await asyncio.wait_for(self.receive(), stall_s)
            except TimeoutError:
                break
        return self.received - start

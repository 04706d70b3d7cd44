"""The ASGI app: rembg's HTTP API (POST /api/remove, multipart field `file`, PNG back; om=true for the
mask) with the limits a public endpoint needs.

Order of refusals, cheapest first, so an overloaded or abused server spends nothing on bad requests:
route -> bearer token -> queue slot (503 when full) -> Content-Type -> Content-Length / streamed size
(413) -> form -> image type (415) -> pixel count (413) -> decode (422) -> model. At most `queue`
requests are admitted at once; `workers` of them run the model, the rest wait holding only their body
(<= max_bytes), so memory is bounded by queue * max_bytes + workers * (one photo's working arrays).

Logs are one JSON object per line on stderr (passbg_server.logs: a broken log sink costs lines, never
requests): sizes, timings, status; never pixels, file names or client addresses. A refused upload is
drained before the answer (passbg_server.body), so a client that is still sending gets it. Nothing is
written to disk.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from passbg.errors import InputError, PassbgError
from passbg_server.body import DRAIN_FACTOR, RequestBody
from passbg_server.engine import Engine, TooLarge
from passbg_server.form import FormError, boundary_of, parse_form
from passbg_server.logs import log

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# What browsers and rembg clients send for a photo; application/octet-stream is what a bare upload gets.
IMAGE_TYPE_PREFIX = "image/"
UNTYPED = ("application/octet-stream", "")
TRUE_WORDS = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    origins: tuple[str, ...] = ()  # page origins allowed by CORS ("*" = any)
    token: str | None = None  # when set, requests need "Authorization: Bearer <token>"
    max_bytes: int = 15 * 1024 * 1024
    max_pixels: int = 24_000_000
    queue: int = 8  # requests admitted at once (running + waiting)
    workers: int = 1  # requests running the model at once
    body_timeout_s: float = 30.0


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


class RemoveApp:
    """ASGI callable. `engine` does the model work in a thread pool of `settings.workers` threads."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="passbg-model")
        self.admitted = 0
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await asyncio.get_running_loop().run_in_executor(self.pool, self.engine.warm_up)
                log(event="ready", model=self.engine.spec.id, pipeline=self.engine.info()["pipeline"],
                    queue=self.settings.queue,
                    workers=self.settings.workers, origins=list(self.settings.origins),
                    token=self.settings.token is not None)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- HTTP ---------------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cors = self._cors(headers.get("origin"))
        method, path = scope["method"], scope["path"]
        info: dict[str, Any] = {"method": method, "path": path}
        request_body = RequestBody(receive, headers)
        receive = request_body.receive
        try:
            if path == "/api/remove" and method == "OPTIONS":
                status, body, ctype, extra = 204, b"", "text/plain", self._preflight(cors)
            elif path == "/api/remove" and method == "POST":
                body, extra = await self._remove(scope, headers, receive, info)
                status, ctype = 200, "image/png"
            elif path == "/api/remove":
                raise HttpError(405, "Send the photo with POST (multipart field 'file'). This server never "
                                     "fetches images from URLs.", (("allow", "POST, OPTIONS"),))
            elif path in ("/", "/health", "/api/info") and method == "GET":
                # /api/info is what the page reads (CORS) to name the model and pipeline that answer.
                status, ctype, extra = 200, "application/json", ()
                body = json.dumps({
                    "service": "passbg rembg-compatible endpoint", **self.engine.info(),
                    "api": "POST /api/remove (multipart field 'file'; om=true for the mask)",
                    "admitted": self.admitted, "queue": self.settings.queue}).encode()
            else:
                raise HttpError(404, "Not found. The API is POST /api/remove.")
        except HttpError as err:
            status, ctype, extra = err.status, "application/json", err.headers
            body = json.dumps({"error": err.message}).encode()
            info["error"] = err.message
            # 408: the client stalled, waiting again for it helps no one.
            drained = 0 if err.status == 408 else await request_body.drain(
                self.settings.max_bytes * DRAIN_FACTOR, self.settings.body_timeout_s)
            if drained:
                info["drained"] = drained
        info.update(status=status, ms=round((time.perf_counter() - start) * 1000, 1), bytes_out=len(body))
        log(event="request", **info)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype.encode()),
                                (b"content-length", str(len(body)).encode()),
                                (b"cache-control", b"no-store"),
                                *((k.encode(), v.encode()) for k, v in (*cors, *extra))]})
        await send({"type": "http.response.body", "body": body})

    def _cors(self, origin: str | None) -> tuple[tuple[str, str], ...]:
        allowed = self.settings.origins
        if origin is None or not ("*" in allowed or origin in allowed):
            return ()
        return (("access-control-allow-origin", origin), ("vary", "Origin"),
                ("access-control-expose-headers", "X-Passbg-Model, X-Passbg-Pipeline, X-Passbg-Ms"))

    @staticmethod
    def _preflight(cors: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        if not cors:
            return ()  # no CORS headers: the browser refuses the real request, as it should
        return (("access-control-allow-methods", "POST, OPTIONS"),
                ("access-control-allow-headers", "Authorization, Content-Type, X-Passbg-Client"),
                ("access-control-max-age", "600"))

    def _check_token(self, headers: dict[str, str]) -> None:
        token = self.settings.token
        if token is None:
            return
        given = headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise HttpError(401, "This endpoint needs an API token (Authorization: Bearer …).",
                            (("www-authenticate", 'Bearer realm="passbg"'),))

    async def _remove(self, scope: Scope, headers: dict[str, str], receive: Receive,
                      info: dict[str, Any]) -> tuple[bytes, tuple[tuple[str, str], ...]]:
        self._check_token(headers)
        if self.admitted >= self.settings.queue:
            info["admitted"] = self.admitted
            raise HttpError(503, f"The server is busy ({self.admitted} photos in progress); try again in a "
                                 "few seconds.", (("retry-after", "5"),))
        self.admitted += 1
        try:
            info["admitted"] = self.admitted
            try:
                boundary = boundary_of(headers.get("content-type", ""))
            except FormError as err:
                raise HttpError(415, str(err)) from None
            body = await self._read_body(headers, receive)
            info["bytes_in"] = len(body)
            try:
                form = parse_form(body, boundary)
            except FormError as err:
                raise HttpError(400, str(err)) from None
            del body
            part = form.get("file")
            if part is None or not part.data:
                raise HttpError(400, "The form has no photo: put the image in the field 'file'.")
            if not part.content_type.startswith(IMAGE_TYPE_PREFIX) and part.content_type not in UNTYPED:
                raise HttpError(415, f"The field 'file' holds {part.content_type}, not an image. "
                                     "Send a JPEG, PNG or WebP photo.")
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            om = form["om"].data.decode("latin-1") if "om" in form else query.get("om", [""])[0]
            mask_only = om.strip().lower() in TRUE_WORDS
            info["om"] = mask_only
            data = bytes(part.data)
            del form, part
            t0 = time.perf_counter()
            loop = asyncio.get_running_loop()
            try:
                png = await loop.run_in_executor(
                    self.pool, lambda: self.engine.remove(data, mask_only=mask_only))
            except TooLarge as err:
                raise HttpError(413, str(err)) from None
            except InputError as err:
                raise HttpError(422, str(err)) from None
            except PassbgError as err:
                raise HttpError(500, str(err)) from None
            except MemoryError:
                raise HttpError(503, "The server ran out of memory for this photo; send a smaller one.") \
                    from None
            model_ms = (time.perf_counter() - t0) * 1000
            info["model_ms"] = round(model_ms, 1)
            self.served += 1
            return png, (("x-passbg-model", self.engine.spec.id),
                         ("x-passbg-pipeline", str(self.engine.info()["pipeline"])),
                         ("x-passbg-ms", f"{model_ms:.0f}"))
        finally:
            self.admitted -= 1

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        limit = self.settings.max_bytes
        too_big = HttpError(413, f"The upload is larger than {limit / 1048576:.3g} MB; send a smaller photo.")
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise HttpError(400, "The Content-Length header is not a number.")
            if int(declared) > limit:
                raise too_big
        chunks, size = [], 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.settings.body_timeout_s)
            except TimeoutError:
                raise HttpError(408, "The upload stalled; try again.") from None
            if message["type"] == "http.disconnect":
                raise HttpError(400, "The client went away before the upload finished.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

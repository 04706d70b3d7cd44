"""The static server of `python build.py serve` (and of the tests and the bench): one directory's files
with the isolation headers and MIME types of http-headers.json, threaded, quiet unless verbose."""

from __future__ import annotations

import functools
import http.server
import sys
from pathlib import Path

from . import headers


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of one directory, with the isolation headers; quiet unless verbose."""

    protocol_version = "HTTP/1.1"
    verbose = False

    @property
    def extensions_map(self) -> dict[str, str]:  # type: ignore[override]
        return _extensions_map()

    def end_headers(self) -> None:
        for name, value in headers.security_headers().items():
            self.send_header(name, value)
        super().end_headers()

    def copyfile(self, source, outputfile) -> None:  # type: ignore[override]
        # Zero-copy for the big wasm and model files; socket.sendfile falls back to send() by itself.
        self.connection.sendfile(source)

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        if self.verbose:
            super().log_message(format, *args)


@functools.cache
def _extensions_map() -> dict[str, str]:
    return {**http.server.SimpleHTTPRequestHandler.extensions_map, **headers.facts().types}


class SiteServer(http.server.ThreadingHTTPServer):
    """A threaded server that does not print the disconnects of impatient clients."""

    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def make_server(root: Path, host: str = "127.0.0.1", port: int = 8000, verbose: bool = False) -> SiteServer:
    """A threaded HTTP server for the files under root (port 0 picks a free port)."""
    headers.facts()  # a broken http-headers.json fails here, as one line, not in a request
    handler = type("BoundSiteHandler", (SiteHandler,), {"verbose": verbose})
    return SiteServer((host, port), functools.partial(handler, directory=str(root)))


def __getattr__(name: str) -> dict[str, str]:
    # MIME_TYPES and SECURITY_HEADERS, the tables build.py had here, from http-headers.json.
    if name in ("MIME_TYPES", "SECURITY_HEADERS"):
        return getattr(headers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The static server of `python build.py serve` (and of the tests and the bench): one directory's files
with the isolation headers and the MIME types the page needs, threaded, quiet unless verbose."""

from __future__ import annotations

import functools
import http.server
import sys
from pathlib import Path

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".onnx": "application/octet-stream",
    ".whl": "application/octet-stream",
    ".zip": "application/zip",
    ".toml": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".md": "text/plain; charset=utf-8",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
}
SECURITY_HEADERS = {
    # Cross-origin isolation, so ORT-web can use threads (SharedArrayBuffer).
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Revalidate every time (cheap 304s) so a rebuilt site shows at once.
    "Cache-Control": "no-cache",
}


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of one directory, with the isolation headers; quiet unless verbose."""

    protocol_version = "HTTP/1.1"
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    verbose = False

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
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


class SiteServer(http.server.ThreadingHTTPServer):
    """A threaded server that does not print the disconnects of impatient clients."""

    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def make_server(root: Path, host: str = "127.0.0.1", port: int = 8000, verbose: bool = False) -> SiteServer:
    """A threaded HTTP server for the files under root (port 0 picks a free port)."""
    handler = type("BoundSiteHandler", (SiteHandler,), {"verbose": verbose})
    return SiteServer((host, port), functools.partial(handler, directory=str(root)))

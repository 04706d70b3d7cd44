"""The server's log: one JSON object a line on stderr, through `logging`, never able to take serving down.

A request only formats its line and puts it in a bounded queue; one background thread writes the
queue to the stream. So a reader that has gone away (a closed pipe: EPIPE), a full disk, or a reader
that has stopped reading (a full pipe that would block) costs log lines, never requests: a line that
cannot be queued or written is counted in `LogSink.dropped` and otherwise dropped silently (no
traceback, which would only go to the same broken stream).

uvicorn's own messages go through the same sink, as JSON lines with event "server".
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from logging.handlers import QueueHandler
from typing import Any, TextIO

LOGGER = logging.getLogger("passbg_server")
QUEUE_LINES = 10_000  # lines waiting for a slow reader before new ones are dropped (~2 MB)


def log(**fields: Any) -> None:
    """One log line holding these fields (and the time). Never raises."""
    LOGGER.info("%s", fields.get("event", ""), extra={"fields": fields})


class JsonLines(logging.Formatter):
    """A record as one line of JSON: the fields given to log(), or for other loggers (uvicorn) the
    level, logger and message, with any traceback as a string (newlines escaped, so still one line)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        if not isinstance(fields, dict):
            fields = {"event": "server", "level": record.levelname, "logger": record.name,
                      "message": record.getMessage()}
            if record.exc_info:
                fields["error"] = self.formatException(record.exc_info)
        return json.dumps({"t": round(record.created, 3), **fields}, separators=(",", ":"), default=str)


class LogSink:
    """The queue, the writer thread and the count of dropped lines. `install()` sends the passbg_server
    and uvicorn loggers here; `close()` writes what is queued (waiting at most timeout_s)."""

    def __init__(self, stream: TextIO, lines: int = QUEUE_LINES) -> None:
        self.stream = stream
        self.queue: queue.Queue[logging.LogRecord | None] = queue.Queue(lines)
        self.dropped = 0
        self.handler = _Enqueue(self)
        self.handler.setFormatter(JsonLines())
        self._thread = threading.Thread(target=self._write_all, name="passbg-log", daemon=True)
        self._thread.start()

    def install(self, *names: str) -> None:
        for name in ("passbg_server", "uvicorn", *names):
            logger = logging.getLogger(name)
            logger.handlers[:] = [self.handler]
            logger.propagate = False
        LOGGER.setLevel(logging.INFO)

    def close(self, timeout_s: float = 2.0) -> None:
        try:
            self.queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)

    def _write_all(self) -> None:
        while (record := self.queue.get()) is not None:
            try:
                self.stream.write(record.getMessage() + "\n")
                self.stream.flush()
            except Exception:  # noqa: BLE001 - any sink failure (EPIPE, ENOSPC, closed file) costs the line
                self.dropped += 1


class _Enqueue(QueueHandler):
    """QueueHandler that formats in the caller's thread and drops the line when the queue is full."""

    def __init__(self, sink: LogSink) -> None:
        super().__init__(sink.queue)  # type: ignore[arg-type]
        self.sink = sink

    def enqueue(self, record: logging.LogRecord) -> None:
        self.queue.put_nowait(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self.sink.dropped += 1

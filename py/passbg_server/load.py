"""Throughput and latency of an endpoint under parallel requests (stdlib only).

    .venv/bin/python -m passbg_server.load http://127.0.0.1:7001 PHOTO.jpg --requests 50 --parallel 50 \
        [--cutout] [--pid SERVER_PID]

Prints one JSON object: status counts, successful photos per second, p50/p95/max latency in ms, and with
--pid (Linux, the server on this machine) the server process's resident memory: its RSS before the run,
the highest during it (sampled every 50 ms, or the kernel's own high-water mark if higher).
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


def encode_form(fields: dict[str, bytes | tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """multipart/form-data body and its Content-Type. A value is plain bytes (a text field) or
    (filename, content type, bytes) (a file)."""
    boundary = "passbg" + secrets.token_hex(12)
    out = bytearray()
    for name, value in fields.items():
        out += f"--{boundary}\r\n".encode()
        if isinstance(value, tuple):
            filename, ctype, data = value
            out += f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode()
            out += f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n"
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    ms: float


def post(url: str, body: bytes, content_type: str, headers: dict[str, str] | None = None,
         timeout: float = 300.0) -> Reply:
    """One POST with http.client (no retries); status 0 means the connection itself failed."""
    parts = urlsplit(url)
    start = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers={"Content-Type": content_type, **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data,
                     (time.perf_counter() - start) * 1000)
    except OSError as err:
        return Reply(0, {"error": str(err)}, b"", (time.perf_counter() - start) * 1000)
    finally:
        conn.close()


def _status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssWatch:
    """Samples a process's resident set size every 50 ms while in use (a context manager)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kib, self._stop = pid, 0, threading.Event()
        self.start_kib = _status_kib(pid, "VmRSS")
        if not self.start_kib:
            raise SystemExit(f"load: no process {pid} to watch (is the server running on this machine?)")

    def __enter__(self) -> RssWatch:
        def sample() -> None:
            while not self._stop.wait(0.05):
                self.peak_kib = max(self.peak_kib, _status_kib(self.pid, "VmRSS"))
        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict[str, float]:
        def mib(kib: int) -> float:
            return round(kib / 1024, 1)
        # The kernel's VmHWM also sees peaks between samples; its counters lag a little, so take both.
        return {"start_mib": mib(self.start_kib),
                "peak_mib": mib(max(self.peak_kib, _status_kib(self.pid, "VmHWM")))}


def run_load(url: str, photo: bytes, requests: int, parallel: int, om: bool = True) -> dict:
    """`requests` POSTs of `photo` to url/api/remove, `parallel` at a time (all started together when
    equal). Returns counts by status, successful photos per second and latency percentiles (ms)."""
    body, ctype = encode_form({"file": ("photo.jpg", "image/jpeg", photo)})
    target = url.rstrip("/") + "/api/remove" + ("?om=true" if om else "")
    replies: list[Reply] = []
    lock = threading.Lock()
    todo = iter(range(requests))
    barrier = threading.Barrier(min(parallel, requests))

    def worker() -> None:
        barrier.wait()
        while True:
            with lock:
                if next(todo, None) is None:
                    return
            reply = post(target, body, ctype)
            with lock:
                replies.append(reply)

    threads = [threading.Thread(target=worker) for _ in range(min(parallel, requests))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ok = sorted(r.ms for r in replies if r.status == 200)
    counts: dict[str, int] = {}
    for r in replies:
        counts[str(r.status)] = counts.get(str(r.status), 0) + 1

    def pct(q: float) -> float | None:
        return round(ok[min(len(ok) - 1, int(q * len(ok)))], 1) if ok else None

    return {
        "requests": requests,
        "parallel": parallel,
        "status": counts,
        "wall_s": round(wall, 2),
        "ok_per_s": round(len(ok) / wall, 2),
        "ok_ms": {"p50": pct(0.50), "p95": pct(0.95), "max": ok[-1] if ok else None},
        "replies": replies,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m passbg_server.load", description=__doc__.split("\n\n")[0])
    p.add_argument("url", help="the endpoint's base URL, e.g. http://127.0.0.1:7001")
    p.add_argument("photo", type=Path)
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--parallel", type=int, default=50)
    p.add_argument("--cutout", action="store_true", help="ask for the RGBA cut-out instead of the mask")
    p.add_argument("--pid", type=int, help="the server's process id: report its resident memory too")
    args = p.parse_args(argv)
    photo = args.photo.read_bytes()
    if args.pid:
        with RssWatch(args.pid) as watch:
            report = run_load(args.url, photo, args.requests, args.parallel, om=not args.cutout)
        report["server_rss"] = watch.figures()
    else:
        report = run_load(args.url, photo, args.requests, args.parallel, om=not args.cutout)
    report.pop("replies")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

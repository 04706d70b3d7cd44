"""The reference endpoint keeps serving when its log sink breaks, and a client that is still sending an
upload the server refuses gets the refusal, not a connection reset.

Real processes and real clients: `python -m passbg_server` with its stderr a pipe whose reader has gone
away (or never reads), and urllib (which sends `Connection: close`) posting bodies much larger than the
socket buffers.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_server import MAX_MB, REPO, Server, free_port, start_server, stop

from passbg_server.load import encode_form, post


@pytest.fixture(scope="module")
def photo(portraits_dir) -> bytes:
    return (portraits_dir / "images" / "usc_A000370.jpg").read_bytes()


@pytest.fixture(scope="module")
def server(tmp_path_factory, models_dir) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("server"))
    yield srv
    stop(srv)


def start_with_stderr_pipe(tmp: Path) -> tuple[subprocess.Popen, int, int]:
    """The server with stdout to a file and stderr (its log) into a pipe; returns (process, port, read
    end of the pipe) once /health answers."""
    port = free_port()
    read_end, write_end = os.pipe()
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'py'}",
           "PASSBG_MODELS_DIR": str(REPO / "static" / "models")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "passbg_server", "--port", str(port), "--model", "u2netp", "--threads", "1",
         "--max-mb", str(MAX_MB)],
        cwd=tmp, env=env, stdout=(tmp / "stdout.log").open("wb"), stderr=write_end)
    os.close(write_end)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited at start-up"
        try:
            if get(port, "/health").status == 200:
                return proc, port, read_end
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail("the server did not answer /health within 60 s")


def end(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def get(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> http.client.HTTPResponse:
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return response


def read_log(read_end: int) -> str:
    out = b""
    while select.select([read_end], [], [], 1.0)[0]:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        out += chunk
    return out.decode()


def upload(port: int, photo: bytes) -> int:
    body, ctype = encode_form({"file": ("p.jpg", "image/jpeg", photo)})
    return post(f"http://127.0.0.1:{port}/api/remove?om=true", body, ctype, timeout=120).status


def test_a_log_reader_that_went_away_costs_log_lines_not_requests(tmp_path, models_dir, photo):
    proc, port, read_end = start_with_stderr_pipe(tmp_path)
    try:
        lines = [json.loads(line) for line in read_log(read_end).splitlines()]
        assert lines and lines[0]["event"] == "ready"  # the log is JSON lines while someone reads it
        os.close(read_end)  # the log shipper goes away: every later write to stderr fails with EPIPE
        assert get(port, "/").status == 200
        assert upload(port, photo) == 200
        assert get(port, "/health").status == 200
        assert proc.poll() is None
    finally:
        end(proc)


def test_a_log_reader_that_stopped_reading_does_not_block_serving(tmp_path, models_dir, photo):
    proc, port, read_end = start_with_stderr_pipe(tmp_path)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        # ~150 bytes of log a request: 1000 requests are more than a pipe holds (64 kB) when unread.
        for _ in range(1000):
            assert get(port, "/health", conn).status == 200
        assert upload(port, photo) == 200
        assert len(read_log(read_end)) > 64 * 1024  # the lines were kept, just late
    finally:
        end(proc)
        os.close(read_end)


@pytest.mark.parametrize(
    ("content_type", "status", "words"),
    [("form", 413, f"larger than {MAX_MB} MB"), ("text/plain", 415, "multipart/form-data")],
)
def test_a_client_still_sending_a_refused_upload_gets_the_answer(server, content_type, status, words):
    # urllib asks for `Connection: close`; the body is three times the limit, far more than the socket
    # buffers hold, so the client is still sending when the server has decided.
    data = os.urandom(3 * MAX_MB * 1024 * 1024)
    if content_type == "form":
        body, ctype = encode_form({"file": ("big.jpg", "image/jpeg", data)})
    else:
        body, ctype = data, content_type
    request = urllib.request.Request(server.url + "/api/remove", data=body, method="POST",
                                     headers={"Content-Type": ctype})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == status
    assert words in json.loads(refused.value.read())["error"]
    drained = logged_drain(server, status)
    assert drained > MAX_MB * 1024 * 1024, drained


def logged_drain(server: Server, status: int) -> int:
    """Bytes the last refusal with this status drained, from the log (written by a background thread,
    so it may trail the answer a little)."""
    deadline = time.monotonic() + 10
    while True:
        drains = [line for line in server.log_lines() if line.get("status") == status and "drained" in line]
        if drains or time.monotonic() > deadline:
            return drains[-1]["drained"] if drains else 0
        time.sleep(0.1)

"""The reference endpoint (server/): rembg's API, its limits, and how it behaves under load.

Each test talks HTTP to a real `python -m passbg_server` process on a loopback port (u2netp keeps it quick).
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from passbg_server.load import Reply, encode_form, post, run_load

REPO = Path(__file__).resolve().parents[2]


PAGE_ORIGIN = "http://127.0.0.1:8123"
MAX_MB = 2
MAX_MEGAPIXELS = 6
QUEUE = 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    workdir: Path

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024


def start_server(tmp: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    """`python -m passbg_server` on a free port, run in an empty folder with an empty TMPDIR (to see that
    nothing is written), logging to tmp/server.log. Waits for /health."""
    port = free_port()
    workdir = tmp / "cwd"
    (workdir / "tmp").mkdir(parents=True)
    log = tmp / "server.log"
    full_env = {**os.environ, "TMPDIR": str(workdir / "tmp"), "PYTHONPATH": f"{REPO}:{REPO / 'py'}",
                "PASSBG_MODELS_DIR": str(REPO / "static" / "models"), **(env or {})}
    cmd = [sys.executable, "-m", "passbg_server", "--port", str(port), "--model", "u2netp", "--threads", "1",
           "--origin", PAGE_ORIGIN, "--max-mb", str(MAX_MB), "--max-megapixels", str(MAX_MEGAPIXELS),
           "--queue", str(QUEUE), *args]
    proc = subprocess.Popen(cmd, cwd=workdir, env=full_env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("the server exited: " + log.read_text())
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return Server(url, proc, log, workdir)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail("the server did not answer /health within 60 s: " + log.read_text())


def stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory, models_dir) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("server"))
    yield srv
    stop(srv)


@pytest.fixture(scope="module")
def photo(portraits_dir) -> bytes:
    return (portraits_dir / "images" / "usc_A000370.jpg").read_bytes()


def remove(server: Server, fields: dict, query: str = "", headers: dict | None = None) -> Reply:
    body, ctype = encode_form(fields)
    return post(server.url + "/api/remove" + query, body, ctype, headers)


def error_of(reply: Reply) -> str:
    assert reply.headers["content-type"] == "application/json"
    return json.loads(reply.body)["error"]


def png(reply: Reply) -> Image.Image:
    assert reply.status == 200, reply.body[:300]
    assert reply.headers["content-type"] == "image/png"
    im = Image.open(io.BytesIO(reply.body))
    assert im.format == "PNG"
    return im


# --- the rembg API ---------------------------------------------------------------------------------


def test_mask_has_the_photo_size_and_separates_person_from_background(server, photo):
    im = png(remove(server, {"file": ("p.jpg", "image/jpeg", photo)}, "?om=true"))
    assert im.mode == "L"
    assert im.size == Image.open(io.BytesIO(photo)).size
    mask = np.asarray(im)
    h, w = mask.shape
    assert mask[int(h * 0.6) : int(h * 0.8), w // 2 - 20 : w // 2 + 20].min() > 200  # chest
    assert mask[: h // 10, : w // 10].max() < 30  # top-left corner: wall


def test_om_as_a_form_field_like_rembg_clients_send_it(server, photo):
    im = png(remove(server, {"file": ("p.jpg", "image/jpeg", photo), "om": b"true"}))
    assert im.mode == "L"


def test_without_om_the_answer_is_an_rgba_cutout_of_the_same_size(server, photo):
    reply = remove(server, {"file": ("p.jpg", "image/jpeg", photo)})
    im = png(reply)
    assert im.mode == "RGBA" and im.size == Image.open(io.BytesIO(photo)).size
    alpha = np.asarray(im.getchannel("A"))
    assert alpha.min() == 0 and alpha.max() == 255
    assert reply.headers["x-passbg-model"] == "u2netp"


def test_get_with_a_url_is_refused_the_server_never_fetches(server):
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=10)
    conn.request("GET", "/api/remove?url=http://example.com/x.jpg")
    response = conn.getresponse()
    assert response.status == 405
    assert "POST" in json.loads(response.read())["error"]


# --- limits and bad input ----------------------------------------------------------------------


def test_oversize_upload_is_refused_by_content_length(server):
    reply = remove(server, {"file": ("big.jpg", "image/jpeg", os.urandom(MAX_MB * 1024 * 1024 + 10))})
    assert reply.status == 413
    assert f"{MAX_MB} MB" in error_of(reply)


def test_oversize_upload_is_refused_while_streaming_without_content_length(server):
    body, ctype = encode_form({"file": ("big.jpg", "image/jpeg", os.urandom(MAX_MB * 1024 * 1024 + 10))})
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=30)
    conn.putrequest("POST", "/api/remove")
    conn.putheader("Content-Type", ctype)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for i in range(0, len(body), 65536):
            chunk = body[i : i + 65536]
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may close the connection as soon as it has refused the upload
    response = conn.getresponse()
    assert response.status == 413


def test_too_many_pixels_is_refused_before_decoding(server):
    buf = io.BytesIO()
    Image.new("RGB", (4000, 2000), (200, 200, 200)).save(buf, "PNG")  # 8 MP in a few kB
    reply = remove(server, {"file": ("flat.png", "image/png", buf.getvalue())})
    assert reply.status == 413
    assert "megapixels" in error_of(reply)


def test_a_text_part_is_refused_as_the_wrong_type(server):
    reply = remove(server, {"file": ("notes.txt", "text/plain", b"hello")})
    assert reply.status == 415
    assert "not an image" in error_of(reply)


def test_a_body_that_is_not_a_form_is_refused(server):
    reply = post(server.url + "/api/remove", b'{"file": "x"}', "application/json")
    assert reply.status == 415
    assert "multipart/form-data" in error_of(reply)


def test_text_dressed_as_jpeg_is_refused_in_plain_words(server):
    reply = remove(server, {"file": ("p.jpg", "image/jpeg", b"just some text, not a photo\n" * 20)})
    assert reply.status == 422
    assert "not a photo" in error_of(reply)


def test_truncated_image_is_refused_in_plain_words(server, photo):
    reply = remove(server, {"file": ("p.jpg", "image/jpeg", photo[: len(photo) // 3])})
    assert reply.status == 422
    assert "damaged or incomplete" in error_of(reply)


def test_a_form_without_the_file_field_is_refused(server, photo):
    reply = remove(server, {"image": ("p.jpg", "image/jpeg", photo)})
    assert reply.status == 400
    assert "'file'" in error_of(reply)


# --- CORS ----------------------------------------------------------------------------------------


def preflight(server: Server, origin: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=10)
    conn.request("OPTIONS", "/api/remove", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    response = conn.getresponse()
    response.read()
    return response


def test_cors_allows_the_configured_page_origin_only(server, photo):
    allowed = preflight(server, PAGE_ORIGIN)
    assert allowed.getheader("access-control-allow-origin") == PAGE_ORIGIN
    assert "authorization" in allowed.getheader("access-control-allow-headers").lower()
    other = preflight(server, "http://127.0.0.1:9")
    assert other.getheader("access-control-allow-origin") is None
    reply = remove(server, {"file": ("p.jpg", "image/jpeg", photo)}, "?om=true", {"Origin": "http://evil.test"})
    assert "access-control-allow-origin" not in reply.headers


# --- token ---------------------------------------------------------------------------------------


def test_bearer_token_is_required_when_configured(tmp_path, photo):
    srv = start_server(tmp_path, env={"PASSBG_TOKEN": "s3cret-token"})
    try:
        fields = {"file": ("p.jpg", "image/jpeg", photo)}
        assert remove(srv, fields, "?om=true").status == 401
        wrong = remove(srv, fields, "?om=true", {"Authorization": "Bearer nope"})
        assert wrong.status == 401 and "token" in error_of(wrong)
        assert remove(srv, fields, "?om=true", {"Authorization": "Bearer s3cret-token"}).status == 200
    finally:
        stop(srv)
    assert "s3cret" not in srv.log.read_text()


# --- load, memory, privacy -------------------------------------------------------------------------


@pytest.mark.slow
def test_fifty_parallel_requests_get_a_png_or_a_clear_503_and_memory_stays_bounded(server, photo):
    single = remove(server, {"file": ("p.jpg", "image/jpeg", photo)}, "?om=true")
    assert single.status == 200
    rss_one = server.peak_rss_mb()
    report = run_load(server.url, photo, requests=50, parallel=50)
    statuses = report["status"]
    assert set(statuses) <= {"200", "503"}, statuses
    assert statuses.get("200", 0) >= QUEUE  # every admitted request is served
    for reply in report["replies"]:
        if reply.status == 503:
            assert reply.headers["retry-after"] == "5"
            assert "busy" in json.loads(reply.body)["error"]
        else:
            assert Image.open(io.BytesIO(reply.body)).size == Image.open(io.BytesIO(photo)).size
    assert server.proc.poll() is None
    assert remove(server, {"file": ("p.jpg", "image/jpeg", photo)}, "?om=true").status == 200
    # Waiting requests hold only their body; one photo is worked on at a time.
    growth = server.peak_rss_mb() - rss_one
    assert growth < QUEUE * MAX_MB + 150, f"peak memory grew by {growth:.0f} MB under load"
    print(f"\nload: {json.dumps({k: v for k, v in report.items() if k != 'replies'})}, "
          f"peak RSS {server.peak_rss_mb():.0f} MB")


def files_under(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def test_requests_write_nothing_to_disk_and_logs_hold_no_image_data(server, photo):
    # onnxruntime itself drops a 51-byte '.ses' file (a telemetry session id) into TMPDIR when it is
    # imported; that happens at start-up, before any photo. Requests must add or change nothing.
    before = files_under(server.workdir)
    assert set(before) <= {"tmp", "tmp/.ses"}
    remove(server, {"file": ("holiday-in-rome.jpg", "image/jpeg", photo)}, "?om=true")
    big = remove(server, {"file": ("holiday-in-rome.jpg", "image/jpeg", photo + os.urandom(1_500_000))})
    assert big.status in (200, 422)  # > 1 MB: where a spooling form parser would go to disk
    assert files_under(server.workdir) == before
    lines = server.log_lines()
    requests = [line for line in lines if line.get("event") == "request"]
    assert requests and all("status" in line and "ms" in line for line in requests)
    text = server.log.read_text()
    assert "holiday-in-rome" not in text
    assert len(max(text.splitlines(), key=len)) < 1000  # no pixels, no base64


def test_info_and_every_answer_name_the_model_and_pipeline(server, photo):
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=10)
    conn.request("GET", "/api/info")
    info = json.loads(conn.getresponse().read())
    assert info["model"] == "u2netp"
    assert info["pipeline"] == "whole frame + flip + region + islands + specks"
    assert info["steps"] == ["flip", "region", "islands", "specks"]
    reply = remove(server, {"file": ("p.jpg", "image/jpeg", photo)}, "?om=true", {"Origin": PAGE_ORIGIN})
    assert reply.headers["x-passbg-pipeline"] == info["pipeline"]
    assert "X-Passbg-Pipeline" in reply.headers["access-control-expose-headers"]  # the page may read it

"""Cloud second opinion in the real page: consent, thresholds, 'never upload', metadata, failures, CSP.

Endpoints are real HTTP servers on loopback: a recording endpoint in this process (it answers with a
real mask from the passbg core, or misbehaves on purpose, per path), our reference server
(`python -m passbg_server`), and PyPI's rembg (`rembg s`) in its own venv.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from conftest import FINISHED_STATES, open_app, wait_for_status
from passbg.quality import checks
from passbg_server.engine import Engine
from passbg_server.form import boundary_of, parse_form

REPO = Path(__file__).resolve().parents[2]


BAD_PHOTO = "usc_A000370.jpg"  # u2netp scores it below the default threshold (head touches the side)
SECRET_MAKE = "SecretCam 9000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a recording endpoint that can misbehave ---------------------------------------------------------


@dataclass
class Recorder:
    """rembg-compatible endpoint; the first path segment picks the behaviour:
    good (a real u2netp mask), box (a crude rectangle: a worse cut-out), empty (no person at all), slow,
    http500, refusetext (a 413 in plain text, as a proxy words it), nocors, notpng, wrongsize, truncated."""

    engine: Engine
    origin: str = ""
    posts: list[dict] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def url(self, mode: str) -> str:
        return f"{self.origin}/{mode}"


def make_handler(rec: Recorder):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _cors(self, mode: str) -> None:
            if mode != "nocors" and self.headers.get("Origin"):
                self.send_header("Access-Control-Allow-Origin", self.headers["Origin"])
                self.send_header("Access-Control-Allow-Headers", "*")
                self.send_header("Access-Control-Allow-Methods", "POST")

        def _reply(self, mode: str, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self._cors(mode)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except BrokenPipeError:
                pass  # the page gave up (its timeout), as it should

        def do_OPTIONS(self) -> None:  # noqa: N802
            rec.requests.append(f"OPTIONS {self.path}")
            self._reply(self.path.split("/")[1], 204, "text/plain", b"")

        def do_GET(self) -> None:  # noqa: N802
            rec.requests.append(f"GET {self.path}")
            self._reply("good", 200, "text/plain", b"recorder")

        def do_POST(self) -> None:  # noqa: N802
            mode = self.path.split("/")[1]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            rec.requests.append(f"POST {self.path}")
            form = parse_form(body, boundary_of(self.headers["Content-Type"]))
            photo = bytes(form["file"].data)
            rec.posts.append({"path": self.path, "headers": dict(self.headers), "photo": photo,
                              "fields": {k: bytes(v.data) for k, v in form.items() if k != "file"}})
            size = Image.open(io.BytesIO(photo)).size
            if mode == "slow":
                time.sleep(8)
            if mode == "http500":
                return self._reply(mode, 500, "application/json", b'{"error": "model crashed"}')
            if mode == "refusetext":
                return self._reply(mode, 413, "text/plain; charset=utf-8", b"Photos up to 1 MB, please.\n")
            if mode == "notpng":
                return self._reply(mode, 200, "text/html", b"<html>Sign in to continue</html>")
            if mode in ("wrongsize", "empty", "box"):
                side = (size[0] // 2, size[1] // 2) if mode == "wrongsize" else size
                mask = Image.new("L", side, 0)
                if mode == "box":
                    mask.paste(255, (side[0] // 4, side[1] // 4, side[0] * 3 // 4, side[1]))
                buf = io.BytesIO()
                mask.save(buf, "PNG")
                return self._reply(mode, 200, "image/png", buf.getvalue())
            mask = rec.engine.remove(photo, mask_only=True)
            if mode == "truncated":
                mask = mask[: len(mask) // 2]
            self._reply(mode, 200, "image/png", mask)

    return Handler


@pytest.fixture(scope="module")
def recorder(manifest, ort_backend) -> Iterator[Recorder]:
    rec = Recorder(engine=Engine(manifest.get("u2netp"), ort_backend, 50_000_000))
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(rec))
    rec.origin = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh(recorder: Recorder) -> Recorder:
    recorder.posts.clear()
    recorder.requests.clear()
    return recorder


# --- page helpers --------------------------------------------------------------------------------------


def with_settings(page, **settings) -> None:
    """Store cloud settings before the page's first script runs (as if saved on an earlier visit), and
    count the results the page shows."""
    page.add_init_script(f"localStorage.setItem('passbg.cloud', {json.dumps(json.dumps(settings))})")
    page.add_init_script("window.__results = 0; addEventListener('passbg:result', () => window.__results++)")


def open_with(page, site_url: str, **settings) -> None:
    """Open the page with these cloud settings, on the quick u2netp model."""
    with_settings(page, **settings)
    open_app(page, site_url)
    page.select_option("[data-testid=model]", "u2netp")


def save_settings(page, *, mode: str | None = None, endpoint: str | None = None,
                  threshold: int | None = None, timeout: int | None = None) -> None:
    page.evaluate("document.getElementById('cloud-details').open = true")
    if mode:
        page.check(f"[data-testid=cloud-mode-{mode}]")
    if endpoint is not None:
        page.fill("[data-testid=cloud-endpoint]", endpoint)
    if threshold is not None:
        page.fill("[data-testid=cloud-threshold]", str(threshold))
    if timeout is not None:
        page.fill("[data-testid=cloud-timeout]", str(timeout))
    page.click("[data-testid=cloud-save]")


def choose_photo(page, photo: Path) -> None:
    """Choose a photo (again) and wait until its new result is on screen."""
    count = page.evaluate("window.__results")
    page.set_input_files("[data-testid=photo-input]", [])
    page.set_input_files("[data-testid=photo-input]", str(photo))
    page.wait_for_function("n => window.__results > n", arg=count, timeout=240_000)
    assert wait_for_status(page, FINISHED_STATES, 240) == "done"


def settle(page, seconds: float = 1.5) -> None:
    """Give cloud.js time to react to a result (it would open the dialog or send within this time)."""
    page.wait_for_timeout(seconds * 1000)


def cloud_message(page, timeout_s: float = 60) -> str:
    page.wait_for_function(
        "() => { const m = document.querySelector('[data-testid=cloud-message]');"
        " return !m.hidden && m.dataset.kind !== 'busy' && m.textContent.trim() !== '' }",
        timeout=timeout_s * 1000,
    )
    return page.inner_text("[data-testid=cloud-message]")


def consent_open(page) -> bool:
    return page.evaluate("document.querySelector('[data-testid=cloud-consent]').open")


def ask_and_send(page) -> str:
    """Click 'ask', accept in the dialog; returns the message once the exchange is over."""
    page.evaluate("document.querySelector('[data-testid=cloud-message]').textContent = ''")
    page.click("[data-testid=cloud-ask]")
    page.wait_for_function("document.querySelector('[data-testid=cloud-consent]').open")
    page.click("[data-testid=cloud-send]")
    return cloud_message(page)


def shown_result(page) -> tuple[str, str]:
    return page.get_attribute("[data-testid=result]", "src"), page.evaluate("window.passbg.lastMeta.model.id")


def requests_to(urls: list[str], origin: str) -> list[str]:
    host = urlsplit(origin).netloc
    return [u for u in urls if urlsplit(u).netloc == host]


@pytest.fixture(scope="module")
def photo_with_metadata(portraits_dir, tmp_path_factory) -> Path:
    """The bad photo with EXIF camera make and a GPS position added."""
    im = Image.open(portraits_dir / "images" / BAD_PHOTO)
    exif = Image.Exif()
    exif[0x010F] = SECRET_MAKE  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPSInfo
    path = tmp_path_factory.mktemp("exif") / "with-gps.jpg"
    im.save(path, "JPEG", quality=95, exif=exif)
    assert Image.open(path).getexif().get_ifd(0x8825)  # the GPS position really is in the file
    assert SECRET_MAKE.encode() in path.read_bytes()
    return path


# --- tests -------------------------------------------------------------------------------------------


def test_never_upload_sends_nothing_for_a_bad_photo_and_the_policy_blocks_the_endpoint(
    page, site_url, request_log, fresh, portraits_dir
):
    open_with(page, site_url, mode="never", endpoint=fresh.url("good"), threshold=101)
    assert page.evaluate("window.passbgPolicy.endpointOrigin") == ""
    choose_photo(page, portraits_dir / "images" / BAD_PHOTO)
    settle(page, 3)
    assert "never to upload" in cloud_message(page)
    assert not consent_open(page)
    assert page.is_hidden("[data-testid=cloud-ask]")
    # Even a script that tried would be stopped by the page's security policy.
    blocked = page.evaluate("u => fetch(u, {method: 'POST', body: 'x'}).then(() => 'sent', e => 'blocked')",
                            fresh.url("good") + "/api/remove")
    assert blocked == "blocked"
    assert requests_to(request_log, fresh.origin) == []
    assert fresh.requests == [] and fresh.posts == []


def test_fallback_only_below_threshold_only_with_consent_and_without_metadata(
    page, site_url, request_log, fresh, photo_with_metadata
):
    # Before any result, the threshold field suggests the app's own threshold from checks.json.
    with_settings(page, mode="ask", endpoint=fresh.url("good"))
    open_app(page, site_url)
    shipped = checks.default_config()["cloud_below"]
    assert page.get_attribute("[data-testid=cloud-threshold]", "placeholder") == str(shipped)
    assert f"scores below {shipped}" in page.text_content("[data-testid=cloud-explain]")
    page.select_option("[data-testid=model]", "u2netp")
    save_settings(page, threshold=0)
    # Threshold 0: no score is below it, so nothing is offered or sent.
    choose_photo(page, photo_with_metadata)
    settle(page)
    quality = page.evaluate("window.passbg.lastMeta.quality")
    assert 0 <= quality["score"] <= 100
    assert not consent_open(page) and page.is_hidden("[data-testid=cloud-ask]")
    assert fresh.posts == []

    # Above every score: the page asks, naming the host and what would be sent; declining sends nothing.
    save_settings(page, threshold=101)
    choose_photo(page, photo_with_metadata)
    page.wait_for_function("document.querySelector('[data-testid=cloud-consent]').open", timeout=10000)
    text = page.inner_text("[data-testid=cloud-consent-text]")
    host = urlsplit(fresh.origin).netloc
    assert host in text and "without EXIF, GPS" in text and "675×825 JPEG" in text
    page.click("[data-testid=cloud-keep]")
    settle(page)
    assert fresh.posts == [] and requests_to(request_log, fresh.origin) == []

    # With consent: exactly one upload, holding a fresh JPEG and nothing of the original file's metadata.
    before = shown_result(page)
    message = ask_and_send(page)
    assert len(fresh.posts) == 1
    sent = fresh.posts[0]
    assert sent["fields"].get("om") == b"true"
    assert sent["headers"].get("Referer") is None and "Cookie" not in sent["headers"]
    received = Image.open(io.BytesIO(sent["photo"]))
    assert received.format == "JPEG" and received.size == (675, 825)
    assert not received.getexif() and "icc_profile" not in received.info and "exif" not in received.info
    assert SECRET_MAKE.encode() not in sent["photo"]
    # Both scores are shown and the better result is the one on screen.
    meta = page.evaluate("window.passbg.lastMeta")
    local_score = page.evaluate("window.passbgCloud.quality.score")
    scores = page.inner_text("[data-testid=cloud-scores]")
    assert f"{local_score}/100" in scores
    used = page.get_attribute("[data-testid=cloud-scores]", "data-used")
    if used == "cloud":
        assert "Using the result from" in message and meta["model"]["id"] == f"cloud:{host}"
        assert host in page.inner_text("[data-testid=model-used]")
        assert shown_result(page)[0] != before[0]
    else:
        assert "Keeping the result made on this device" in message and shown_result(page) == before

    # Automatic mode: below the threshold it sends without asking...
    save_settings(page, mode="auto")
    choose_photo(page, photo_with_metadata)
    page.wait_for_function("window.passbgCloud.requests >= 2", timeout=60000)
    cloud_message(page)
    assert not consent_open(page)
    assert len(fresh.posts) == 2
    # ...and at or above it, never.
    save_settings(page, threshold=0)
    choose_photo(page, photo_with_metadata)
    settle(page, 3)
    assert len(fresh.posts) == 2


def test_an_answer_that_scores_lower_keeps_the_local_result(page, site_url, fresh, portraits_dir):
    open_with(page, site_url, mode="ask", endpoint=fresh.url("box"), threshold=101)
    choose_photo(page, portraits_dir / "images" / BAD_PHOTO)
    page.wait_for_function("document.querySelector('[data-testid=cloud-consent]').open", timeout=10000)
    page.click("[data-testid=cloud-keep]")
    before = shown_result(page)
    message = ask_and_send(page)
    assert "Keeping the result made on this device" in message
    local, remote = page.evaluate("[window.passbgCloud.quality.score, window.passbg.lastMeta.quality.score]")
    assert local == remote  # the page still shows (and scores) the local result
    assert page.get_attribute("[data-testid=cloud-scores]", "data-used") == "local"
    assert shown_result(page) == before


FAILURES = {
    # mode: words the user must see
    "slow": "did not answer within 2 s",
    "http500": "HTTP 500: model crashed.",
    "refusetext": "HTTP 413: Photos up to 1 MB, please.",
    "nocors": "does not allow this page",
    "notpng": "not a PNG",
    "wrongsize": "337×412 image for a 675×825 photo",
    "truncated": "broken or incomplete",
    "empty": "found no person",
}


def test_every_failure_keeps_the_local_result_with_a_clear_message(
    page, site_url, fresh, portraits_dir, context
):
    open_with(page, site_url, mode="ask", endpoint=fresh.url("good"), threshold=101)
    choose_photo(page, portraits_dir / "images" / BAD_PHOTO)
    page.wait_for_function("document.querySelector('[data-testid=cloud-consent]').open", timeout=10000)
    page.click("[data-testid=cloud-keep]")
    before = shown_result(page)
    seen = {}
    for mode, words in FAILURES.items():
        save_settings(page, endpoint=fresh.url(mode), timeout=2 if mode == "slow" else 60)
        message = ask_and_send(page)
        seen[mode] = message
        assert words in message, (mode, message)
        assert "local result stays" in message
        assert shown_result(page) == before
        assert page.inner_text("[data-testid=status]").strip() == "done"
    # No retries: one POST per attempt, except where CORS stopped it at the preflight.
    posted = [p["path"].split("/")[1] for p in fresh.posts]
    assert posted == [m for m in FAILURES if m != "nocors"]
    assert "OPTIONS /nocors/api/remove?om=true" in fresh.requests  # refused before the photo was sent
    context.set_offline(True)
    try:
        save_settings(page, endpoint=fresh.url("good"))
        message = ask_and_send(page)
    finally:
        context.set_offline(False)
    seen["offline"] = message
    assert "offline" in message and "local result stays" in message
    assert shown_result(page) == before
    print("\nfailure messages:\n" + "\n".join(f"  {k}: {v}" for k, v in seen.items()))


def test_endpoint_down_keeps_the_local_result(page, site_url, portraits_dir):
    closed = f"http://127.0.0.1:{free_port()}"
    open_with(page, site_url, mode="ask", endpoint=closed, threshold=101)
    choose_photo(page, portraits_dir / "images" / BAD_PHOTO)
    page.wait_for_function("document.querySelector('[data-testid=cloud-consent]').open", timeout=10000)
    page.click("[data-testid=cloud-keep]")
    before = shown_result(page)
    message = ask_and_send(page)
    print(f"\nendpoint down: {message}")
    assert "the server is down or unreachable" in message and "local result stays" in message
    assert shown_result(page) == before


def test_policy_allows_only_this_site_and_the_configured_endpoint(page, site_url, fresh, request_log):
    other = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Recorder(engine=fresh.engine)))
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        other_origin = f"http://127.0.0.1:{other.server_address[1]}"
        open_with(page, site_url, mode="ask", endpoint=fresh.url("good"))  # the app boots under the policy
        policy = page.get_attribute("meta#csp", "content")
        assert f"connect-src 'self' {fresh.origin} blob: data:" in policy
        fetch = "u => fetch(u).then(r => 'allowed ' + r.status, e => 'blocked')"
        assert page.evaluate(fetch, fresh.origin + "/") == "allowed 200"
        violations = page.evaluate("""u => new Promise(resolve => {
            const seen = [];
            addEventListener('securitypolicyviolation',
                             e => seen.push(e.violatedDirective + ' ' + e.blockedURI));
            fetch(u).catch(() => setTimeout(() => resolve(seen), 200));
        })""", other_origin + "/")
        assert violations and violations[0].startswith("connect-src")
        assert requests_to(request_log, other_origin) == []
        # Switching to 'never upload' narrows the policy at once, without a reload.
        save_settings(page, mode="never")
        assert page.evaluate(fetch, fresh.origin + "/") == "blocked"
        # Same-site requests keep working (the app and its models).
        assert page.evaluate(fetch, site_url + "static/models/manifest.json") == "allowed 200"
    finally:
        other.shutdown()
        other.server_close()


# --- real endpoints: ours and PyPI rembg -------------------------------------------------------------


def wait_http(port: int, path: str, proc: subprocess.Popen, log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("the endpoint exited: " + log.read_text()[-3000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"the endpoint did not answer within {timeout_s} s: " + log.read_text()[-3000:])


@pytest.fixture(scope="module")
def reference_server(site_url, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    yield from run_reference_server(site_url, tmp_path_factory)


@pytest.fixture(scope="module")
def small_reference_server(site_url, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Our server with a 10 kB upload limit: it refuses the page's photo while the page is sending."""
    yield from run_reference_server(site_url, tmp_path_factory, "--max-mb", "0.01")


@pytest.fixture(scope="module")
def strong_reference_server(site_url, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Our server on IS-Net (the page's default model) with its full pipeline: stronger than u2netp."""
    yield from run_reference_server(site_url, tmp_path_factory, model="isnet-fp16")


def run_reference_server(site_url, tmp_path_factory, *extra: str,
                         model: str = "u2netp") -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path_factory.mktemp("ref") / "server.log"
    origin = site_url.rstrip("/")
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'py'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "passbg_server", "--port", str(port), "--model", model, "--threads", "1",
         "--origin", origin, *extra], cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_http(port, "/health", proc, log)
    yield f"http://127.0.0.1:{port}", log
    proc.terminate()
    proc.wait(10)


def run_against(page, site_url, endpoint: str, portraits_dir, **settings) -> str:
    open_with(page, site_url, mode="ask", endpoint=endpoint, threshold=101, timeout=120, **settings)
    choose_photo(page, portraits_dir / "images" / BAD_PHOTO)
    page.wait_for_function("document.querySelector('[data-testid=cloud-consent]').open", timeout=10000)
    page.click("[data-testid=cloud-send]")
    return cloud_message(page, 180)


def test_page_works_against_our_reference_server(page, site_url, reference_server, portraits_dir):
    url, log = reference_server
    message = run_against(page, site_url, url, portraits_dir)
    assert "Using the result from" in message or "Keeping the result made on this device" in message
    scores = page.inner_text("[data-testid=cloud-scores]")
    assert "on this device" in scores and urlsplit(url).netloc in scores
    # The server names what answered (X-Passbg-Model / X-Passbg-Pipeline) and the page shows it.
    assert "(u2netp, whole frame + flip + region + islands + specks)" in scores
    posts = [json.loads(line) for line in log.read_text().splitlines()
             if line.startswith("{") and '"POST"' in line]
    assert len(posts) == 1 and posts[0]["status"] == 200 and posts[0]["om"] is True


def test_a_stronger_second_opinion_wins_on_a_low_scoring_photo_and_the_page_keeps_it(
    page, site_url, strong_reference_server, portraits_dir
):
    """The case the cloud path exists for: the page's quick model does badly on a photo (its score is below
    the app's own threshold, not a test threshold), the user consents, our server answers with a better
    cut-out, and the page shows that one, naming the server, its model and its pipeline."""
    url, log = strong_reference_server
    open_with(page, site_url, mode="ask", endpoint=url, timeout=120)
    choose_photo(page, portraits_dir / "images" / BAD_PHOTO)
    local = page.evaluate("window.passbg.lastMeta.quality")
    assert local["score"] < checks.default_config()["cloud_below"]
    page.wait_for_function("document.querySelector('[data-testid=cloud-consent]').open", timeout=10000)
    before = shown_result(page)
    page.click("[data-testid=cloud-send]")
    message = cloud_message(page, 180)
    host = urlsplit(url).netloc
    assert "Using the result from" in message
    assert page.get_attribute("[data-testid=cloud-scores]", "data-used") == "cloud"
    remote = page.evaluate("window.passbg.lastMeta")
    assert remote["model"]["id"] == f"cloud:{host}" and remote["quality"]["score"] > local["score"]
    assert shown_result(page)[0] != before[0]
    assert host in page.inner_text("[data-testid=model-used]")
    scores = page.inner_text("[data-testid=cloud-scores]")
    assert f"{local['score']}/100" in scores and f"{remote['quality']['score']}/100" in scores
    assert "(isnet-fp16, whole frame + flip + region + islands + specks)" in scores
    print(f"\nsecond opinion: {scores!r}")


def test_page_shows_our_servers_refusal_in_its_words(page, site_url, small_reference_server, portraits_dir):
    url, log = small_reference_server
    message = run_against(page, site_url, url, portraits_dir)
    print(f"\nrefused: {message}")
    assert "answered HTTP 413: The upload is larger than 0.01 MB; send a smaller photo." in message
    assert "local result stays" in message
    refused = [json.loads(line) for line in log.read_text().splitlines() if '"status":413' in line]
    assert len(refused) == 1


REMBG_VENV = REPO / ".cache" / "rembg-venv"


@pytest.fixture(scope="module")
def rembg_server(models_dir, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """PyPI rembg's own server (`rembg s`) in a separate venv, with our u2netp.onnx in its model folder
    (it cannot download models here)."""
    rembg = REMBG_VENV / "bin" / "rembg"
    if not rembg.exists():
        subprocess.run([sys.executable, "-m", "venv", str(REMBG_VENV)], check=True)
        subprocess.run([str(REMBG_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                        "rembg[cpu,cli]"], check=True)
    home = tmp_path_factory.mktemp("u2net_home")
    os.link(models_dir / "u2netp.onnx", home / "u2netp.onnx")
    port = free_port()
    log = home / "rembg.log"
    # Our u2netp.onnx is byte-identical to rembg's release file (same md5), so rembg takes it as its
    # own. BROWSER=true: `rembg s` opens a web browser at start-up; make that a no-op.
    env = {**os.environ, "U2NET_HOME": str(home), "OMP_NUM_THREADS": "1", "BROWSER": "true"}
    proc = subprocess.Popen([str(rembg), "s", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_http(port, "/api", proc, log, timeout_s=180)
    yield f"http://127.0.0.1:{port}", log
    proc.terminate()
    proc.wait(10)


@pytest.mark.slow
def test_page_works_against_pypi_rembg_server(page, site_url, rembg_server, portraits_dir):
    url, log = rembg_server
    message = run_against(page, site_url, url, portraits_dir, model="u2netp")
    print(f"\nrembg s: {message}\n{page.inner_text('[data-testid=cloud-scores]')}")
    assert "Using the result from" in message or "Keeping the result made on this device" in message

"""Bad input and broken environments through the real page (a lean subset of tests/corpus).

Each bad file ends in a plain-words message or a result with a notice, never a frozen tab or a Python
traceback, and the user's photo stays in the page. Big photos go through the wasm32 worker without a
crash. A damaged or missing model and a dead worker each end in a clear message.
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import _load_build_module, open_app, process_photo, status_of, wait_for_status

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
import make_corpus  # noqa: E402
import report  # noqa: E402

CASES = {c.name: c for c in make_corpus.cases()}
SMALL_SUBSET = [c.name for c in make_corpus.cases() if c.browser and "megapixels" not in c.name]
MODEL = "u2netp"
PORTRAIT = "usc_B001285.jpg"


@pytest.fixture(scope="module")
def corpus(portraits_dir) -> Path:
    return report.corpus_dir()


def shown(page) -> dict:
    """What the user sees after a run: state, error text, notices, and the photo the page keeps."""
    return page.evaluate(
        """() => ({
            state: document.querySelector('[data-testid=status]').textContent.trim(),
            error: document.querySelector('[data-testid=error]').hidden ? ''
                   : document.querySelector('[data-testid=error]').textContent,
            notices: document.querySelector('[data-testid=notices]').hidden ? ''
                     : document.querySelector('[data-testid=notices]').textContent,
            photo: window.passbg.photo ? window.passbg.photo.name : null,
        })"""
    )


def test_bad_and_unusual_files_get_a_plain_message_or_a_result_with_a_notice(page, site_url, corpus):
    open_app(page, site_url)
    page.select_option("[data-testid=model]", MODEL)
    rows = []
    for name in SMALL_SUBSET:
        case = CASES[name]
        start = time.perf_counter()
        state = process_photo(page, corpus / case.file, timeout_s=120)
        seconds = time.perf_counter() - start
        seen = shown(page)
        rows.append(f"{case.file:18} {state:6} {seconds:5.1f} s  {seen['error'] or seen['notices'] or '-'}")
        assert seen["photo"] == case.file, "the user's photo stays in the page"
        assert "Traceback" not in seen["error"] and "Error:" not in seen["error"]
        if case.expect == "error":
            assert state == "error", f"{name}: {seen}"
            text = seen["error"]
        else:
            assert state == "done", f"{name}: {seen}"
            text = seen["notices"]
        for word in case.says:
            assert word.lower() in text.lower(), f"{name}: {word!r} not in {text!r}"
        # The tab is alive: the main thread answers at once.
        assert page.evaluate("() => 1 + 1") == 2
    print("\n" + "\n".join(rows))


def _memory(page) -> dict:
    """Memory of the page and its workers (Chromium's measureUserAgentSpecificMemory, which needs the
    cross-origin isolation the site has), plus the main thread's JS heap."""
    return page.evaluate(
        """async () => {
            const out = {js_heap: performance.memory ? performance.memory.usedJSHeapSize : null};
            if (performance.measureUserAgentSpecificMemory) {
                const m = await performance.measureUserAgentSpecificMemory();
                out.total = m.bytes;
                out.workers = m.breakdown
                    .filter(b => b.attribution.some(a => a.scope === 'DedicatedWorkerGlobalScope'))
                    .reduce((s, b) => s + b.bytes, 0);
                out.breakdown = m.breakdown.filter(b => b.bytes > 1e6)
                    .map(b => [b.bytes, b.types.join('+'), b.attribution.map(a => a.scope).join('+')]);
            }
            return out;
        }"""
    )


@pytest.mark.parametrize("name", ["24-megapixels", "48-megapixels", "48-megapixels-heic"])
def test_big_camera_photos_go_through_the_wasm_worker(page, site_url, corpus, name):
    open_app(page, site_url)
    case = CASES[name]
    start = time.perf_counter()
    state = process_photo(page, corpus / case.file, model=MODEL, timeout_s=300)
    seconds = time.perf_counter() - start
    seen = shown(page)
    assert state == "done", seen
    meta = page.evaluate("() => window.passbg.lastMeta")
    assert max(meta["width"], meta["height"]) == 2560
    assert "working at" in seen["notices"].lower()
    memory = _memory(page)
    print(f"\n{case.file}: {seconds:.1f} s, memory {memory}")
    if memory.get("workers"):
        # wasm memory never shrinks, so this is the worker's peak; wasm32 allows at most 4 GB.
        assert memory["workers"] < 2.5e9, memory


def _serve(site_root: Path, handler_body: dict):
    """build.py's site server on a free port with some handler methods replaced; returns (url, stop)."""
    build = _load_build_module()
    handler = type("TestHandler", (build.SiteHandler,), handler_body)
    server = build.SiteServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site_root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}/", stop


def _broken_model_handler(body: bytes | None) -> dict:
    """do_GET answering the u2netp model with `body` (wrong bytes) or 404 when body is None."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        if not self.path.split("?")[0].endswith(f"/static/models/{MODEL}.onnx"):
            return http.server.SimpleHTTPRequestHandler.do_GET(self)
        if body is None:
            self.send_error(404, "Not Found")
            return None
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None

    return {"do_GET": do_GET}


@pytest.mark.parametrize(
    ("body", "words"), [(b"\0" * 4096, "damaged"), (None, "missing")], ids=["corrupt", "missing"]
)
def test_a_damaged_or_missing_model_gives_a_clear_message(page, site_root, portraits_dir, body, words):
    url, stop = _serve(site_root, _broken_model_handler(body))
    try:
        open_app(page, url)
        state = process_photo(page, portraits_dir / "images" / PORTRAIT, model=MODEL, timeout_s=120)
        seen = shown(page)
    finally:
        stop()
    assert state == "error"
    assert words in seen["error"] and "model" in seen["error"].lower(), seen
    assert "JsException" not in seen["error"]
    assert seen["photo"] == PORTRAIT


def test_a_dead_worker_ends_in_a_clear_message_and_keeps_the_photo(page, site_url, portraits_dir):
    page.add_init_script("window.passbgWatchdogMs = 4000")
    open_app(page, site_url)
    page.evaluate("() => document.getElementById('engine').xworker.terminate()")
    page.set_input_files("[data-testid=photo-input]", str(portraits_dir / "images" / PORTRAIT))
    assert wait_for_status(page, ("done", "error"), 30) == "error"
    seen = shown(page)
    assert "stopped responding" in seen["error"] and "reload" in seen["error"], seen
    assert seen["photo"] == PORTRAIT
    assert status_of(page) == "error"


def test_a_dead_onnxruntime_worker_ends_in_a_clear_message_at_once_and_keeps_the_photo(
    page, site_url, portraits_dir
):
    open_app(page, site_url)  # the page's watchdog keeps its 3 minutes: the message must come sooner
    # The 16-bit model: its inference lasts long enough (~3 s) to be caught while it runs; the 8-bit
    # default can finish before the worker is stopped.
    page.select_option("[data-testid=model]", "isnet-fp16")
    page.set_input_files("[data-testid=photo-input]", str(portraits_dir / "images" / PORTRAIT))
    wait_for_status(page, ("segmenting",), 60)
    page.evaluate("() => window.passbg.ortWorker.terminate()")  # as the browser does on a crash
    assert wait_for_status(page, ("done", "error"), 20) == "error"
    seen = shown(page)
    assert "photo engine stopped" in seen["error"] and "reload" in seen["error"], seen
    assert seen["photo"] == PORTRAIT

    # Trying again does not wait for a worker that is gone either.
    page.click("#run")
    assert wait_for_status(page, ("done", "error"), 20) == "error"
    assert "photo engine stopped" in shown(page)["error"]

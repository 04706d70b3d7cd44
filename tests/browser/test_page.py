"""The page, end to end, in headless Chromium: a photo goes in, a passport-style photo comes out,
computed on the device, with nothing requested from anywhere but this site."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import (
    browser_alpha,
    external_requests,
    open_app,
    process_photo,
    status_of,
    wait_for_status,
)

PORTRAIT = "usc_S001159.jpg"  # 1280x1600, long loose dark hair, glasses, earrings, busy backdrop


@pytest.fixture(scope="module")
def cpython_results(manifest, ort_backend, portraits_dir: Path):
    """The CPython pipeline's results for the same photo, per model id (computed on demand)."""
    from passbg.core import pipeline

    cache: dict[tuple[str, str], pipeline.Result] = {}

    def result(model_id: str, photo: str = PORTRAIT, background: str = "white") -> pipeline.Result:
        key = (model_id, photo)
        if key not in cache:
            data = (portraits_dir / "images" / photo).read_bytes()
            # The page's sequence: the face detector first, then the region it gives (as the CLI does).
            from passbg.app import cli

            args = cli.build_parser().parse_args([photo])
            args.manifest, args.background = manifest, background
            cache[key] = cli._process_region(data, ort_backend, manifest.get(model_id), args)
        return cache[key]

    return result


def test_a_portrait_becomes_a_passport_photo_without_any_request_leaving_the_machine(
    page, site_url, request_log, portraits_dir, manifest, cpython_results, tmp_path
):
    open_app(page, site_url)
    model_id = page.input_value("[data-testid=model]")
    assert model_id == manifest.default

    assert process_photo(page, portraits_dir / "images" / PORTRAIT, background="white") == "done"

    with page.expect_download() as download_info:
        page.click("[data-testid=download]")
    saved = tmp_path / "result.jpg"
    download_info.value.save_as(saved)
    result = np.asarray(Image.open(saved).convert("RGB")).astype(np.int16)

    reference = cpython_results(model_id)
    alpha = reference.alpha
    assert result.shape[:2] == alpha.shape, "the download keeps the photo's size"
    background = alpha == 0.0
    interior = alpha == 1.0
    assert background.mean() > 0.2 and interior.mean() > 0.2
    # Background: the target colour (JPEG may wobble by a few levels).
    assert np.abs(result[background] - 255).mean() < 1.0
    assert np.percentile(np.abs(result[background] - 255), 99) <= 6
    # Person: the photo's own pixels, untouched but for JPEG rounding.
    original = reference.image.rgb.astype(np.int16)
    assert np.abs(result[interior] - original[interior]).mean() < 3.0

    assert page.input_value("[data-testid=model]") == model_id
    used = page.inner_text("[data-testid=model-used]")
    licence = manifest.get(model_id).licence["name"]
    assert model_id in used and licence in used

    # The quality check is shown with every check's verdict, and can highlight problems on the zoom.
    score = page.inner_text("[data-testid=quality-score]")
    assert re.fullmatch(r"\d{1,3} / 100", score.strip())
    assert page.locator("[data-testid=quality-checks] li").count() >= 10
    page.check("[data-testid=quality-overlay-toggle]")
    assert page.is_visible("[data-testid=zoom-overlay]")

    assert external_requests(request_log) == [], "the page must not contact any other host"


def test_changing_the_background_recomposites_the_same_cut_out(page, site_url, portraits_dir):
    open_app(page, site_url)
    assert process_photo(page, portraits_dir / "images" / "usc_B001285.jpg", model="u2netp") == "done"
    page.select_option("[data-testid=background]", "pale-blue")
    page.wait_for_function("window.passbg.lastMeta && window.passbg.lastMeta.background === '#DCE8F4'")
    assert wait_for_status(page, ("done", "error"), 60) == "done"
    src = page.get_attribute("[data-testid=result]", "src")
    data = page.evaluate(
        """async (src) => Array.from(new Uint8Array(await (await fetch(src)).arrayBuffer()))""", src
    )
    image = np.asarray(Image.open(io.BytesIO(bytes(data))).convert("RGB")).astype(int)
    corner = image[:10, :10].reshape(-1, 3).mean(axis=0)
    assert np.abs(corner - [0xDC, 0xE8, 0xF4]).max() < 3

    # The transparent cut-out is made on demand and downloads as an RGBA PNG of the same size.
    with page.expect_download() as download_info:
        page.click("[data-testid=download-cutout]")
    cutout = Image.open(download_info.value.path())
    assert (cutout.format, cutout.mode) == ("PNG", "RGBA")
    assert cutout.size == (image.shape[1], image.shape[0])
    alpha = np.asarray(cutout)[..., 3]
    assert alpha[:10, :10].max() == 0 and alpha[alpha.shape[0] // 2, alpha.shape[1] // 2] == 255


def test_one_segmentation_model_is_kept_open_so_switching_back_opens_it_again(page, site_url, portraits_dir):
    """onnxruntime-web's memory never shrinks: a second model's session is not stacked on the first."""
    open_app(page, site_url)
    page.evaluate("""() => { window.__runs = [];
        addEventListener('passbg:result', (e) => window.__runs.push(
            [e.detail.meta.model.id, e.detail.meta.timings.model_load])); }""")
    assert process_photo(page, portraits_dir / "images" / "usc_B001285.jpg", model="isnet-quint8") == "done"
    for model, runs in (("u2netp", 2), ("isnet-quint8", 3)):
        page.select_option("[data-testid=model]", model)  # with a photo there, a new model runs at once
        page.wait_for_function(f"window.__runs.length >= {runs}", timeout=240_000)
    runs = page.evaluate("window.__runs")
    assert [model for model, _ in runs] == ["isnet-quint8", "u2netp", "isnet-quint8"]
    # Every run opened its model: IS-Net (8-bit) was closed when U2-Net-p opened, so going back reads it
    # from the browser's copy and opens it again, which the page times as loading the model.
    assert all(load_ms > 0 for _, load_ms in runs), runs


def test_a_file_that_is_not_a_photo_gets_plain_words_and_the_app_keeps_working(
    page, site_url, portraits_dir, tmp_path
):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is a text file with a .jpg name\n")
    open_app(page, site_url)
    page.set_input_files("[data-testid=photo-input]", str(fake))
    assert wait_for_status(page, ("done", "error"), 60) == "error"
    message = page.inner_text("[data-testid=error]")
    assert "Traceback" not in message and "Error:" not in message
    assert "photo" in message.lower() or "image" in message.lower()
    assert "Traceback" not in page.inner_text("body")

    assert process_photo(page, portraits_dir / "images" / "usc_B001285.jpg", model="u2netp") == "done"
    assert page.is_hidden("[data-testid=error]")


def test_the_page_stays_responsive_while_the_model_runs(page, site_url, portraits_dir):
    open_app(page, site_url)
    page.select_option("[data-testid=model]", "isnet-fp16")
    page.set_input_files("[data-testid=photo-input]", str(portraits_dir / "images" / PORTRAIT))
    page.wait_for_function(
        "['segmenting','loading-model','opening-model'].includes("
        "document.querySelector('[data-testid=status]').textContent.trim())",
        timeout=60_000,
    )
    worst = 0.0
    while status_of(page) not in ("done", "error"):
        start = time.perf_counter()
        page.evaluate("() => document.querySelector('[data-testid=status]').textContent")
        worst = max(worst, time.perf_counter() - start)
        time.sleep(0.1)
    assert status_of(page) == "done"
    # The main thread answers within a frame or two while Python and onnxruntime work in the worker.
    assert worst < 0.5, f"main thread blocked for {worst:.2f} s"


@pytest.mark.parametrize("model_id", ["u2netp", "isnet-fp16", "isnet-int8"])
def test_parity_browser_and_cpython_give_the_same_alpha(
    page, site_url, portraits_dir, cpython_results, model_id
):
    open_app(page, site_url)
    assert process_photo(page, portraits_dir / "images" / PORTRAIT, model=model_id) == "done"
    in_browser = browser_alpha(page)
    native = cpython_results(model_id).alpha
    assert in_browser.shape == native.shape
    diff = np.abs(in_browser.astype(np.float64) - native.astype(np.float64)) * 255.0
    print(f"\nparity {model_id}: mean {diff.mean():.4f}/255, max {diff.max():.3f}/255, "
          f"p99.9 {np.percentile(diff, 99.9):.3f}/255")
    assert diff.mean() <= 0.5


def test_without_shared_memory_the_page_says_why_instead_of_failing_silently(browser, site_root):
    """A plain static server (no COOP/COEP) and a window that may not install the service worker:
    the page cannot get SharedArrayBuffer, and must say so in words."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site_root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = browser.new_context(service_workers="block")
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        assert not page.evaluate("crossOriginIsolated")
        assert wait_for_status(page, ("ready", "error"), 60) == "error"
        message = page.inner_text("[data-testid=error]")
        assert "cross-origin isolated" in message and "COOP/COEP" in message
        assert "Traceback" not in page.inner_text("body")
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def test_a_missing_runtime_file_is_named_at_once_instead_of_an_endless_start(browser, site_url):
    """Pyodide never reports a missing wasm file to the page; the page checks its runtime files first."""
    context = browser.new_context(service_workers="block")
    context.route("**/pyodide.asm.wasm", lambda route: route.fulfill(status=404, body="not here"))
    try:
        page = context.new_page()
        page.goto(site_url)
        assert wait_for_status(page, ("ready", "error"), 20) == "error"
        message = page.inner_text("[data-testid=error]")
        assert "pyodide.asm.wasm" in message and "404" in message and "python build.py" in message
    finally:
        context.close()

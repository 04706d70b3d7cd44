"""Fixtures for tests that drive the real page in Debian's headless Chromium.

The site under test is the one `python build.py` assembled in site/, served by build.py's own server
on a free loopback port, exactly as `python build.py serve` serves it.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from passbg_dev.chromium import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "site"
READY_STATES = ("ready", "error")
FINISHED_STATES = ("done", "error")


sys.path.insert(0, str(REPO / "py"))  # build.py's package, as build.py itself finds it
from passbg_build import offline, serve  # noqa: E402


def _load_build_module() -> SimpleNamespace:
    """What the browser tests use of build.py's package: its server and its service-worker step."""
    return SimpleNamespace(
        SiteHandler=serve.SiteHandler,
        SiteServer=serve.SiteServer,
        make_server=serve.make_server,
        offline_outputs=offline.offline_outputs,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def site_root() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail("site/ is not built: run `python build.py` first")
    return SITE


@pytest.fixture(scope="session")
def site_url(site_root: Path) -> Iterator[str]:
    """Base URL (ending in /) of the built site served on 127.0.0.1 with COOP/COEP headers."""
    server = serve.make_server(site_root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Debian Chromium not found at {CHROMIUM}: apt-get install chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def request_log(page) -> list[str]:
    """Every URL the page (and its workers) asked for, in order."""
    urls: list[str] = []
    page.context.on("request", lambda request: urls.append(request.url))
    return urls


def external_requests(urls: list[str]) -> list[str]:
    """The URLs that would leave this machine (anything not on 127.0.0.1, blob: or data:)."""
    leaving = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("blob", "data"):
            continue
        if parts.hostname not in ("127.0.0.1",):
            leaving.append(url)
    return leaving


def status_of(page) -> str:
    return page.inner_text("[data-testid=status]").strip()


def wait_for_status(page, states: tuple[str, ...], timeout_s: float) -> str:
    page.wait_for_function(
        "states => states.includes(document.querySelector('[data-testid=status]').textContent.trim())",
        arg=list(states),
        timeout=timeout_s * 1000,
    )
    return status_of(page)


def open_app(page, site_url: str, timeout_s: float = 120) -> None:
    """Load the page and wait until Python and the model menu are ready."""
    page.goto(site_url)
    state = wait_for_status(page, READY_STATES, timeout_s)
    if state == "error":
        pytest.fail("the page did not start: " + page.inner_text("[data-testid=error]"))


def process_photo(page, photo: Path, *, model: str | None = None, background: str | None = None,
                  timeout_s: float = 240) -> str:
    """Choose the options, upload the photo and wait for done or error; returns the final state."""
    if model:
        page.select_option("[data-testid=model]", model)
    if background:
        page.select_option("[data-testid=background]", background)
    page.set_input_files("[data-testid=photo-input]", str(photo))
    return wait_for_status(page, FINISHED_STATES, timeout_s)


def browser_alpha(page):
    """The alpha matte of the page's last result, float32 (H, W), read from the Python worker."""
    import base64

    import numpy as np

    payload = page.evaluate(
        """async () => {
            const worker = document.getElementById('engine').xworker;
            const bytes = await worker.sync.alpha_bytes();
            let binary = '';
            for (let i = 0; i < bytes.length; i += 0x8000) {
                binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
            }
            const meta = window.passbg.lastMeta;
            return {b64: btoa(binary), width: meta.width, height: meta.height};
        }"""
    )
    alpha = np.frombuffer(base64.b64decode(payload["b64"]), dtype="<f4")
    return alpha.reshape(payload["height"], payload["width"])

"""Offline use: after one visit the app starts, processes a portrait and downloads the result with the
server stopped; a rebuild downloads only what changed and is offered as a reload; a plain static
server gets the isolation headers from the service worker; storage problems get plain words.

Each browser test runs a server of its own (it is stopped or restarted) and a persistent Chromium
profile of its own, as a returning visitor has.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

from conftest import CHROMIUM, CHROMIUM_ARGS, REPO, SITE, _load_build_module, wait_for_status
from phone_photos import iphone_heic

PORTRAIT = "usc_B001285.jpg"
FAST_MODEL = "u2netp"  # 4.6 MB, stored when first used
build = _load_build_module()


# --- a server that can be stopped, restarted on the same port, logged and broken ------------------------


class Server:
    """A threaded static server for one directory on a fixed loopback port.

    isolation=True serves like `python build.py serve` (COOP/COEP); False like `python -m http.server`.
    `log` holds the paths of GET requests; paths in `broken` are cut off half-way through their body.
    """

    def __init__(self, root: Path, isolation: bool = True) -> None:
        self.root, self.isolation = root, isolation
        self.log: list[str] = []
        self.broken: set[str] = set()
        self.port = 0
        self.httpd = None
        self.connections: set = set()

    def handler(self):
        server = self
        base = build.SiteHandler if self.isolation else http.server.SimpleHTTPRequestHandler

        class Handler(base):
            def setup(self) -> None:
                super().setup()
                server.connections.add(self.connection)

            def finish(self) -> None:
                server.connections.discard(self.connection)
                super().finish()

            def do_GET(self) -> None:
                path = self.path.split("?")[0].lstrip("/")
                server.log.append(path)
                if path in server.broken:
                    size = (server.root / path).stat().st_size
                    self.send_response(200)
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    self.wfile.write(b"x" * (size // 2))
                    self.wfile.flush()
                    self.close_connection = True
                    return
                super().do_GET()

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        return functools.partial(Handler, directory=str(self.root))

    def start(self) -> Server:
        self.httpd = build.SiteServer(("127.0.0.1", self.port), self.handler())
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop like a killed server: the browser's kept-alive connections are cut as well."""
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@pytest.fixture
def servers():
    started: list[Server] = []

    def serve(root: Path, isolation: bool = True) -> Server:
        server = Server(root, isolation).start()
        started.append(server)
        return server

    yield serve
    for server in started:
        server.stop()


@pytest.fixture
def profile(playwright, tmp_path):
    """launch(): a persistent Chromium profile (Cache Storage on disk, as for a real visitor)."""
    contexts = []

    def launch():
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        contexts.append(context)
        return context

    yield launch
    for context in contexts:
        context.close()


def site_copy(dest: Path) -> Path:
    """A copy of site/ made of hard links (a file that changes is replaced, never written through)."""
    for src in SITE.rglob("*"):
        if src.is_file():
            target = dest / src.relative_to(SITE)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, target)
    return dest


def rebuild_offline_files(site: Path) -> str:
    """What build.py's last step does: precache.json and sw.js for the site as it is now; the new build id."""
    old = json.loads((site / "precache.json").read_text())
    default_file = next(
        f["path"].rsplit("/", 1)[1]
        for f in old["files"]
        if f["path"].endswith(".onnx") and f["when"] == "install"
    )
    outputs = build.offline_outputs(
        site,
        [f["path"] for f in old["files"]],
        (REPO / "sw.js").read_text(),
        old["default_model"],
        default_file,
    )
    for name, data in outputs.items():
        (site / name).unlink()
        (site / name).write_bytes(data)
    return json.loads(outputs["precache.json"])["build"]


# --- page helpers ---------------------------------------------------------------------------------------


def start_app(page, url: str, timeout_s: float = 180) -> None:
    page.goto(url)
    if wait_for_status(page, ("ready", "error"), timeout_s) == "error":
        pytest.fail("the page did not start: " + page.inner_text("[data-testid=error]"))


def wait_offline_state(page, states: tuple[str, ...], timeout_s: float = 180) -> str:
    page.wait_for_function(
        "states => states.includes(document.querySelector('[data-testid=offline-status]').dataset.state)",
        arg=list(states),
        timeout=timeout_s * 1000,
    )
    return page.get_attribute("[data-testid=offline-status]", "data-state")


def stored(page) -> dict[str, dict[str, str]]:
    """cache name -> {site path: sha256 header} for every passbg cache in the browser."""
    return page.evaluate(
        """async () => {
            const out = {};
            const scope = new URL('./', location.href).href;
            for (const name of await caches.keys()) {
                if (!name.startsWith('passbg-')) continue;
                const cache = await caches.open(name);
                out[name] = {};
                for (const request of await cache.keys()) {
                    const response = await cache.match(request);
                    const sha = response.headers.get('x-passbg-sha256') || '';
                    out[name][request.url.slice(scope.length)] = sha;
                }
            }
            return out;
        }"""
    )


def precache(site: Path = SITE) -> dict:
    return json.loads((site / "precache.json").read_text())


def process(page, photo: Path, model: str) -> str:
    page.select_option("[data-testid=model]", model)
    page.set_input_files("[data-testid=photo-input]", str(photo))
    return wait_for_status(page, ("done", "error"), 240)


# --- the precache list build.py writes ------------------------------------------------------------------


def test_precache_list_names_every_site_file_with_its_hash_and_the_service_worker_carries_the_build_id():
    doc = precache()
    listed = {f["path"]: f for f in doc["files"]}
    on_disk = {p.relative_to(SITE).as_posix() for p in SITE.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {"sw.js", "precache.json", "build-info.json"}
    for path in ("index.html", "pyscript.toml", "py/passbg.zip", "static/models/manifest.json"):
        assert listed[path]["when"] == "install"
    for entry in doc["files"]:
        data = (SITE / entry["path"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"])
    models = json.loads((SITE / "static/models/manifest.json").read_text())
    for model in models["models"]:
        when = listed[f"static/models/{model['file']}"]["when"]
        is_default = model["id"] == models["default"] == doc["default_model"]
        assert when == ("install" if is_default else "first-use")
    assert f'const BUILD = "{doc["build"]}";' in (SITE / "sw.js").read_text()


def test_one_changed_file_changes_its_entry_and_the_build_id_only(tmp_path):
    site = site_copy(tmp_path / "site")
    before = precache(site)
    assert rebuild_offline_files(site) == before["build"], "an unchanged tree keeps its build id"
    css = site / "static/app/app.css"
    text = css.read_bytes() + b"\n/* rebuilt */\n"
    css.unlink()
    css.write_bytes(text)
    after = precache(site)
    new_id = rebuild_offline_files(site)
    after = precache(site)
    assert new_id != before["build"]
    changed = [a["path"] for a, b in zip(after["files"], before["files"], strict=True) if a != b]
    assert changed == ["static/app/app.css"]
    assert f'const BUILD = "{new_id}";' in (site / "sw.js").read_text()


# --- in the browser -------------------------------------------------------------------------------------


def test_after_one_visit_the_app_starts_processes_and_downloads_with_the_server_stopped(
    servers, profile, portraits_dir, tmp_path
):
    server = servers(SITE)
    page = profile().new_page()
    start_app(page, server.url)
    assert wait_offline_state(page, ("ready", "failed")) == "ready", page.inner_text("[data-testid=offline]")
    doc = precache()
    installed = {f["path"]: f for f in doc["files"] if f["when"] == "install"}
    caches = stored(page)
    assert list(caches) == [f"passbg-{doc['build']}"]
    cache = caches[f"passbg-{doc['build']}"]
    assert {p: cache.get(p) for p in installed} == {p: f["sha256"] for p, f in installed.items()}
    status = page.inner_text("[data-testid=offline-status]")
    assert f"{sum(f['bytes'] for f in installed.values()) / 1048576:.1f} MB stored" in status
    # The default model crossed the network once: the offline copy took the page's verified download
    # (the hand-over cache, gone now: see the cache list above) instead of fetching it again.
    manifest = json.loads((SITE / "static/models/manifest.json").read_text())
    default = next(m for m in manifest["models"] if m["id"] == manifest["default"])
    default_file = f"static/models/{default['file']}"
    assert default_file in installed
    assert server.log.count(default_file) == 1, server.log
    cdp = page.context.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == [], "installable as an app"

    # A model other than the default is stored when first used.
    photo = portraits_dir / "images" / PORTRAIT
    assert process(page, photo, FAST_MODEL) == "done"
    page.wait_for_function(
        "async () => Boolean(await caches.match('static/models/u2netp.onnx'))", timeout=60000
    )

    server.stop()
    page.reload()
    wait_for_status(page, ("ready", "error"), 180)
    assert page.inner_text("[data-testid=status]") == "ready", page.inner_text("[data-testid=error]")
    assert page.evaluate("self.crossOriginIsolated"), "the service worker sends COOP/COEP itself"
    assert process(page, photo, FAST_MODEL) == "done", page.inner_text("[data-testid=error]")
    with page.expect_download() as download_info:
        page.click("[data-testid=download]")
    saved = tmp_path / "offline.jpg"
    download_info.value.save_as(saved)
    with Image.open(io.BytesIO(saved.read_bytes())) as image:
        assert image.format == "JPEG" and min(image.size) > 100
    page.screenshot(path=str(tmp_path / "offline.png"), full_page=True)

    # A HEIC, never opened while online: libheif-js is part of the offline copy (stored at install).
    heic = tmp_path / "IMG_0001.HEIC"
    with Image.open(photo) as upright:
        heic.write_bytes(iphone_heic(upright.convert("RGB")))
    assert process(page, heic, FAST_MODEL) == "done", page.inner_text("[data-testid=error]")

    # A model that was never used is not on the device: the page says so in plain words.
    models = {m["id"]: m for m in json.loads((SITE / "static/models/manifest.json").read_text())["models"]}
    menu = page.eval_on_selector_all("[data-testid=model] option", "os => os.map(o => o.value)")
    not_stored = next(
        i for i in menu if f"static/models/{models[i]['file']}" not in cache and i != FAST_MODEL
    )
    assert process(page, photo, not_stored) == "error"
    error = page.inner_text("[data-testid=error]")
    assert "offline" in error and "not stored on this device" in error, error
    assert models[not_stored]["title"] in error
    assert models[FAST_MODEL]["title"] in error, "the message names the models that are stored"


def test_a_rebuild_downloads_only_the_changed_file_and_an_interrupted_update_changes_nothing(
    servers, profile, tmp_path
):
    site = site_copy(tmp_path / "site")
    server = servers(site)
    page = profile().new_page()
    start_app(page, server.url)
    assert wait_offline_state(page, ("ready", "failed")) == "ready"
    old_build = precache(site)["build"]

    css = site / "static/app/app.css"
    text = css.read_bytes() + b"\n/* rebuilt */\n"
    css.unlink()
    css.write_bytes(text)
    new_build = rebuild_offline_files(site)

    # The connection drops in the middle of the changed file: the running version is untouched.
    server.broken = {"static/app/app.css"}
    page.evaluate("passbgOffline.registration.update().catch(() => {})")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=offline-detail]').textContent"
        ".includes('could not be downloaded')",
        timeout=60000,
    )
    assert page.get_attribute("[data-testid=offline-status]", "data-state") == "ready"
    assert page.is_hidden("[data-testid=offline-update]")
    assert "rebuilt" not in page.evaluate("fetch('static/app/app.css').then(r => r.text())")
    assert stored(page)[f"passbg-{old_build}"]["precache.json"] == "", "the old copy is still complete"

    # The connection is back: only the changed file (and the two files that announce a build, and the
    # script the new sw.js imports) is fetched.
    server.broken = set()
    server.log.clear()
    page.evaluate("passbgOffline.registration.update()")
    assert wait_offline_state(page, ("update-ready",), 120) == "update-ready"
    assert sorted(server.log) == ["precache.json", "static/app/app.css", "static/app/sha256.js", "sw.js"]
    assert "new version is ready" in page.inner_text("[data-testid=offline-status]")

    with page.expect_navigation():
        page.click("[data-testid=offline-update]")
    wait_for_status(page, ("ready", "error"), 180)
    assert "rebuilt" in page.evaluate("fetch('static/app/app.css').then(r => r.text())")
    assert wait_offline_state(page, ("ready",), 60) == "ready"
    assert list(stored(page)) == [f"passbg-{new_build}"], "the old build's cache is removed"


def test_a_plain_static_server_gets_isolation_from_the_service_worker_after_one_reload(servers, profile):
    server = servers(SITE, isolation=False)
    page = profile().new_page()
    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    page.goto(server.url)
    # Without COOP/COEP the Python worker cannot start; the page reloads once under the service
    # worker, which adds them.
    deadline = time.monotonic() + 60
    while not isolated(page):
        assert time.monotonic() < deadline, "the page never became cross-origin isolated"
        time.sleep(0.5)
    wait_for_status(page, ("ready", "error"), 180)
    assert len(loads) == 2, "exactly one reload"
    assert page.inner_text("[data-testid=status]") == "ready", page.inner_text("[data-testid=error]")
    assert page.evaluate("window.passbg.threads") == page.evaluate("navigator.hardwareConcurrency")
    assert wait_offline_state(page, ("ready", "failed")) == "ready"

    # Storage cleared under the running service worker: the page says so and stores the app again.
    page.evaluate("caches.keys().then(names => Promise.all(names.map(n => caches.delete(n))))")
    page.reload()
    wait_for_status(page, ("ready", "error"), 180)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=offline-status]').textContent"
        ".includes('removed by the browser')"
    )
    assert wait_offline_state(page, ("ready",), 180) == "ready"
    assert stored(page)[f"passbg-{precache()['build']}"]["precache.json"] == ""


def isolated(page) -> bool:
    try:
        return bool(page.evaluate("self.crossOriginIsolated && document.readyState === 'complete'"))
    except PlaywrightError:  # the page is navigating
        return False


def test_too_little_storage_gets_a_clear_message_and_the_app_still_works_online(
    servers, profile, portraits_dir
):
    server = servers(SITE)
    context = profile()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": server.url.rstrip("/"), "quotaSize": 20 * 1048576})
    start_app(page, server.url)
    assert wait_offline_state(page, ("ready", "failed")) == "failed"
    message = page.inner_text("[data-testid=offline-status]")
    assert "not enough storage space" in message and "still works while you are online" in message
    assert all("precache.json" not in c for c in stored(page).values()), "no complete copy is claimed"
    assert process(page, portraits_dir / "images" / PORTRAIT, FAST_MODEL) == "done"


def test_without_service_workers_the_page_says_it_works_online_only(browser, site_url):
    context = browser.new_context(service_workers="block")
    try:
        page = context.new_page()
        page.add_init_script("delete Navigator.prototype.serviceWorker")
        start_app(page, site_url)
        assert wait_offline_state(page, ("unsupported",), 30) == "unsupported"
        assert "works while you are online" in page.inner_text("[data-testid=offline-status]")
    finally:
        context.close()

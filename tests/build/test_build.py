"""build.py: the built site holds exactly the pinned files, rebuilds are free, corruption is caught with
one clear line, and the dev server sends the headers and MIME types the page needs."""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "site"
CACHE = REPO / ".cache"
PINS = json.loads((REPO / "build" / "pins.json").read_text())["files"]
CATALOGUE = json.loads((REPO / "py" / "passbg" / "data" / "models.json").read_text())

sys.path.insert(0, str(REPO / "py"))  # build.py's package, as build.py itself finds it
from passbg_build import cli, models, offline, pyodide, serve  # noqa: E402
from passbg_build import headers as http_headers  # noqa: E402
from passbg_build.report import BuildError  # noqa: E402


def sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def run_build(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "build.py"), *args], cwd=REPO, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def rebuilt() -> tuple[subprocess.CompletedProcess, float]:
    """Build the real tree (normally already current), then build again and time the second run."""
    first = run_build("--no-venv")
    assert first.returncode == 0, first.stderr
    start = time.monotonic()
    second = run_build("--no-venv")
    return second, time.monotonic() - start


@pytest.fixture(scope="module")
def manifest(rebuilt) -> dict:
    return json.loads((SITE / "static" / "models" / "manifest.json").read_text())


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("build.py: error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    for needle in needles:
        assert needle in errors[0]
    return errors[0]


# --- the built site --------------------------------------------------------------------------------------


def test_second_build_downloads_and_changes_nothing_and_is_fast(rebuilt):
    result, seconds = rebuilt
    assert result.returncode == 0, result.stderr
    assert "nothing downloaded, nothing changed" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert seconds < 10


def test_every_pinned_runtime_file_is_in_the_site_with_its_pinned_hash(rebuilt):
    runtime = {key: pin for key, pin in PINS.items() if key.startswith("static/vendor/")}
    assert runtime
    for key, pin in runtime.items():
        path = SITE / key
        assert path.is_file(), key
        assert path.stat().st_size == pin["bytes"], key
        assert sha256(path) == pin["sha256"], key


def test_site_vendor_holds_only_pinned_files(rebuilt):
    shipped = {p.relative_to(SITE).as_posix() for p in (SITE / "static" / "vendor").rglob("*") if p.is_file()}
    assert shipped == {key for key in PINS if key.startswith("static/vendor/")}


def test_pyodide_wheels_match_the_lock_the_browser_checks(rebuilt):
    lock = json.loads((SITE / "static/vendor/pyodide/pyodide-lock.json").read_text())["packages"]
    for name, version in pyodide.PYODIDE_WHEELS.items():
        entry = lock[name]
        assert entry["version"] == version
        assert sha256(SITE / "static/vendor/pyodide" / entry["file_name"]) == entry["sha256"]


def test_manifest_lists_exactly_the_present_models_with_pinned_hashes(manifest):
    present = {m["file"] for m in CATALOGUE["models"] if (SITE / "static/models" / m["file"]).is_file()}
    assert {m["file"] for m in manifest["models"]} == present
    for entry in manifest["models"]:
        path = SITE / "static/models" / entry["file"]
        pin = PINS[f"static/models/{entry['file']}"]
        assert entry["sha256"] == pin["sha256"] == sha256(path)
        assert entry["bytes"] == pin["bytes"] == path.stat().st_size


def test_manifest_entries_are_catalogue_entries_plus_hash_and_size(manifest):
    catalogue = {m["id"]: m for m in CATALOGUE["models"]}
    for entry in manifest["models"]:
        assert "fetch" not in entry
        expected = {k: v for k, v in catalogue[entry["id"]].items() if k != "fetch"}
        assert {k: v for k, v in entry.items() if k not in ("sha256", "bytes")} == expected
        for key in ("id", "title", "file", "sha256", "bytes", "input", "output", "licence", "source"):
            assert key in entry


def test_manifest_default_is_the_most_preferred_present_model(manifest):
    ids = [m["id"] for m in manifest["models"]]
    assert manifest["default"] == next(i for i in CATALOGUE["default_preference"] if i in ids)
    if "isnet-int8" in ids:  # derived from isnet-fp16 by every build that has it
        assert manifest["default"] == "isnet-int8"


def test_agpl_licence_text_ships_beside_the_isnet_weights(manifest):
    for entry in manifest["models"]:
        if "file" in entry["licence"]:
            text = (SITE / "static/models" / entry["licence"]["file"]).read_text()
            assert "Affero General Public License" in text


def test_package_zip_holds_the_python_package_only(rebuilt):
    pkg = REPO / "py" / "passbg"
    with zipfile.ZipFile(SITE / "py" / "passbg.zip") as z:
        names = set(z.namelist())
        expected = {
            "passbg/" + p.relative_to(pkg).as_posix()
            for p in pkg.rglob("*.py")
            if "__pycache__" not in p.parts
        }
        expected |= {"passbg/data/" + p.name for p in (pkg / "data").glob("*.json")}
        assert names == expected
        for name in names:
            assert z.read(name) == (pkg / name.removeprefix("passbg/")).read_bytes()


def test_build_info_names_the_models_present(manifest):
    info = json.loads((SITE / "build-info.json").read_text())
    assert info["models"] == [m["id"] for m in manifest["models"]]
    assert info["built_at"]


# --- failures: one line, exit 1, no traceback ------------------------------------------------------------


def test_corrupted_cached_wheel_fails_with_one_line(rebuilt, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(CACHE / "pyodide-wheels", cache / "pyodide-wheels")
    victim = next((cache / "pyodide-wheels").glob("numpy-*.whl"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    result = run_build("--no-venv", "--cache-dir", str(cache), "--out-dir", str(tmp_path / "out"))
    assert_one_line_error(result, victim.name)
    assert not (tmp_path / "out" / "static" / "vendor").exists()


def test_corrupted_model_chunk_fails_with_one_line(rebuilt, tmp_path):
    # A node_modules of symlinks to the real one, with one chunk replaced by a damaged copy.
    real = REPO / "node_modules"
    fetch = next(m["fetch"] for m in CATALOGUE["models"] if m["fetch"]["kind"] == "npm-chunks")
    nm = tmp_path / "node_modules"
    pkg_rel = Path(fetch["package"])
    nm.mkdir()
    for entry in real.iterdir():
        if entry.name != pkg_rel.parts[0]:
            (nm / entry.name).symlink_to(entry)
    for entry in (real / pkg_rel.parts[0]).iterdir():
        if entry.name != pkg_rel.parts[1]:
            (nm / pkg_rel.parts[0]).mkdir(exist_ok=True)
            (nm / pkg_rel.parts[0] / entry.name).symlink_to(entry)
    pkg = nm / pkg_rel
    pkg.mkdir(parents=True)
    for entry in (real / pkg_rel).iterdir():
        if entry.name != "dist":
            (pkg / entry.name).symlink_to(entry)
    (pkg / "dist").mkdir()
    for entry in (real / pkg_rel / "dist").iterdir():
        (pkg / "dist" / entry.name).symlink_to(entry)
    resources = json.loads((real / pkg_rel / "dist" / "resources.json").read_text())
    chunk = resources[fetch["resource"]]["chunks"][1]["hash"]
    data = bytearray((real / pkg_rel / "dist" / chunk).read_bytes())
    data[100] ^= 0x01
    (pkg / "dist" / chunk).unlink()
    (pkg / "dist" / chunk).write_bytes(bytes(data))

    cache = tmp_path / "cache"
    shutil.copytree(CACHE / "pyodide-wheels", cache / "pyodide-wheels")
    out = tmp_path / "out"
    result = run_build(
        "--no-venv", "--cache-dir", str(cache), "--node-modules", str(nm), "--out-dir", str(out)
    )
    assert_one_line_error(result, chunk)
    assert sha256(real / pkg_rel / "dist" / chunk) == chunk  # the real package was not touched
    models = out / "static" / "models"
    assert not any(p.suffix in (".onnx", ".part") for p in models.iterdir())


def test_rmbg_file_that_is_not_the_pinned_one_is_refused(rebuilt, tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the RMBG-1.4 weights")
    cache = tmp_path / "cache"
    shutil.copytree(CACHE / "pyodide-wheels", cache / "pyodide-wheels")
    shutil.copytree(CACHE / "pip", cache / "pip")
    out = tmp_path / "out"
    result = run_build(
        "--no-venv", "--cache-dir", str(cache), "--out-dir", str(out), "--rmbg-file", str(fake)
    )
    assert_one_line_error(result, str(fake), "is not the pinned")
    assert not (out / "static" / "models" / "rmbg-1.4.onnx").exists()


def test_catalogue_models_all_have_pins():
    for model in CATALOGUE["models"]:
        pin = PINS[f"static/models/{model['file']}"]
        assert len(pin["sha256"]) == 64 and pin["bytes"] > 0


# --- the dev server --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(rebuilt):
    srv = serve.make_server(SITE, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv.server_address[:2]
    srv.shutdown()
    srv.server_close()


def get(address, path: str, method: str = "GET", headers: dict | None = None):
    conn = http.client.HTTPConnection(*address, timeout=30)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


EXPECTED_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".onnx": "application/octet-stream",
    ".whl": "application/octet-stream",
    ".zip": "application/zip",
    ".toml": "text/plain",
    ".html": "text/html",
    ".css": "text/css",
}


@pytest.mark.parametrize("suffix", sorted(EXPECTED_TYPES))
def test_server_sends_the_right_mime_type(server, suffix):
    path = next(p for p in sorted(SITE.rglob(f"*{suffix}")) if p.is_file())
    resp, body = get(server, "/" + path.relative_to(SITE).as_posix())
    assert resp.status == 200
    assert resp.getheader("Content-Type").split(";")[0] == EXPECTED_TYPES[suffix]
    assert len(body) == path.stat().st_size


@pytest.mark.parametrize("path", ["/", "/static/vendor/ort/ort-wasm-simd-threaded.wasm", "/no-such-file"])
def test_server_sends_isolation_and_revalidation_headers(server, path):
    resp, _ = get(server, path, method="HEAD")
    assert resp.getheader("Cross-Origin-Opener-Policy") == "same-origin"
    assert resp.getheader("Cross-Origin-Embedder-Policy") == "require-corp"
    assert resp.getheader("Cross-Origin-Resource-Policy") == "same-origin"
    assert resp.getheader("Cache-Control") == "no-cache"


def test_server_answers_revalidation_with_304(server):
    resp, _ = get(server, "/static/models/manifest.json")
    again, body = get(
        server, "/static/models/manifest.json", headers={"If-Modified-Since": resp.getheader("Last-Modified")}
    )
    assert again.status == 304 and body == b""


@pytest.mark.parametrize(
    "path",
    ["/../build.py", "/%2e%2e/build.py", "/static/../../build.py", "/static/%2E%2E/%2E%2E/pyproject.toml"],
)
def test_server_does_not_serve_files_outside_site(server, path):
    resp, body = get(server, path)
    assert resp.status == 404
    assert b"def main" not in body and b"[project]" not in body


def test_server_serves_many_parallel_requests(server):
    rel = "static/vendor/ort/ort-wasm-simd-threaded.wasm"
    want = PINS[rel]["sha256"]

    def fetch(_):
        resp, body = get(server, "/" + rel)
        return resp.status, hashlib.sha256(body).hexdigest()

    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        results = list(pool.map(fetch, range(48)))
    assert results == [(200, want)] * 48


# --- the headers and MIME types: one table (http-headers.json) for the server and the service worker ------

SW_TABLE = re.compile(r"^const (ISOLATION|TYPES) = (\{.*\});$", re.M)


def sw_tables(text: str) -> dict[str, dict]:
    return {name: json.loads(table) for name, table in SW_TABLE.findall(text)}


def test_built_service_worker_holds_the_servers_isolation_headers_and_types(rebuilt):
    facts = http_headers.facts()
    assert set(facts.isolation) == {
        "Cross-Origin-Opener-Policy",
        "Cross-Origin-Embedder-Policy",
        "Cross-Origin-Resource-Policy",
    }
    tables = sw_tables((SITE / "sw.js").read_text())
    assert tables["ISOLATION"] == facts.isolation
    assert tables["TYPES"] == {ending.removeprefix("."): mime for ending, mime in facts.types.items()}
    assert tables["TYPES"]["wasm"] == "application/wasm"
    assert serve.SECURITY_HEADERS == {**facts.isolation, **facts.server}


def test_repository_service_worker_leaves_the_tables_to_the_build():
    assert sw_tables((REPO / "sw.js").read_text()) == {"ISOLATION": {}, "TYPES": {}}


def test_stamping_needs_exactly_one_line_per_table():
    template = (REPO / "sw.js").read_text()
    for name in ("ISOLATION", "TYPES"):
        without = re.sub(rf"^const {name} = .*$", "", template, flags=re.M)
        with pytest.raises(BuildError, match=f"exactly one line of the form: const {name} = "):
            offline.stamp_http_facts(without, http_headers.facts())
        with pytest.raises(BuildError, match=f"const {name} = "):
            offline.stamp_http_facts(template + f"const {name} = {{}};\n", http_headers.facts())


def test_build_id_changes_when_the_headers_change(tmp_path, monkeypatch):
    (tmp_path / "index.html").write_text("<!doctype html>")
    template = (REPO / "sw.js").read_text()

    def build_id() -> str:
        outputs = offline.offline_outputs(tmp_path, ["index.html"], template, None, None)
        return json.loads(outputs["precache.json"])["build"]

    before = build_id()
    facts = http_headers.facts()
    changed = facts._replace(isolation={**facts.isolation, "Cross-Origin-Embedder-Policy": "credentialless"})
    monkeypatch.setattr(http_headers, "facts", lambda: changed)
    assert build_id() != before


def test_broken_headers_file_is_one_build_error(tmp_path):
    bad = tmp_path / "http-headers.json"
    for text, needle in [
        ("{", "restore it with git"),
        ('{"isolation": {}}', "restore it with git"),
        ('{"isolation": {}, "server": {"Cache-Control": 0}, "types": {}}', "names to strings"),
        ('{"isolation": {}, "server": {}, "types": {"wasm": "application/wasm"}}', "file ending"),
    ]:
        bad.write_text(text)
        with pytest.raises(BuildError, match=needle):
            http_headers.load(bad)


# --- the face-model converter (build/convert_face.py, in the build-only converter venv) --------------------


def test_face_converter_script_gives_the_pinned_bytes(tmp_path):
    python = CACHE / "convert-venv" / "bin" / "python"
    faces = [m for m in CATALOGUE["models"] if m["fetch"]["kind"] == "pypi-tflite-to-onnx"]
    assert faces
    for model in faces:
        src = CACHE / "convert" / Path(model["fetch"]["member"]).name
        if not python.is_file() or not src.is_file():
            pytest.skip("no converter venv or TFLite source in .cache: run python build.py once")
        out = tmp_path / model["file"]
        script = REPO / "build" / "convert_face.py"
        subprocess.run([str(python), str(script), str(src), str(out)], check=True, timeout=300)
        pin = PINS[f"static/models/{model['file']}"]
        assert (sha256(out), out.stat().st_size) == (pin["sha256"], pin["bytes"]), model["id"]


# --- RMBG-1.4 from a local file (the hub is not reachable from the build machines) -------------------------


def rmbg_context(tmp_path: Path, given: Path, allow_unpinned: bool = False):
    args = argparse.Namespace(
        cache_dir=str(tmp_path / "cache"),
        node_modules=None,
        out_dir=str(tmp_path / "out"),
        rmbg_file=str(given),
        rmbg_allow_unpinned=allow_unpinned,
    )
    ctx = cli.make_context(args, steps=1)
    model = next(m for m in CATALOGUE["models"] if m["id"] == "rmbg-1.4")
    return ctx, model, ctx.layout.models / model["file"]


def test_rmbg_file_matching_its_pin_is_installed(tmp_path):
    given = tmp_path / "model.onnx"
    given.write_bytes(bytes(range(256)) * 64)
    ctx, model, dest = rmbg_context(tmp_path, given)
    # Stand-in pin for this stand-in file: the real pin names 176 MB of weights.
    ctx.pins.files[f"static/models/{model['file']}"] = {
        "sha256": sha256(given),
        "bytes": given.stat().st_size,
    }
    assert models.fetch_huggingface(ctx, model, dest) == (sha256(given), given.stat().st_size, True)
    assert dest.read_bytes() == given.read_bytes()
    assert models.fetch_huggingface(ctx, model, dest)[2] is False  # already there: not copied again


def test_unpinned_rmbg_file_prints_its_hash_and_needs_explicit_permission(tmp_path, capsys):
    given = tmp_path / "model.onnx"
    given.write_bytes(b"weights" * 1000)
    ctx, model, dest = rmbg_context(tmp_path, given)
    del ctx.pins.files[f"static/models/{model['file']}"]
    with pytest.raises(BuildError, match="--rmbg-allow-unpinned"):
        models.fetch_huggingface(ctx, model, dest)
    assert sha256(given) in capsys.readouterr().out
    assert not dest.exists()

    ctx, model, dest = rmbg_context(tmp_path, given, allow_unpinned=True)
    del ctx.pins.files[f"static/models/{model['file']}"]
    sha, size, _ = models.fetch_huggingface(ctx, model, dest)
    assert (sha, size) == (sha256(given), given.stat().st_size)
    assert dest.read_bytes() == given.read_bytes()

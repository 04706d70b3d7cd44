"""Start-up time of the page, cold, warm and offline, in Debian's headless Chromium.

    .venv/bin/python -m passbg_dev.startup [--runs 3]

Serves site/ with ``python build.py serve --no-build`` in a child process and measures the time from
navigation to the page's "ready" state (Python, numpy, Pillow and onnxruntime-web loaded; the model
is fetched with the first photo):

- cold: first visit, empty browser profile (a new one per run);
- warm: return visit with the app stored by the service worker, the browser restarted each run;
- offline: the same with the server process killed (not a simulated offline mode).

Then prints what the app stored on the device. A developer tool: it needs the test extras
(playwright) and is never imported by the page.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from passbg_dev.chromium import CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
READY_JS = """() => {
    const s = document.querySelector('[data-testid=status]')?.textContent.trim();
    return s === 'ready' || s === 'error';
}"""
MiB = 1048576


class SiteServer:
    """`python build.py serve --no-build` on a free port, as a child process that can be killed."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "build.py"), "serve", "--no-build", "--port", "0"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        found = re.search(r"(http://[\d.]+:\d+/)", line)
        if not found:
            self.kill()
            raise SystemExit(f"startup: the server did not start: {line.strip() or 'no output'}")
        self.url = found.group(1)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def ready_ms(page, url: str, timeout_s: float) -> float:
    """Navigate and return ms from navigation start to the page's ready state."""
    page.goto(url)
    page.wait_for_function(READY_JS, timeout=timeout_s * 1000)
    state = page.evaluate("window.passbg")
    if not state.get("ready"):
        error = page.inner_text("[data-testid=error]")
        raise SystemExit(f"startup: the page did not start: {error}")
    return state["bootStarted"] + state["timings"]["python_ready"]


def wait_stored(page, timeout_s: float) -> dict[str, Any]:
    """Wait until the service worker reports a complete copy; return its status report."""
    page.wait_for_function(
        "() => ['ready', 'failed'].includes(document.querySelector('[data-testid=offline-status]')"
        "?.dataset.state)",
        timeout=timeout_s * 1000,
    )
    if page.get_attribute("[data-testid=offline-status]", "data-state") != "ready":
        raise SystemExit("startup: the app was not stored: " + page.inner_text("[data-testid=offline]"))
    return page.evaluate("window.passbgOffline.status")


def storage_report(page) -> dict[str, Any]:
    return page.evaluate(
        """async () => ({
            estimate: await navigator.storage.estimate(),
            caches: await caches.keys(),
            indexedDB: indexedDB.databases ? (await indexedDB.databases()).map(d => d.name) : [],
            isolated: self.crossOriginIsolated,
            threads: window.passbg.threads,
        })"""
    )


def run(runs: int, chromium: str, timeout_s: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"cold": [], "warm": [], "offline": []}
    root = Path(tempfile.mkdtemp(prefix="passbg-startup-"))
    server = SiteServer()
    try:
        with sync_playwright() as pw:

            def launch(profile: Path):
                return pw.chromium.launch_persistent_context(
                    str(profile), executable_path=chromium, args=CHROMIUM_ARGS, headless=True
                )

            profile = root / "profile"
            for i in range(runs):
                profile = root / f"cold-{i}"
                context = launch(profile)
                page = context.new_page()
                times["cold"].append(ready_ms(page, server.url, timeout_s))
                if i == runs - 1:
                    status = wait_stored(page, timeout_s)
                context.close()
            for kind in ("warm", "offline"):
                if kind == "offline":
                    server.kill()
                for _ in range(runs):
                    context = launch(profile)
                    page = context.new_page()
                    times[kind].append(ready_ms(page, server.url, timeout_s))
                    report = storage_report(page)
                    context.close()
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)
    return {"times": times, "status": status, "storage": report}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m passbg_dev.startup", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind (default 3; median shown)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for one start")
    args = parser.parse_args(argv)
    if not (REPO / "site" / "sw.js").is_file():
        print("startup: site/ is not built; run python build.py first", file=sys.stderr)
        return 1
    t0 = time.monotonic()
    result = run(args.runs, args.chromium, args.timeout)
    labels = {
        "cold": "first visit, empty profile",
        "warm": "return visit, server up",
        "offline": "return visit, server killed",
    }
    print(f"passbg start-up: navigation -> 'ready' (Python, numpy, Pillow, ORT-web), median of {args.runs}")
    for kind, values in result["times"].items():
        shown = ", ".join(f"{v / 1000:.2f}" for v in values)
        print(f"  {kind:<8} {statistics.median(values) / 1000:5.2f} s   ({labels[kind]}; runs: {shown} s)")
    status, storage = result["status"], result["storage"]
    estimate = storage["estimate"]
    print(
        f"stored: {status['storedBytes']} bytes ({status['storedBytes'] / MiB:.1f} MB) in Cache Storage "
        f"{', '.join(storage['caches'])}; the browser counts {estimate.get('usage', 0) / MiB:.1f} MB used "
        f"of a {estimate.get('quota', 0) / MiB:.0f} MB quota; "
        f"IndexedDB: {', '.join(storage['indexedDB']) or 'none'}"
    )
    print(
        f"offline page: cross-origin isolated {storage['isolated']}, {storage['threads']} ORT thread(s); "
        f"measured in {time.monotonic() - t0:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

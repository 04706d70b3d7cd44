"""Speed benchmark: our page vs the peer library vs native onnxruntime, same model, same photos, one run.

    python -m passbg_dev.bench                     # our default model, 5 portraits, 2 rooms, upscales
    python -m passbg_dev.bench --model isnet-fp16 --peer-model isnet-fp16 --photos 3 --json bench.json

Models: ours runs --model (default: the manifest's default), the peer --peer-model (default its IS-Net
fp16, the quality our default matches) and, with --peer-default (on unless --no-peer-default), also its
own default model (IS-Net quint8) on every photo, reported as a second ratio.

Photos: --photos portraits as they are (tightly framed), --loose of them standing in a room (the person
at native pixels at the bottom middle of a 3x canvas beside a door frame and furniture, as in a phone
photo: passbg_dev.scenes.room_composite on the truth cut-out of passbg_dev.eval), and 12 and 24
megapixel upscales of the first. Ratios are reported for all, tight and loose apart.

For every photo, in turn (pair by pair, so a shared machine's load hits all three alike):
  ours    our real page (site/) in headless Chromium, from choosing the file to the result on screen,
          with the per-stage timings the page records;
  peer    @imgly/background-removal (site-bench/, built by build.py) in the same Chromium with the same
          thread count and cross-origin isolation, with --peer-model's IS-Net file, from choosing the
          file to its finished PNG (and again with its default model);
  native  the same pipeline in CPython with onnxruntime (decode -> composite -> JPEG + PNG).
Wall times are what users see; CPU seconds (all threads of the renderer / this process) are printed
too, because they hardly move when other programs load the machine. The first photo is also timed
from a cold load (fresh browser profile) to the first result, served from this machine and again over
a throttled link (--link-mbit), and the 12 and 24 megapixel photos' peak memory (proportional set size
of the renderers: JS heaps + wasm memories) is sampled while they run.

Needs `python build.py` first (site/ and site-bench/) and the test extras (Playwright, Chromium).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from passbg._shared import atomic
from passbg_dev.chromium import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
PEER_MODEL = {"isnet-quint8": "small", "isnet-fp16": "medium"}  # the data package's names
PEER_DEFAULT = "isnet-quint8"  # what @imgly/background-removal loads when not told otherwise
BIG_SIDE = (4000, 6000)  # 24 megapixels
PHONE12_SIDE = (3000, 4000)  # 12 megapixels, a common phone photo
PHONE_SIDE = (6048, 8064)  # 48 megapixels, a current phone's main camera
TIMEOUT_S = 600

# Our page has started ("done": it already shows the first result of a cold load).
STARTED_JS = (
    "['ready', 'error', 'done'].includes(document.querySelector('[data-testid=status]').textContent.trim())"
)

# Injected into our page: when a photo was chosen and when its result was shown (the app's events).
OUR_HOOK = """() => {
  if (window.__bench) return;
  window.__bench = {n: 0, start: 0, end: 0, error: null};
  addEventListener('passbg:photo', () => { window.__bench.start = performance.now(); });
  addEventListener('passbg:result', () => { window.__bench.end = performance.now(); window.__bench.n++; });
  addEventListener('passbg:error', (e) => {
    window.__bench.error = String(e.detail?.message);
    window.__bench.n++;
  });
}"""


@dataclass
class Run:
    """One photo through one system. ms: wall time; cpu_s: CPU seconds over all threads."""

    ms: float
    cpu_s: float
    stages: dict[str, float] = field(default_factory=dict)
    python_heap: int = 0  # our page: the size of Python's wasm memory after the photo (its high-water mark)


# --- machinery ----------------------------------------------------------------------------------------


def _build_module() -> Any:
    """The build's static server (make_server, SiteHandler), from the source tree's py/passbg_build."""
    if str(REPO / "py") not in sys.path:
        sys.path.insert(0, str(REPO / "py"))
    from passbg_build import serve

    return serve


class Link:
    """A network link for one server: its connections together get `mbit` Mbit/s (a shared token
    bucket, 64 KiB at a time) and each answer starts `latency_ms` late. Done in the server rather than
    with DevTools' emulation, which in this Chromium let a worker's download reach only ~55 of 100
    Mbit/s where the page's own reached ~80: the peer fetches its model on the page, we in a worker."""

    def __init__(self, mbit: float, latency_ms: float = 20) -> None:
        self.rate = mbit * 1e6 / 8  # bytes per second
        self.latency_s = latency_ms / 1000
        self._lock = threading.Lock()
        self._free_at = time.monotonic()

    def take(self, n: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._free_at = max(now, self._free_at) + n / self.rate
            wait = self._free_at - now
        time.sleep(wait)


@contextmanager
def serve(root: Path, link: Link | None = None) -> Iterator[str]:
    """build.py's server (COOP/COEP, like `python build.py serve`) for root on a free loopback port;
    with `link`, every answer waits one round trip and all bodies share the link's bandwidth."""
    build = _build_module()
    if link is None:
        server = build.make_server(root, "127.0.0.1", 0)
    else:

        class OverLink(build.SiteHandler):
            def do_GET(self) -> None:
                time.sleep(link.latency_s)
                super().do_GET()

            def copyfile(self, source: Any, outputfile: Any) -> None:
                while chunk := source.read(65536):
                    link.take(len(chunk))
                    outputfile.write(chunk)

        server = build.SiteServer(("127.0.0.1", 0), functools.partial(OverLink, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def renderer_pids(profile: Path) -> list[int]:
    """Renderer processes of the Chromium using this profile (workers run inside them)."""
    pids = []
    # The whole argument, so profile-peer does not also match profile-peer-default (renderers rewrite
    # their command line into one space-separated string).
    flag = f"--user-data-dir={profile}".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:
            continue
        if b"--type=renderer" in cmdline and flag in cmdline.replace(b"\0", b" ").split(b" "):
            pids.append(int(entry.name))
    return pids


def _cpu_s(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def _pss_bytes(pids: list[int]) -> int:
    """Summed proportional set size: each process's private memory (JS heaps, wasm memories, decoded
    images) plus its share of pages it has in common with others. Summing resident sets instead would
    count Chromium's own code once per renderer (~100 MB each)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


class PeakMemory:
    """Samples the summed proportional set size of a profile's renderers (the page, its workers and its
    service worker) every 100 ms while active. Reading smaps_rollup walks a process's page tables, so
    this costs CPU: it runs only around the photo whose memory is reported, and lists the renderers
    once a second rather than at every sample."""

    def __init__(self, profile: Path) -> None:
        self.profile, self.peak, self._stop = profile, 0, threading.Event()

    def __enter__(self) -> PeakMemory:
        def sample() -> None:
            pids, listed = [], 0.0
            while not self._stop.wait(0.1):
                if time.monotonic() - listed > 1.0:
                    pids, listed = renderer_pids(self.profile), time.monotonic()
                self.peak = max(self.peak, _pss_bytes(pids))

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the three systems --------------------------------------------------------------------------------


class Browser:
    """One Chromium with a fresh profile of its own, so its first page load is a cold one."""

    def __init__(self, playwright: Any, workdir: Path, name: str) -> None:
        self.profile = workdir / f"profile-{name}"
        self.context = playwright.chromium.launch_persistent_context(
            str(self.profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_S * 1000)

    def cpu_s(self) -> float:
        return _cpu_s(renderer_pids(self.profile))

    def js_heap_bytes(self) -> int:
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Performance.enable")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        cdp.detach()
        return int(metrics.get("JSHeapUsedSize", 0))

    def close(self) -> None:
        self.context.close()


class OurPage(Browser):
    def open(self, url: str, model: str) -> None:
        self.page.goto(url)
        self._ready(model)

    def _ready(self, model: str) -> None:
        self.page.wait_for_function(STARTED_JS)
        if self.page.inner_text("[data-testid=status]").strip() == "error":
            raise SystemExit("our page did not start: " + self.page.inner_text("[data-testid=error]"))
        self.page.evaluate(OUR_HOOK)
        self.page.select_option("[data-testid=model]", model)
        self.info = self.page.evaluate("({threads: window.passbg.threads, isolated: crossOriginIsolated})")

    def wait_stored(self, timeout_s: float = 180) -> None:
        """Until the service worker has stored the offline copy (a first visit does that once idle)."""
        self.page.wait_for_function(
            "['ready', 'failed', 'unsupported'].includes("
            "document.querySelector('[data-testid=offline-status]')?.dataset.state)",
            timeout=timeout_s * 1000,
        )

    def cold(self, url: str, model: str, photo: Path) -> float:
        """ms from navigation to the first result on screen. The photo is chosen as soon as the page
        takes one (it keeps it while Python starts), as the peer's page gets it as soon as it loads."""
        manifest = json.loads((REPO / "site" / "static" / "models" / "manifest.json").read_text())
        t0 = time.perf_counter()
        self.page.goto(url)
        if model != manifest["default"]:  # only the default model is there before Python is up
            self._ready(model)
        else:
            self.page.wait_for_function("window.passbg !== undefined")
            self.page.evaluate(OUR_HOOK)
        self.page.set_input_files("[data-testid=photo-input]", str(photo))
        self.page.wait_for_function("window.__bench.n > 0")
        ms = (time.perf_counter() - t0) * 1000.0
        if self.page.evaluate("window.__bench.error"):
            raise SystemExit(f"our page failed on {photo.name}: {self.page.evaluate('window.__bench.error')}")
        # Where the time went, ms since navigation (what limits the cold load).
        self.cold_parts = self.page.evaluate("""() => {
            const p = window.passbg;
            const session = (p.engineTimeline ?? []).find(([, what]) => what === 'model session ready');
            return {python_ready: p.bootStarted + p.timings.python_ready,
                    model_ready: session ? session[0] : null,
                    photo: p.timings.page_total, inference: p.timings.inference};
        }""")
        self._ready(model)
        return ms

    def _choose(self, photo: Path) -> tuple[int, float]:
        """Choose the photo; return the results counted before it and the renderer's CPU seconds then."""
        # Choosing the same file twice fires no change event: clear the input first.
        done = self.page.evaluate(
            "document.querySelector('[data-testid=photo-input]').value = ''; window.__bench.n"
        )
        cpu0 = self.cpu_s()
        self.page.set_input_files("[data-testid=photo-input]", str(photo))
        return done, cpu0

    def run(self, photo: Path) -> Run:
        done, cpu0 = self._choose(photo)
        self.page.wait_for_function(f"window.__bench.n > {done}")
        cpu = self.cpu_s() - cpu0
        state = self.page.evaluate("({b: window.__bench, meta: window.passbg.lastMeta})")
        if state["b"]["error"]:
            raise SystemExit(f"our page failed on {photo.name}: {state['b']['error']}")
        stages = {k: float(v) for k, v in state["meta"]["timings"].items()}
        return Run(ms=state["b"]["end"] - state["b"]["start"], cpu_s=cpu, stages=stages,
                   python_heap=int(state["meta"].get("python_heap") or 0))

    def passport(self, photo: Path, preset: str) -> Run:
        """With a country preset chosen: ms from choosing the photo to its passport crop on screen
        (cut-out, then the page's crop: face landmarks, frame, checks, preview)."""
        self.page.select_option("[data-testid=preset]", preset)
        done, cpu0 = self._choose(photo)
        # The crop is shown when the presets panel holds a crop for this photo and has nothing queued.
        end = self.page.wait_for_function(
            f"() => window.__bench.n > {done} && (window.__bench.error || (!window.passbgPresets.busy"
            " && !window.passbgPresets.pending && window.passbgPresets.meta)) ? performance.now() : false",
            timeout=TIMEOUT_S * 1000,
        ).json_value()
        cpu = self.cpu_s() - cpu0
        state = self.page.evaluate("window.__bench")
        if state["error"]:
            raise SystemExit(f"our page failed on {photo.name}: {state['error']}")
        self.page.select_option("[data-testid=preset]", "")  # back to plain background replacement
        return Run(ms=end - state["start"], cpu_s=cpu)


class PeerPage(Browser):
    def open(self, url: str, model: str) -> None:
        self.page.goto(f"{url}?model={PEER_MODEL[model]}")
        self.page.wait_for_function("window.peerBench !== undefined")
        self.info = self.page.evaluate("({threads: peerBench.threads, isolated: peerBench.isolated})")

    def run(self, photo: Path) -> Run:
        done = self.page.evaluate("peerBench.runs.length")
        cpu0 = self.cpu_s()
        self.page.set_input_files("[data-testid=photo-input]", str(photo))
        self.page.wait_for_function(f"peerBench.runs.length > {done} || peerBench.error !== null")
        cpu = self.cpu_s() - cpu0
        state = self.page.evaluate("peerBench")
        if state["error"]:
            raise SystemExit(f"the peer failed on {photo.name}: {state['error']}")
        return Run(ms=state["runs"][-1]["ms"], cpu_s=cpu)

    def cold(self, url: str, model: str, photo: Path) -> float:
        """ms from navigation to the first result (the peer loads its model with the first photo)."""
        t0 = time.perf_counter()
        self.open(url, model)
        self.run(photo)
        return (time.perf_counter() - t0) * 1000.0


class Native:
    """The CPython pipeline with onnxruntime, session created once (warm, like the pages)."""

    def __init__(self, model: str, threads: int) -> None:
        from passbg.core.backend_ort import OrtBackend
        from passbg.core.models import load_manifest

        self.spec = load_manifest(REPO / "static" / "models" / "manifest.json").get(model)
        self.backend = OrtBackend(threads=threads)
        self.backend.session(self.spec)

    def run(self, photo: Path) -> Run:
        from passbg.core import pipeline

        data = photo.read_bytes()
        cpu0, t0 = time.process_time(), time.perf_counter()
        result = pipeline.process(data, self.backend, self.spec, "white")
        result.jpeg()
        result.cutout_png()
        ms = (time.perf_counter() - t0) * 1000.0
        return Run(ms=ms, cpu_s=time.process_time() - cpu0, stages=dict(result.timings))


def cold_over_link(
    pw: Any, workdir: Path, models: dict[str, str], photo: Path, mbit: float
) -> dict[str, float]:
    """Both cold loads again, each in a fresh profile and from a server behind a `mbit` Mbit/s link: on
    a real first visit the downloads (Python, onnxruntime-web, the model) weigh as much as the computing.
    models: {"ours": our model id, "peer": the peer's}."""
    times = {}
    for name, cls, root in (("ours", OurPage, REPO / "site"), ("peer", PeerPage, REPO / "site-bench")):
        with serve(root, Link(mbit)) as url:
            browser = cls(pw, workdir, f"{name}-link")
            try:
                times[f"{name}_link_ms"] = browser.cold(url, models[name], photo)
            finally:
                browser.close()
        print(f"cold first result over {mbit:g} Mbit/s: {name} {times[f'{name}_link_ms']:.0f} ms", flush=True)
    return times


# --- photos -------------------------------------------------------------------------------------------


def pick_photos(folder: Path, count: int, workdir: Path) -> list[Path]:
    """`count` portraits spread evenly over the folder's sorted names, plus 12 and 24 MP upscales of the
    first (the 24 MP one last: the report's memory figures are taken on the upscales)."""
    from PIL import Image

    names = sorted(folder.glob("*.jpg"))
    if not names:
        raise SystemExit(f"no .jpg photos in {folder}")
    step = max(1, len(names) // max(1, count))
    chosen = names[::step][:count]
    upscales = []
    with Image.open(chosen[0]) as image:
        rgb = image.convert("RGB")
    for side, tag in ((PHONE12_SIDE, "12mp"), (BIG_SIDE, "24mp")):
        big = workdir / f"{chosen[0].stem}-{tag}.jpg"
        width, height = side if rgb.height >= rgb.width else side[::-1]
        rgb.resize((width, height), Image.Resampling.BICUBIC).save(big, quality=90)
        upscales.append(big)
    return [*chosen, *upscales]


def room_photos(portraits: list[Path], workdir: Path) -> list[Path]:
    """Each portrait standing in a room (passbg_dev.scenes.room_composite on its truth cut-out from
    passbg_dev.eval, cached there), as a JPEG: loosely framed phone-like photos."""
    from PIL import Image

    from passbg.core.backend_ort import OrtBackend
    from passbg.core.models import load_manifest
    from passbg_dev import eval as ev
    from passbg_dev import scenes

    spec = load_manifest(REPO / "static" / "models" / "manifest.json").get("isnet-fp16")  # eval's truth
    backend, out = OrtBackend(), []
    for i, photo in enumerate(portraits):
        _, alpha, fg = ev.truth_for(photo, spec, backend, ev.DEFAULT_CACHE)
        img, _, _ = scenes.room_composite(alpha, fg, seed=i)
        path = workdir / f"{photo.stem}-room.jpg"
        Image.fromarray(img).save(path, quality=92)
        out.append(path)
    return out


def phone_photos_48mp(first: Path, workdir: Path) -> list[Path]:
    """A 48 MP JPEG and a 48 MP HEIC (x265's fastest preset: ~30 s instead of ~3 min to encode) upscaled
    from `first`, for our page's peak memory only (the peer reads no HEIC)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    with Image.open(first) as image:
        width, height = PHONE_SIDE if image.height >= image.width else PHONE_SIDE[::-1]
        big = image.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
    jpeg, heic = workdir / f"{first.stem}-48mp.jpg", workdir / f"{first.stem}-48mp.heic"
    big.save(jpeg, quality=90)
    big.save(heic, "HEIF", quality=60, enc_params={"preset": "ultrafast"})
    return [jpeg, heic]


# --- report -------------------------------------------------------------------------------------------


def _stats(values: list[float], spec: str = "8.0f") -> str:
    return f"median {statistics.median(values):{spec}}  min {min(values):{spec}}  max {max(values):{spec}}"


NON_INFERENCE = ("decode", "preprocess", "handoff", "readback", "upsample", "foreground", "composite",
                 "encode", "checks")


def report(rows: list[dict], cold: dict, memory: dict, info: dict, out: Callable[[str], None]) -> dict:
    """Print the comparison; return the figures as a dict (for --json)."""
    out(f"\nmodels: ours {info['model']}, peer {info['peer_model']}"
        + (f" (and its default, {info['peer_default_model']})" if info.get("peer_default_model") else "")
        + f" · ours: {info['ours']} · peer: {info['peer']} · native threads "
        f"{info['threads']} · load average at start {info['load']}")
    out(f"\n{'photo':34} {'pixels':>11} {'ours ms':>9} {'peer ms':>9} {'native ms':>9} "
        f"{'ours/peer':>9} {'ours/nat':>9} {'cpu o/p':>8} {'cpu o/n':>8}")
    for r in rows:
        out(f"{r['photo'][:34]:34} {r['pixels']:>11} {r['ours'].ms:9.0f} {r['peer'].ms:9.0f} "
            f"{r['native'].ms:9.0f} {r['ours'].ms / r['peer'].ms:9.2f} {r['ours'].ms / r['native'].ms:9.2f} "
            f"{r['ours'].cpu_s / r['peer'].cpu_s:8.2f} {r['ours'].cpu_s / r['native'].cpu_s:8.2f}")
    figures: dict[str, Any] = {"info": info, "cold": cold, "memory": memory}
    out("")
    for system in ("ours", "peer", "native"):
        values = [r[system].ms for r in rows]
        out(f"{system:7} wall ms  {_stats(values)}")
        figures[system] = values
    ratios = {
        "ours/peer": [r["ours"].ms / r["peer"].ms for r in rows],
        "ours/native": [r["ours"].ms / r["native"].ms for r in rows],
        "ours/peer (cpu)": [r["ours"].cpu_s / r["peer"].cpu_s for r in rows],
        "ours/native (cpu)": [r["ours"].cpu_s / r["native"].cpu_s for r in rows],
    }
    for name, values in ratios.items():
        out(f"{name:18} {_stats(values, '.2f')}")
    figures["ratios"] = {k: statistics.median(v) for k, v in ratios.items()}
    for framing in ("tight", "loose"):
        picked = [r for r in rows if r["framing"] == framing]
        if picked:
            values = [r["ours"].ms / r["peer"].ms for r in picked]
            also = ", with the upscales" if framing == "tight" else ""
            out(f"ours/peer, {framing:5} {_stats(values, '.2f')}  ({len(picked)} photos{also})")
            figures["ratios"][f"ours/peer {framing}"] = statistics.median(values)
    if all("peer_default" in r for r in rows):
        name = info.get("peer_default_model")
        values = [r["ours"].ms / r["peer_default"].ms for r in rows]
        out(f"\nagainst the peer's own default model ({name}): peer wall ms "
            f"{_stats([r['peer_default'].ms for r in rows])}")
        out(f"ours/peer default {_stats(values, '.2f')}")
        figures["peer_default"] = [r["peer_default"].ms for r in rows]
        figures["ratios"]["ours/peer default"] = statistics.median(values)
        for framing in ("tight", "loose"):
            picked = [r for r in rows if r["framing"] == framing]
            if picked:
                values = [r["ours"].ms / r["peer_default"].ms for r in picked]
                out(f"ours/peer default, {framing:5} {_stats(values, '.2f')}  ({len(picked)} photos)")
                figures["ratios"][f"ours/peer default {framing}"] = statistics.median(values)
    passports = [r for r in rows if "passport" in r]
    if passports:
        # The peer has no passport path: its removeBackground on the whole photo, then the same crop
        # (a box drawn from the finished cut-out, a few ms on a canvas, not charged to it).
        out("\ntime to the passport photo (ours: preset chosen, photo to crop on screen; peer: its cut-out)")
        for framing in ("tight", "loose"):
            picked = [r for r in passports if r["framing"] == framing]
            if picked:
                values = [r["passport"].ms / r["peer"].ms for r in picked]
                ours_ms = statistics.median(r["passport"].ms for r in picked)
                out(f"ours/peer, {framing:5} {_stats(values, '.2f')}  (ours median {ours_ms:.0f} ms, "
                    f"{len(picked)} photos)")
                figures["ratios"][f"passport ours/peer {framing}"] = statistics.median(values)
    out("\nour page, per stage (median ms over the photos):")
    keys = [k for k in rows[0]["ours"].stages if all(k in r["ours"].stages for r in rows)]
    stage_medians = {k: statistics.median(r["ours"].stages[k] for r in rows) for k in keys}
    for key, value in stage_medians.items():
        out(f"  {key:14} {value:9.1f}")
    shares = []
    for r in rows:
        s = r["ours"].stages
        non_inference = sum(s.get(k, 0.0) for k in NON_INFERENCE)
        shares.append(non_inference / r["ours"].ms)
    out(f"non-inference stages / total: median {statistics.median(shares):.1%} "
        f"(min {min(shares):.1%}, max {max(shares):.1%})")
    figures["stages"], figures["non_inference_share"] = stage_medians, statistics.median(shares)
    out(f"\ncold load to first result ({cold['photo']}): ours {cold['ours_ms']:.0f} ms, "
        f"peer {cold['peer_ms']:.0f} ms (served from this machine)")
    parts = cold["ours_parts"]
    if parts.get("model_ready") is not None:
        out(f"  ours, ms after navigation: model session ready {parts['model_ready']:.0f}, Python ready "
            f"{parts['python_ready']:.0f}; then the photo took {parts['photo']:.0f} "
            f"(inference {parts['inference']:.0f})")
    if "link_mbit" in cold:
        out(f"cold load over a {cold['link_mbit']:g} Mbit/s link: ours {cold['ours_link_ms']:.0f} ms, "
            f"peer {cold['peer_link_ms']:.0f} ms")
    mib = 1024 * 1024
    for smaller in memory.get("smaller", []):
        out(f"12 MP photo ({smaller['photo']}): ours peak renderer memory (PSS) "
            f"{smaller['ours_peak'] / mib:.0f} MiB (Python's wasm memory "
            f"{smaller['ours_python_heap'] / mib:.0f} MiB), "
            f"peer {smaller['peer_peak'] / mib:.0f} MiB")
    out(f"24 MP photo ({memory['photo']}): ours peak renderer memory (PSS) "
        f"{memory['ours_peak'] / mib:.0f} MiB (Python's wasm memory {memory['ours_python_heap'] / mib:.0f} "
        f"MiB, main-thread JS heap {memory['ours_js_heap'] / mib:.0f} MiB), "
        f"peer {memory['peer_peak'] / mib:.0f} MiB (JS heap {memory['peer_js_heap'] / mib:.0f} MiB)")
    for phone in memory.get("phone", []):
        out(f"48 MP {phone['kind']} ({phone['photo']}, {phone['pixels']}): ours peak renderer memory (PSS) "
            f"{phone['ours_peak'] / mib:.0f} MiB (Python's wasm memory {phone['ours_python_heap'] / mib:.0f} "
            f"MiB), {phone['ms'] / 1000:.1f} s")
    return figures


# --- main ---------------------------------------------------------------------------------------------


STAGE_ORDER = ("decode", "preprocess", "handoff", "inference", "readback", "upsample", "foreground",
               "composite", "encode", "checks")


def stage_report(photo: Path, model: str, runs: int, resize: str | None, out: Callable[[str], None]) -> None:
    """Per-stage medians for one photo: our page in Chromium against the CPython pipeline, same model."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    threads = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="passbg-stages-") as tmp:
        workdir = Path(tmp)
        if resize:
            width, height = (int(v) for v in resize.lower().split("x"))
            resized = workdir / f"{photo.stem}-{width}x{height}.jpg"
            with Image.open(photo) as image:
                scaled = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
                scaled.save(resized, quality=95)
            photo = resized
        with Image.open(photo) as image:
            size = f"{image.width}x{image.height}"
        native = Native(model, threads)
        with serve(REPO / "site") as url, sync_playwright() as pw:
            ours = OurPage(pw, workdir, "ours")
            try:
                ours.open(url, model)
                ours.run(photo)  # warm-up: model download and session creation
                pairs = [(ours.run(photo), native.run(photo)) for _ in range(runs)]
            finally:
                ours.close()
    out(f"{photo.name} ({size}), model {model}, {threads} threads, median of {runs} warm runs, "
        f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    out(f"{'stage':<12}{'browser ms':>12}{'CPython ms':>12}")
    for stage in STAGE_ORDER:
        b = [r.stages[stage] for r, _ in pairs if stage in r.stages]
        n = [r.stages[stage] for _, r in pairs if stage in r.stages]
        if b or n:
            out(f"{stage:<12}{statistics.median(b) if b else float('nan'):>12.0f}"
                f"{statistics.median(n) if n else float('nan'):>12.0f}")
    out(f"{'total':<12}{statistics.median(r.ms for r, _ in pairs):>12.0f}"
        f"{statistics.median(r.ms for _, r in pairs):>12.0f}   (browser: file chosen to result on screen)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m passbg_dev.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="our model id (default: the built manifest's default)")
    p.add_argument("--peer-model", default="isnet-fp16", choices=sorted(PEER_MODEL),
                   help="the peer's model (default isnet-fp16, the quality our default matches)")
    p.add_argument("--no-peer-default", dest="peer_default", action="store_false",
                   help="skip the second peer run per photo with the peer's own default (isnet-quint8)")
    p.add_argument("--photos", type=int, default=5, help="portraits besides the upscales (default 5)")
    p.add_argument("--loose", type=int, default=2,
                   help="how many of them also stand in a room, loosely framed (default 2)")
    p.add_argument("--preset", default="us-passport",
                   help="preset for the time to the passport photo (default us-passport; '' skips it)")
    p.add_argument("--portraits", type=Path, default=REPO.parent / "shared" / "data" / "portraits" / "images")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    p.add_argument("--link-mbit", type=float, default=100,
                   help="also time both cold loads from servers behind a link of this many Mbit/s "
                        "and 20 ms latency (default 100; 0: skip)")
    p.add_argument("--stages", type=Path, metavar="PHOTO",
                   help="instead: per-stage timings of this one photo, our page vs CPython (no peer)")
    p.add_argument("--resize", metavar="WxH", help="with --stages: resize the photo first, e.g. 1200x1600")
    p.add_argument("--runs", type=int, default=3, help="with --stages: warm runs to take the median of")
    args = p.parse_args(argv)
    manifest_path = REPO / "static" / "models" / "manifest.json"
    if not manifest_path.is_file():
        raise SystemExit("static/models/manifest.json is missing: run `python build.py` first")
    built = json.loads(manifest_path.read_text())
    args.model = args.model or built["default"]
    if args.model not in {m["id"] for m in built["models"]}:
        ids = ", ".join(m["id"] for m in built["models"])
        raise SystemExit(f"--model {args.model} is not built; built: {ids}")
    if args.stages:
        if not (REPO / "site/index.html").is_file():
            raise SystemExit("site/index.html is missing: run `python build.py` first")
        stage_report(args.stages, args.model, args.runs, args.resize, print)
        return 0
    for needed in ("site/index.html", "site-bench/index.html"):
        if not (REPO / needed).is_file():
            raise SystemExit(f"{needed} is missing: run `python build.py` first")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("Playwright is missing: run `python build.py test --no-build` once") from None

    threads = os.cpu_count() or 1
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="passbg-bench-") as tmp:
        workdir = Path(tmp)
        picked = pick_photos(args.portraits, args.photos, workdir)
        tight, upscales = picked[:-2], picked[-2:]
        loose = room_photos(tight[: args.loose], workdir)
        photos = [*tight, *loose, *upscales]
        phone = phone_photos_48mp(photos[0], workdir)
        native = Native(args.model, threads)
        with (
            serve(REPO / "site") as ours_url,
            serve(REPO / "site-bench") as peer_url,
            sync_playwright() as pw,
        ):
            ours, peer = OurPage(pw, workdir, "ours"), PeerPage(pw, workdir, "peer")
            default_peer = PeerPage(pw, workdir, "peer-default") if args.peer_default else None
            try:
                # Cold: a fresh profile, from navigation to the first result on screen.
                cold = {"photo": photos[0].name, "ours_ms": ours.cold(ours_url, args.model, photos[0]),
                        "ours_parts": ours.cold_parts}
                ours.wait_stored()  # so storing our offline copy does not slow the peer's cold load
                cold["peer_ms"] = peer.cold(peer_url, args.peer_model, photos[0])
                if default_peer:
                    default_peer.open(peer_url, PEER_DEFAULT)
                    default_peer.run(photos[0])  # warm, like the others: its model loads with a photo
                print(f"cold first result: ours {cold['ours_ms']:.0f} ms, peer {cold['peer_ms']:.0f} ms",
                      flush=True)
                rows, peaks = [], []
                for photo in photos:
                    from PIL import Image

                    with Image.open(photo) as image:
                        pixels = f"{image.width}x{image.height}"
                    big = photo in upscales
                    with PeakMemory(ours.profile) if big else nullcontext() as ours_mem:
                        ours_run = ours.run(photo)
                    ours_heap = ours.js_heap_bytes() if big else 0
                    with PeakMemory(peer.profile) if big else nullcontext() as peer_mem:
                        peer_run = peer.run(photo)
                    peer_heap = peer.js_heap_bytes() if big else 0
                    native_run = native.run(photo)
                    row = {"photo": photo.name, "pixels": pixels, "ours": ours_run, "peer": peer_run,
                           "native": native_run, "framing": "loose" if photo in loose else "tight"}
                    also = ""
                    if default_peer:
                        row["peer_default"] = default_peer.run(photo)
                        also = f", peer default {row['peer_default'].ms:.0f} ms"
                    passport = ""
                    if args.preset and not big:
                        row["passport"] = ours.passport(photo, args.preset)
                        passport = f", passport ({args.preset}) {row['passport'].ms:.0f} ms"
                    rows.append(row)
                    print(f"  {photo.name}: ours {ours_run.ms:.0f} ms, peer {peer_run.ms:.0f} ms{also}, "
                          f"native {native_run.ms:.0f} ms{passport}", flush=True)
                    if big:
                        peaks.append({"photo": photo.name, "pixels": pixels, "ours_peak": ours_mem.peak,
                                      "ours_python_heap": ours_run.python_heap, "ours_js_heap": ours_heap,
                                      "peer_peak": peer_mem.peak, "peer_js_heap": peer_heap})
                # The 24 MP figures as before; the 12 MP phone-size photo's beside them.
                memory = {**peaks[-1], "smaller": peaks[:-1]}
                # 48 MP phone photos, ours only, after the 24 MP one (wasm memory never shrinks, so the
                # peak is the page's, not the photo's alone): the JPEG is decoded by Pillow at 1/4 scale
                # (draft), the HEIC by libheif-js in full, then shrunk by the browser.
                memory["phone"] = []
                for photo in phone:
                    with PeakMemory(ours.profile) as ours_mem:
                        ours_run = ours.run(photo)
                    kind = "HEIC" if photo.suffix == ".heic" else "JPEG"
                    memory["phone"].append({
                        "kind": kind, "photo": photo.name, "pixels": "x".join(map(str, PHONE_SIDE)),
                        "ours_peak": ours_mem.peak, "ours_python_heap": ours_run.python_heap,
                        "ms": ours_run.ms,
                    })
                    print(f"  {photo.name}: ours {ours_run.ms:.0f} ms, peak {ours_mem.peak / 2**20:.0f} MiB",
                          flush=True)
                info = {"model": args.model, "peer_model": args.peer_model,
                        "peer_default_model": PEER_DEFAULT if default_peer else None,
                        "ours": ours.info, "peer": peer.info, "threads": threads,
                        "load": load,
                        "command": "python -m passbg_dev.bench " + " ".join(argv or sys.argv[1:])}
                if args.link_mbit > 0:
                    models = {"ours": args.model, "peer": args.peer_model}
                    cold.update(link_mbit=args.link_mbit,
                                **cold_over_link(pw, workdir, models, photos[0], args.link_mbit))
                figures = report(rows, cold, memory, info, print)
            finally:
                ours.close()
                peer.close()
                if default_peer:
                    default_peer.close()
    if args.json:
        atomic.write_text(args.json, json.dumps(figures, indent=2, default=lambda o: o.__dict__) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

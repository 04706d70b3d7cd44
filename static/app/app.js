// Main thread of the passbg page: user interface only. Python, numpy and onnxruntime-web run in
// a PyScript worker (static/app/worker.py), so the page stays responsive while a photo is processed.

import { $, announce, blobUrl, loadImage, manifestText, mb } from "./page.js";

const baseUrl = new URL("./", document.baseURI).href;

const ui = {
  status: $("status"),
  statusText: $("status-text"),
  statusDetail: $("status-detail"),
  dot: $("status-dot"),
  progress: $("progress"),
  error: $("error"),
  background: $("background"),
  custom: $("custom-colour"),
  backgroundHint: $("background-hint"),
  model: $("model"),
  wholePhoto: $("whole-photo"),
  modelHint: $("model-hint"),
  run: $("run"),
  photoInput: $("photo-input"),
  cameraInput: $("camera-input"),
  drop: $("drop"),
  filename: $("filename"),
  empty: $("empty"),
  resultArea: $("result-area"),
  before: $("before"),
  result: $("result"),
  afterClip: $("after-clip"),
  slider: $("compare-slider"),
  zoom: $("zoom"),
  download: $("download"),
  downloadCutout: $("download-cutout"),
  modelUsed: $("model-used"),
  timings: $("timings"),
};

const state = {
  worker: null,
  ready: false,
  busy: false,
  models: [],
  backgrounds: [],
  photo: null, // the user's original File: never dropped, whatever fails
  photoUrl: null,
  resultUrls: [],
  hasResult: false,
  bootStarted: performance.now(),
  stageStarted: performance.now(),
  timings: {}, // stage -> ms, as the page measured them (read by the benchmark)
};
window.passbg = state; // test and benchmark hook: timings, readiness
state.showResult = (meta, ms) => showResult(meta, ms); // feature modules (cloud.js) put a result on screen

// Feature modules (static/app/*.js) plug in through these events instead of editing this file:
//   passbg:ready  {info}            Python is up; detail = what init() returned
//   passbg:photo  {file}            the user chose a photo (the original File, kept in state.photo)
//   passbg:result {meta}            a result is on screen; detail = the worker's metadata
//   passbg:error  {message}         an error message is shown
//   passbg:zoom   {x, y, width, height}  the 200 % view now shows this part of the result
// They call Python through state.worker.sync.<function> (page.js: python()).

const STAGE_TEXT = {
  starting: "Starting…",
  "loading-python": "Loading Python and numpy…",
  ready: "Ready — choose a photo.",
  "loading-model": "Downloading the model…",
  "opening-model": "Preparing the model…",
  decoding: "Reading your photo…",
  segmenting: "Finding the person (this is the slow step)…",
  compositing: "Putting you on the new background…",
  done: "Done.",
  error: "Something needs your attention.",
};

function setStage(stage, detail = "") {
  const now = performance.now();
  state.stageStarted = now;
  ui.status.textContent = stage;
  ui.statusText.textContent = STAGE_TEXT[stage] ?? stage;
  ui.statusDetail.textContent = detail;
  ui.dot.dataset.stage = stage;
  document.body.dataset.stage = stage;
  if (stage !== "loading-model") ui.progress.hidden = true;
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = false;
  setStage("error");
  announce("error", { message });
}

function clearError() {
  ui.error.hidden = true;
  ui.error.textContent = "";
}

function onProgress(json) {
  const info = JSON.parse(json);
  if (info.stage === "loading-model") {
    ui.status.textContent = "loading-model";
    ui.statusText.textContent = STAGE_TEXT["loading-model"];
    ui.progress.hidden = false;
    ui.progress.max = info.total || 1;
    ui.progress.value = info.done;
    ui.statusDetail.textContent = info.total
      ? `${mb(info.done)} of ${mb(info.total)} MB`
      : `${mb(info.done)} MB`;
  } else {
    setStage(info.stage, info.model ? `model: ${info.model}` : "");
  }
}

function fillSelect(select, items, selected) {
  select.replaceChildren();
  for (const item of items) {
    const option = document.createElement("option");
    option.value = item.value;
    option.textContent = item.label;
    if (item.value === selected) option.selected = true;
    select.append(option);
  }
  select.disabled = false;
}

function describeModel(id) {
  const model = state.models.find((m) => m.id === id);
  if (!model) return "";
  const licence = model.licence || {};
  return `${model.title} — ${mb(model.bytes)} MB, licence ${licence.name ?? "unknown"}.`;
}

function updateHints() {
  ui.modelHint.textContent = describeModel(ui.model.value);
  const bg = state.backgrounds.find((b) => b.id === ui.background.value);
  ui.custom.hidden = ui.background.value !== "custom";
  ui.backgroundHint.textContent = bg?.note ?? (ui.background.value === "custom" ? "Pick any colour." : "");
}

function chosenBackground() {
  return ui.background.value === "custom" ? ui.custom.value : ui.background.value;
}

// The Python worker needs SharedArrayBuffer, which browsers give only to cross-origin isolated pages
// (COOP/COEP headers). `python build.py serve` sends them; on a plain static host the service worker
// (sw.js, registered by offline.js) adds them and reloads the page once. Without isolation PyScript
// would try a fallback of its own that fails with a cryptic error, so wait for it, then explain.
const NOT_ISOLATED =
  "This browser window does not give the page the shared memory the app needs (it is not " +
  "cross-origin isolated). Open passbg from a server that sends the COOP/COEP headers (`python " +
  "build.py serve` does), or in a normal (not private) window where the site may install its " +
  "service worker. Your photo has not been sent anywhere.";

function isolation(timeoutMs = 15000) {
  if (self.crossOriginIsolated) return Promise.resolve();
  if (!("serviceWorker" in navigator)) return Promise.reject(new Error(NOT_ISOLATED));
  // offline.js reloads the page as soon as its service worker controls it; if that does not happen
  // (registration blocked or refused), say so instead of waiting forever.
  return new Promise((_, reject) => setTimeout(() => reject(new Error(NOT_ISOLATED)), timeoutMs));
}

// Pyodide does not report a missing or broken runtime file to the page: it simply never starts. So
// check up front that the browser runs WebAssembly and that the runtime's big files are on this site.
const RUNTIME_FILES = [
  "static/vendor/pyodide/pyodide.asm.wasm",
  "static/vendor/pyodide/python_stdlib.zip",
  "static/vendor/ort/ort-wasm-simd-threaded.wasm",
];

async function runtimeAvailable() {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
    throw new Error("this browser cannot run WebAssembly, which passbg needs. Use a current Chrome, Edge, Firefox or Safari.");
  }
  const answers = await Promise.all(
    RUNTIME_FILES.map((path) =>
      fetch(new URL(path, baseUrl), { method: "HEAD", cache: "no-cache" }).then(
        (response) => ({ path, response }),
        () => ({ path, response: null }), // offline without a stored copy: the service worker explains that
      ),
    ),
  );
  for (const { path, response } of answers) {
    if (response && !response.ok) {
      throw new Error(`a file of the app is missing on this site (${path.split("/").pop()}: HTTP ${response.status}). Reload the page; if that does not help, the site needs to be rebuilt with \`python build.py\`.`);
    }
  }
}

// PyScript boots the worker when this <script type="py" worker> element is added, and fires py:done
// on it once worker.py has run and exposed its functions.
function startEngine() {
  const element = document.createElement("script");
  element.type = "py";
  element.id = "engine";
  element.setAttribute("worker", "");
  element.setAttribute("name", "passbg");
  element.setAttribute("src", "./static/app/worker.py");
  element.setAttribute("config", "./pyscript.toml");
  document.body.append(element);
  return element;
}

function pythonWorker() {
  const element = startEngine();
  return new Promise((resolve, reject) => {
    const fail = setTimeout(() => {
      reject(new Error("Python did not start within 3 minutes. Check your connection and reload; if it keeps failing, your browser may not support WebAssembly."));
    }, 180000);
    const done = () => {
      clearTimeout(fail);
      if (element.xworker) resolve(element.xworker);
      else reject(new Error("the Python worker did not start"));
    };
    element.addEventListener("py:done", done, { once: true });
  });
}

// onnxruntime-web runs in a module worker of its own (static/app/ort-worker.mjs), started at once: it
// downloads, verifies and opens the default model while Python boots, instead of after it. Resolves to
// the name of the channel the Python worker reaches it on ("" when it could not start: then ORT runs in
// the Python worker). Threads need cross-origin isolation; without it the page reloads anyway.
function startOrtWorker() {
  if (!self.crossOriginIsolated || typeof Worker !== "function" || typeof BroadcastChannel !== "function") {
    return Promise.resolve("");
  }
  let worker;
  try {
    worker = new Worker(new URL("static/app/ort-worker.mjs", baseUrl), { type: "module", name: "passbg-onnxruntime" });
  } catch {
    return Promise.resolve("");
  }
  const channel = `passbg-ort-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  state.ortWorker = worker;
  const ports = new MessageChannel(); // port2 goes to the Python worker once it is up (see ort-bridge.mjs)
  const manifest = manifestText(); // for its preload: fetched while the worker script loads
  state.ortPort = ports.port2;
  state.engineTimeline = []; // [ms since navigation, what] (the benchmark's cold timeline reads it)
  return new Promise((resolve) => {
    worker.addEventListener("message", async (event) => {
      const message = event.data ?? {};
      if (message.type === "timeline") {
        state.engineTimeline.push([message.at - performance.timeOrigin, message.what]);
      } else if (message.type === "loaded") {
        const threads = navigator.hardwareConcurrency || 2;
        worker.postMessage({ type: "start", baseUrl, threads, channel, port: ports.port1, manifest: await manifest }, [ports.port1]);
        resolve(channel);
      }
    });
    worker.addEventListener("error", (event) => {
      console.error("passbg: the onnxruntime worker failed:", event.message || event);
      resolve("");
    });
  });
}

// The service worker stores ~120 MB for offline use on the first visit; it waits for this signal (or
// its own time limit), so storing does not compete with the first photo for the CPU. First the
// onnxruntime worker puts the model it downloaded before the service worker existed into the
// hand-over cache (sw.js reads the same name), so the service worker does not download it again.
const HAND_OVER_CACHE = "passbg.handover";
let idleSent = false;
async function letServiceWorkerStore() {
  if (idleSent || !("serviceWorker" in navigator)) return;
  idleSent = true;
  await handOverDownloads();
  navigator.serviceWorker.controller?.postMessage({ type: "page-idle" });
  navigator.serviceWorker.ready.then((registration) => registration.active?.postMessage({ type: "page-idle" }));
}

function handOverDownloads() {
  const worker = state.ortWorker;
  if (!worker) return Promise.resolve(0);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(0), 60000); // a stuck download must not keep storing off
    worker.addEventListener("message", function handed(event) {
      if (event.data?.type !== "handed-over") return;
      worker.removeEventListener("message", handed);
      clearTimeout(timer);
      resolve(event.data.files);
    });
    worker.postMessage({ type: "hand-over", cache: HAND_OVER_CACHE });
  });
}

async function boot() {
  setStage("loading-python");
  const ortChannel = startOrtWorker();
  const timer = setInterval(() => {
    if (!state.ready && ui.status.textContent === "loading-python") {
      const seconds = (performance.now() - state.bootStarted) / 1000;
      const slow = seconds > 30 ? " — this takes longer on a slow connection or device" : "";
      ui.statusDetail.textContent = `${seconds.toFixed(1)} s${slow}`;
    }
  }, 250);
  try {
    await runtimeAvailable();
    await isolation();
    const worker = await pythonWorker();
    worker.sync.progress = onProgress;
    state.worker = worker;
    const info = JSON.parse(
      await worker.sync.init(baseUrl, navigator.hardwareConcurrency || 2, await ortChannel, await manifestText()),
    );
    if (state.ortPort) worker.postMessage({ type: "passbg-ort-port", port: state.ortPort }, [state.ortPort]);
    state.timings.python_ready = performance.now() - state.bootStarted;
    state.models = info.models;
    state.backgrounds = info.backgrounds;
    state.threads = info.threads;
    if (!info.models.length) {
      throw new Error("No segmentation model is installed on this site. Run `python build.py` and reload.");
    }
    fillSelect(ui.model, info.models.map((m) => ({ value: m.id, label: m.title })), info.default_model);
    fillSelect(
      ui.background,
      [...info.backgrounds.map((b) => ({ value: b.id, label: `${b.label} (${b.hex})` })), { value: "custom", label: "Custom colour…" }],
      info.default_background,
    );
    updateHints();
    state.ready = true;
    ui.run.disabled = !state.photo;
    setStage("ready", `Python ready in ${(state.timings.python_ready / 1000).toFixed(1)} s · ${info.threads} thread(s)`);
    announce("ready", { info });
    // No photo soon after start: the machine is idle, the offline copy may be stored.
    setTimeout(() => !state.busy && !state.photo && letServiceWorkerStore(), 3000);
    if (state.photo) await processPhoto();
  } catch (err) {
    showError(`The app could not start: ${err.message || err}`);
    letServiceWorkerStore();
  } finally {
    clearInterval(timer);
  }
}

function setPhoto(file) {
  if (!file) return;
  clearError();
  state.photo = file;
  if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  if (state.beforeFromPython) URL.revokeObjectURL(state.beforeFromPython);
  state.beforeFromPython = null;
  state.photoUrl = URL.createObjectURL(file);
  ui.before.src = state.photoUrl;
  ui.filename.hidden = false;
  ui.filename.textContent = `${file.name || "photo"} · ${mb(file.size)} MB`;
  ui.run.disabled = !state.ready;
  announce("photo", { file });
  if (state.ready) processPhoto();
}

async function processPhoto() {
  if (!state.photo || !state.ready) return;
  if (state.busy) {
    state.pending = true;
    return;
  }
  state.busy = true;
  ui.run.disabled = true;
  clearError();
  try {
    do {
      state.pending = false;
      clearError();
      const t0 = performance.now();
      setStage("decoding");
      const bytes = new Uint8Array(await state.photo.arrayBuffer());
      const meta = JSON.parse(await state.worker.sync.process(
        bytes, ui.model.value, chosenBackground(), ui.wholePhoto.checked));
      if (meta.error) {
        showError(meta.error);
        continue;
      }
      await showResult(meta, performance.now() - t0);
    } while (state.pending);
  } catch (err) {
    showError(`Processing failed: ${err.message || err}. Your photo is still here; try again or choose another model.`);
  } finally {
    state.busy = false;
    ui.run.disabled = !state.photo;
    letServiceWorkerStore(); // the first result (or error) is on screen
  }
}

async function recomposite() {
  if (!state.hasResult || state.busy) return processPhoto();
  state.busy = true;
  try {
    const t0 = performance.now();
    setStage("compositing");
    const meta = JSON.parse(await state.worker.sync.recomposite(chosenBackground()));
    if (meta.error) showError(meta.error);
    else await showResult(meta, performance.now() - t0);
  } catch (err) {
    showError(`Could not change the background: ${err.message || err}`);
  } finally {
    state.busy = false;
  }
}

async function fetchResult(kind, type) {
  return blobUrl(await state.worker.sync.result_bytes(kind), type);
}

async function showResult(meta, pageMs) {
  for (const url of state.resultUrls) URL.revokeObjectURL(url);
  const composite = await fetchResult("composite", "image/jpeg");
  state.resultUrls = [composite];
  await loadImage(composite, "the result image could not be shown", ui.result);
  ui.download.href = composite;
  ui.downloadCutout.removeAttribute("href"); // encoded when first asked for (see the click handler)
  const stem = (state.photo?.name || "photo").replace(/\.[^.]+$/, "");
  ui.download.download = `${stem}-passbg.jpg`;
  ui.downloadCutout.download = `${stem}-cutout.png`;
  ui.empty.hidden = true;
  ui.resultArea.hidden = false;
  drawZoom(meta.zoom);
  if (ui.before.complete && !ui.before.naturalWidth && !state.beforeFromPython) {
    // The browser shows no <img> of this photo (HEIC in Chromium): show Python's decoded copy instead.
    state.beforeFromPython = await fetchResult("original", "image/jpeg");
    ui.before.src = state.beforeFromPython;
  }
  const licence = meta.model.licence || {};
  ui.modelUsed.replaceChildren();
  ui.modelUsed.append(`Made with ${meta.model.title} (${meta.model.id}), licence `);
  const link = document.createElement(licence.url ? "a" : "span");
  link.textContent = licence.name ?? "unknown";
  if (licence.url) {
    link.href = licence.url;
    link.target = "_blank";
    link.rel = "noopener";
  }
  ui.modelUsed.append(link, licence.note ? ` — ${licence.note}` : ".");
  state.timings = { ...state.timings, ...meta.timings, page_total: pageMs };
  state.lastMeta = meta;
  renderTimings(meta.timings, pageMs);
  state.hasResult = true;
  setStage("done", `${(pageMs / 1000).toFixed(2)} s · ${meta.width}×${meta.height} px`);
  announce("result", { meta });
}

const TIMING_LABELS = [
  ["model_load", "load model"],
  ["decode", "decode photo"],
  ["preprocess", "prepare tensor"],
  ["handoff", "hand tensor to onnxruntime"],
  ["inference", "inference"],
  ["readback", "read mask back"],
  ["upsample", "upsample mask"],
  ["foreground", "estimate hair colours"],
  ["composite", "composite"],
  ["encode", "encode files"],
  ["total", "total in the worker"],
];

function renderTimings(timings, pageMs) {
  const rows = TIMING_LABELS.filter(([key]) => key in timings).map(
    ([key, label]) => `<tr><th>${label}</th><td>${timings[key].toFixed(0)} ms</td></tr>`,
  );
  rows.push(`<tr><th>total seen by the page</th><td>${pageMs.toFixed(0)} ms</td></tr>`);
  ui.timings.innerHTML = rows.join("");
}

const ZOOM_MAX = { width: 360, height: 240 }; // source pixels; shown at 200 %

// Draw the result at 200 % around a point (default: the box on top of the head the worker found).
function drawZoom(box, centre) {
  const img = ui.result;
  const w = img.naturalWidth;
  const h = img.naturalHeight;
  const area = box ?? { x: w * 0.3, y: h * 0.05, width: w * 0.4, height: h * 0.25 };
  const width = Math.min(area.width, ZOOM_MAX.width, w);
  const height = Math.min(area.height, ZOOM_MAX.height, h);
  const cx = centre?.x ?? area.x + area.width / 2;
  const cy = centre?.y ?? area.y + area.height / 2;
  const x = Math.round(Math.min(Math.max(0, cx - width / 2), w - width));
  const y = Math.round(Math.min(Math.max(0, cy - height / 2), h - height));
  ui.zoom.width = width * 2;
  ui.zoom.height = height * 2;
  const ctx = ui.zoom.getContext("2d");
  ctx.imageSmoothingEnabled = false; // 200 % with visible pixels, as users are told to check
  ctx.drawImage(img, x, y, width, height, 0, 0, width * 2, height * 2);
  state.zoomView = { x, y, width, height };
  announce("zoom", state.zoomView);
}

// --- wiring ---------------------------------------------------------------------------------
ui.photoInput.addEventListener("change", () => setPhoto(ui.photoInput.files[0]));
ui.cameraInput.addEventListener("change", () => setPhoto(ui.cameraInput.files[0]));
ui.run.addEventListener("click", () => processPhoto());
// The transparent PNG takes a while to encode, so it is made only when someone wants it.
ui.downloadCutout.addEventListener("click", async (event) => {
  if (ui.downloadCutout.getAttribute("href") || !state.hasResult) return;
  event.preventDefault();
  try {
    const url = await fetchResult("cutout", "image/png");
    state.resultUrls.push(url);
    ui.downloadCutout.href = url;
    ui.downloadCutout.click();
  } catch (err) {
    showError(`The cut-out could not be prepared: ${err.message || err}. Your photo and result are still here.`);
  }
});
ui.model.addEventListener("change", () => {
  updateHints();
  if (state.photo) processPhoto();
});
ui.wholePhoto.addEventListener("change", () => state.photo && processPhoto());
ui.background.addEventListener("change", () => {
  updateHints();
  if (state.hasResult) recomposite();
});
ui.custom.addEventListener("change", () => state.hasResult && recomposite());
// Click anywhere on the result to inspect that spot at 200 %.
ui.afterClip.addEventListener("click", (event) => {
  if (!state.hasResult) return;
  const rect = ui.result.getBoundingClientRect();
  const scale = ui.result.naturalWidth / rect.width;
  drawZoom(state.lastMeta?.zoom, {
    x: (event.clientX - rect.left) * scale,
    y: (event.clientY - rect.top) * scale,
  });
});
ui.slider.addEventListener("input", () => {
  ui.afterClip.style.clipPath = `inset(0 ${100 - ui.slider.value}% 0 0)`;
});
for (const type of ["dragenter", "dragover"]) {
  ui.drop.addEventListener(type, (event) => {
    event.preventDefault();
    ui.drop.classList.add("over");
  });
}
for (const type of ["dragleave", "drop"]) {
  ui.drop.addEventListener(type, () => ui.drop.classList.remove("over"));
}
ui.drop.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer?.files?.[0];
  if (file) setPhoto(file);
});
// The main flow handles its own errors; a failure inside an optional feature module (offline
// storage, cloud, presets) is logged without taking the photo or the result off the screen.
window.addEventListener("unhandledrejection", (event) => {
  console.error("passbg: unhandled problem in a page module:", event.reason);
});

boot();

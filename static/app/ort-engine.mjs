// onnxruntime-web for the page: loading ORT, downloading and verifying models, sessions, inference.
// Runs in its own module worker (ort-worker.mjs), started by app.js at page load, so the default model
// is downloaded, verified and opened while Python boots; the Python worker reaches it through
// ort-bridge.mjs. (ort-bridge.mjs imports this module directly when that worker is not there.)
// Everything crossing back is plain data.

import { widen } from "./onnx-widen.mjs";
import "./sha256.js"; // defines globalThis.sha256Hex (a plain script, shared with sw.js)

let ort = null;
const sessions = new Map(); // model id -> {session, outputName}
const downloads = new Map(); // model url -> {promise, listeners: Set}: one download per file at a time
const opening = new Map(); // model id -> {promise, url, stage: "loading" | "opening"}

let useWebGpu = false;
let initialised = null;

// Idempotent: the worker calls it at start-up and the Python side again when it is ready.
export function init(baseUrl, numThreads) {
  initialised ??= initNow(baseUrl, numThreads);
  return initialised;
}

async function initNow(baseUrl, numThreads) {
  // WebGPU when the browser has a usable adapter (the JSEP build, which also runs wasm), else wasm only.
  // Untested on a real GPU: the test machines' headless Chromium has no adapter, so they take the fallback.
  let adapter = null;
  try {
    adapter = self.navigator?.gpu ? await self.navigator.gpu.requestAdapter() : null;
  } catch {
    adapter = null;
  }
  const bundle = adapter ? "ort.webgpu.min.mjs" : "ort.wasm.min.mjs";
  try {
    ort = await import(new URL(`static/vendor/ort/${bundle}`, baseUrl).href);
    useWebGpu = adapter !== null;
  } catch {
    ort = await import(new URL("static/vendor/ort/ort.wasm.min.mjs", baseUrl).href);
    useWebGpu = false;
  }
  ort.env.wasm.wasmPaths = new URL("static/vendor/ort/", baseUrl).href;
  // ORT picks one thread on a 2-core machine unless told otherwise, and reads this only when the first
  // session is created; threads need cross-origin isolation (SharedArrayBuffer), else one thread.
  const isolated = self.crossOriginIsolated === true;
  ort.env.wasm.numThreads = isolated ? Math.max(1, numThreads | 0) : 1;
  ort.env.wasm.proxy = false; // we already are in a worker
  variants = fetchVariants(new URL("static/models/variants.json", baseUrl).href);
  return {
    threads: ort.env.wasm.numThreads,
    isolated,
    webgpu: useWebGpu,
    version: ort.env.versions?.web ?? "",
  };
}

// static/models/variants.json: model file -> a build-time variant for the browser (the unused side
// outputs dropped; see build/derive_model.py). Optional.
let variants = Promise.resolve({});

async function fetchVariants(url) {
  try {
    const response = await fetch(url, { cache: "no-cache" });
    return response.ok ? await response.json() : {};
  } catch {
    return {};
  }
}

// The model bytes to open for `url`: the wasm variant when there is one and it downloads and
// verifies, else the original file (e.g. offline with only the original cached). A second caller for
// the same file while it downloads (the preload, then the first photo) shares that download.
function fetchModel(url, expectedBytes, expectedSha256, onProgress) {
  let entry = downloads.get(url);
  if (!entry) {
    const listeners = new Set();
    const report = (done, total) => {
      for (const listener of listeners) listener(done, total);
    };
    entry = { listeners, promise: null };
    entry.promise = fetchPreferred(url, expectedBytes, expectedSha256, report).finally(() => {
      downloads.delete(url); // done or failed: a later call downloads again (e.g. after a damaged file)
    });
    downloads.set(url, entry);
  }
  if (onProgress) entry.listeners.add(onProgress);
  return entry.promise.finally(() => entry.listeners.delete(onProgress));
}

async function fetchPreferred(url, expectedBytes, expectedSha256, onProgress) {
  const name = url.slice(url.lastIndexOf("/") + 1);
  const variant = (await variants)[name];
  if (variant) {
    try {
      return await fetchVerified(new URL(variant.file, url).href, variant.bytes, variant.sha256, onProgress);
    } catch (err) {
      console.warn(`passbg: ${variant.file} unavailable (${err.message}); using ${name}`);
    }
  }
  return fetchVerified(url, expectedBytes, expectedSha256, onProgress);
}

// Fetch a file with progress callbacks (done, total) and verify its sha256.
async function fetchVerified(url, expectedBytes, expectedSha256, onProgress) {
  let response;
  try {
    response = await fetch(url, { cache: "no-cache" });
  } catch (err) {
    throw new Error(`network: could not download the model (${err.message})`);
  }
  // The service worker answers 503 with a plain-words reason when offline and the model is not stored.
  if (response.headers.get("x-passbg-offline")) throw new Error(`offline: ${await response.text()}`);
  if (!response.ok) throw new Error(`http ${response.status}: the model file is missing on the server`);
  const total = Number(response.headers.get("content-length")) || expectedBytes || 0;
  const bytes = new Uint8Array(expectedBytes || total || 0);
  let buffer = bytes;
  let done = 0;
  const reader = response.body.getReader();
  let lastReport = 0;
  for (;;) {
    const { done: finished, value } = await reader.read();
    if (finished) break;
    if (done + value.length > buffer.length) {
      const grown = new Uint8Array(Math.max(buffer.length * 2, done + value.length));
      grown.set(buffer.subarray(0, done));
      buffer = grown;
    }
    buffer.set(value, done);
    done += value.length;
    const now = performance.now();
    if (onProgress && now - lastReport > 100) {
      lastReport = now;
      onProgress(done, total);
    }
  }
  if (onProgress) onProgress(done, total);
  const data = buffer.length === done ? buffer : buffer.slice(0, done);
  if (expectedSha256) {
    const actual = await globalThis.sha256Hex(data);
    if (actual !== expectedSha256) {
      throw new Error(`checksum: the model file is damaged (sha256 ${actual.slice(0, 12)}…, expected ${expectedSha256.slice(0, 12)}…)`);
    }
    // Not the service worker's stored copy (those carry their sha256): the network's, on a first visit.
    if (!response.headers.get("x-passbg-sha256")) keepForHandOver(url, data, expectedSha256);
  }
  return data;
}

// --- handing verified downloads to the service worker ------------------------------------------------
// On a first visit the default model is downloaded here before the service worker exists, and the
// service worker then stores the same 88 MB for offline use: a second download of the same file. So
// verified network downloads are kept until the page is idle and then put into a hand-over cache,
// which the service worker copies (after checking the sha256 again) instead of downloading.
// Only the page's onnxruntime worker keeps them (it is the one the page asks); by the time later
// downloads happen the service worker is running and keeps its own copy of what passes through it.
const handOverKept = new Map(); // url -> {bytes, sha256}
let handOverOpen = false;

export function keepDownloadsForHandOver() {
  handOverOpen = typeof caches !== "undefined"; // no Cache Storage: no service worker either
}

function keepForHandOver(url, bytes, sha256) {
  if (handOverOpen) handOverKept.set(url, { bytes, sha256 });
}

// Put the kept downloads (once those in flight end) into the Cache Storage cache `cacheName`, once;
// returns how many files it holds.
export async function handOver(cacheName) {
  await Promise.allSettled([...downloads.values()].map((entry) => entry.promise));
  handOverOpen = false;
  if (!handOverKept.size) return 0;
  const cache = await caches.open(cacheName);
  let count = 0;
  for (const [url, { bytes, sha256 }] of [...handOverKept]) {
    handOverKept.delete(url); // the memory goes back whether or not the cache takes it
    try {
      await cache.put(url, new Response(bytes, { headers: { "x-passbg-sha256": sha256 } }));
      count += 1;
    } catch (err) {
      console.warn(`passbg: could not hand ${url} to the offline copy (${err.message || err})`);
    }
  }
  return count;
}

async function createSession(modelId, bytes, outputIndex) {
  const options = {
    graphOptimizationLevel: "all",
    enableCpuMemArena: true,
    // No memory pattern: planning one block for every activation of a 1024 x 1024 model costs ~200 MB
    // more peak memory in wasm (which never shrinks), and inference was no slower without it.
    enableMemPattern: false,
    executionMode: "sequential", // "parallel" only adds a scheduler over one chain of convolutions
  };
  // An fp16 model is opened with its weights widened to fp32 (see onnx-widen.mjs); the fp16 bytes stay
  // what is downloaded, verified and stored.
  if (!useWebGpu) bytes = widen(bytes) ?? bytes;
  let session = null;
  if (useWebGpu) {
    try {
      session = await ort.InferenceSession.create(bytes, { ...options, executionProviders: ["webgpu", "wasm"] });
    } catch (err) {
      console.warn(`passbg: WebGPU session failed (${err.message}); using wasm`);
    }
  }
  session ??= await ort.InferenceSession.create(bytes, { ...options, executionProviders: ["wasm"] });
  // A variant keeps only the mask output, so a single output is the mask whatever the index says.
  const names = session.outputNames;
  const outputName = names.length === 1 ? names[0] : names[outputIndex ?? 0];
  sessions.set(modelId, { session, outputName, inputName: session.inputNames[0] });
  return { inputs: session.inputNames.join(","), output: outputName };
}

export function hasSession(modelId) {
  return sessions.has(modelId);
}

export function sessionIds() {
  return [...sessions.keys()];
}

// Download, verify and open a model once, however many callers ask (the start-up preload and the first
// photo). onProgress(done, total) during the download, onProgress(-1, -1) once it is being opened.
// Errors are prefixed: "network:", "offline:", "http N:", "checksum:" (from the download) or "session:".
export async function openModel(modelId, url, expectedBytes, expectedSha256, outputIndex, onProgress) {
  if (sessions.has(modelId)) return;
  let job = opening.get(modelId);
  if (!job) {
    job = { url, stage: "loading", promise: null };
    job.promise = (async () => {
      const bytes = await fetchModel(url, expectedBytes, expectedSha256, (done, total) => job.progress?.(done, total));
      job.stage = "opening";
      for (const listener of job.openers) listener(-1, -1);
      try {
        await createSession(modelId, bytes, outputIndex);
      } catch (err) {
        throw new Error(`session: ${err.message || err}`);
      }
    })().finally(() => opening.delete(modelId));
    job.openers = new Set();
    job.progress = (done, total) => {
      for (const listener of job.openers) listener(done, total);
    };
    opening.set(modelId, job);
  }
  if (onProgress) {
    job.openers.add(onProgress);
    if (job.stage === "opening") onProgress(-1, -1);
  }
  try {
    await job.promise;
  } finally {
    job.openers.delete(onProgress);
  }
}

export async function releaseSession(modelId) {
  const entry = sessions.get(modelId);
  if (entry) {
    sessions.delete(modelId);
    await entry.session.release();
  }
}

// Run one inference. `data` is a Float32Array (a view of Python's memory); it is read by ORT
// during this call only. Only the mask output is fetched, so the side outputs are not copied.
export async function run(modelId, data, dims) {
  const entry = sessions.get(modelId);
  if (!entry) throw new Error(`model ${modelId} is not loaded`);
  const t0 = performance.now();
  const input = new ort.Tensor("float32", data, Array.from(dims));
  const t1 = performance.now();
  const results = await entry.session.run({ [entry.inputName]: input }, [entry.outputName]);
  const t2 = performance.now();
  const out = results[entry.outputName];
  return { data: out.data, dims: Array.from(out.dims), handoffMs: t1 - t0, inferenceMs: t2 - t1 };
}

// Run a model and return every output (the face models have two): {outputs: [{data, dims}], inferenceMs}.
export async function runAll(modelId, data, dims) {
  const entry = sessions.get(modelId);
  if (!entry) throw new Error(`model ${modelId} is not loaded`);
  const t0 = performance.now();
  const results = await entry.session.run({ [entry.inputName]: new ort.Tensor("float32", data, Array.from(dims)) });
  const outputs = entry.session.outputNames.map((name) => ({ data: results[name].data, dims: Array.from(results[name].dims) }));
  return { outputs, inferenceMs: performance.now() - t0 };
}

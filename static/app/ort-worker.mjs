// The page's onnxruntime-web worker. app.js starts it at page load with {type: "start", baseUrl,
// threads, channel, manifest} (the text of static/models/manifest.json, fetched once by the page, ""
// when it could not); it then loads onnxruntime-web and downloads, verifies and opens the default model
// while the Python worker boots, so the first photo does not wait for them one after the other.
// The Python worker calls it over a BroadcastChannel named by the page (ort-bridge.mjs is the other
// end): {type: "call", id, fn, args} -> {type: "reply", id, value | error}. Function arguments (progress
// callbacks) travel as {callback: n} and are called back with {type: "callback", callback: n, args}.
// Sessions opened here are announced with {type: "session", id}. When the page also hands over a
// MessagePort ({type: "start", port}, passed on to the Python worker once it is up), calls arriving on
// it are answered on it: there tensors travel as transferred ArrayBuffers (no copy), where the
// BroadcastChannel copies them through the browser process (~75 ms for a 12 MB tensor and its mask).
import * as engine from "./ort-engine.mjs";

const CALLS = new Set(["init", "openModel", "releaseSession", "run", "runAll"]);
let channel = null;

// What happened when, for the page's start-up timeline (ms since this page's time origin).
function mark(what) {
  self.postMessage({ type: "timeline", what, at: performance.timeOrigin + performance.now() });
}

function argument(value, callId, target) {
  if (value && typeof value === "object" && "callback" in value) {
    return (...args) => target.postMessage({ type: "callback", callback: value.callback, call: callId, args });
  }
  return value;
}

// The buffers of a reply that can be moved instead of copied (only over a MessagePort): whole,
// unshared ArrayBuffers of typed arrays (the mask ORT hands back is its own copy).
function movable(value) {
  const found = new Set();
  const visit = (v) => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) found.add(v.buffer);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") Object.values(v).forEach(visit);
  };
  visit(value);
  return [...found];
}

async function answer(message, target) {
  const { id, fn } = message;
  if (!CALLS.has(fn)) {
    target.postMessage({ type: "reply", id, error: `unknown call ${fn}` });
    return;
  }
  const started = performance.timeOrigin + performance.now();
  try {
    const value = await engine[fn](...message.args.map((a) => argument(a, id, target)));
    const reply = { type: "reply", id, value, started, sessions: engine.sessionIds() };
    if (target === channel) target.postMessage(reply);
    else target.postMessage(reply, fn === "run" || fn === "runAll" ? movable(value) : []);
  } catch (err) {
    target.postMessage({ type: "reply", id, error: String(err?.message ?? err), sessions: engine.sessionIds() });
  }
}

async function preloadDefault(baseUrl, manifestText) {
  try {
    if (!manifestText) return;
    const manifest = JSON.parse(manifestText);
    const spec = manifest.models.find((m) => m.id === manifest.default);
    if (!spec) return;
    mark(`preload ${spec.id}`);
    const url = new URL(`static/models/${spec.file}`, baseUrl).href;
    let downloaded = false;
    await engine.openModel(spec.id, url, spec.bytes, spec.sha256, spec.output?.index ?? 0, (done) => {
      if (done < 0 && !downloaded) {
        downloaded = true;
        mark("model downloaded and verified");
      }
    });
    mark("model session ready");
    channel.postMessage({ type: "session", id: spec.id });
  } catch (err) {
    // The first photo asks again and shows the reason in plain words; nothing to say here.
    console.warn(`passbg: preloading the default model failed (${err.message || err})`);
    mark("model preload failed");
  }
}

self.addEventListener("message", async (event) => {
  const message = event.data ?? {};
  if (message.type === "hand-over") {
    // The page is idle: the service worker may now store the app (see engine.handOver).
    const files = await engine.handOver(message.cache).catch(() => 0);
    self.postMessage({ type: "handed-over", files });
    return;
  }
  if (message.type !== "start" || channel) return;
  engine.keepDownloadsForHandOver();
  // Held for this worker's whole life: the browser releases it when the worker dies (crash, out of
  // memory, terminated), and that is how the Python side learns it at once (ort-bridge.mjs).
  navigator.locks?.request(`${message.channel}-alive`, () => new Promise(() => {}));
  channel = new BroadcastChannel(message.channel);
  channel.addEventListener("message", (e) => {
    if (e.data?.type === "call") answer(e.data, channel);
  });
  if (message.port) {
    const port = message.port;
    port.addEventListener("message", (e) => {
      if (e.data?.type === "call") answer(e.data, port);
    });
    port.start();
  }
  mark("engine started");
  try {
    await engine.init(message.baseUrl, message.threads);
  } catch (err) {
    console.warn(`passbg: onnxruntime-web did not load (${err.message || err})`);
    return; // the Python side's init call reports it
  }
  mark("onnxruntime-web loaded");
  if (message.preload !== false) await preloadDefault(message.baseUrl, message.manifest);
});

self.postMessage({ type: "loaded" });

// The Python worker's door to onnxruntime-web (imported by passbg.web). ORT runs in the page's own
// module worker (ort-worker.mjs, started by app.js at page load, which has usually opened the default
// model by the time Python is up); this module forwards calls to it over a BroadcastChannel named by
// the page. Without that worker (it could not start) ORT runs here, in the Python worker, as before.
// Python hands tensors over as views of its own memory: they are copied (12 MB: milliseconds) before
// they cross, because a view would carry all of Python's memory with it. A BroadcastChannel then copies
// them again through the browser process (~75 ms for a tensor and its mask, and it cannot carry a
// SharedArrayBuffer in Chromium: such a message is silently dropped), so once the page has passed on a
// MessagePort to the ORT worker ({type: "passbg-ort-port", port} posted to this worker) calls go there
// instead, and the copies are transferred, not copied again.

let local = null; // ort-engine.mjs when ORT runs in this worker
let channel = null;
let port = null; // MessagePort to the ORT worker, once the page has handed it over
let nextId = 1;
const pending = new Map(); // call id -> {resolve, reject, callbacks}
const known = new Set(); // model ids with an open session in the ORT worker

const now = () => performance.timeOrigin + performance.now();
const INIT_TIMEOUT_MS = 60000; // the ORT worker answers between model steps; a dead one never does
// passbg.web turns the "engine:" prefix into plain words for the page.
const GONE = "engine: the onnxruntime worker stopped (the browser may have run out of memory)";
let gone = false;

// The ORT worker holds the lock "<channel>-alive" while it lives (ort-worker.mjs took it before its
// first answer), so this request is granted exactly when it dies: every call waiting on it fails then,
// instead of hanging until the page's 3-minute watchdog.
function watchEngine(name) {
  navigator.locks?.request(`${name}-alive`, () => {
    gone = true;
    for (const call of pending.values()) call.reject(new Error(GONE));
    pending.clear();
  });
}

function connect(name) {
  channel = new BroadcastChannel(name);
  channel.addEventListener("message", receive);
  self.addEventListener("message", (event) => {
    if (event.data?.type !== "passbg-ort-port" || port || !channel) return;
    port = event.data.port;
    port.addEventListener("message", receive);
    port.start();
  });
}

function receive(event) {
  const message = event.data ?? {};
  if (message.type === "session") {
    known.add(message.id);
    return;
  }
  const call = pending.get(message.type === "callback" ? message.call : message.id);
  if (!call) return;
  if (message.type === "callback") {
    call.callbacks[message.callback]?.(...message.args);
    return;
  }
  if (message.type !== "reply") return;
  pending.delete(message.id);
  if (message.sessions) {
    known.clear();
    for (const id of message.sessions) known.add(id);
  }
  if ("error" in message) call.reject(new Error(message.error));
  else call.resolve({ value: message.value, started: message.started, received: now() });
}

// `copies` collects the buffers copied here, which may be transferred (moved) rather than cloned.
function portable(value, callbacks, copies) {
  if (typeof value === "function") {
    callbacks.push(value);
    return { callback: callbacks.length - 1 };
  }
  if (ArrayBuffer.isView(value)) {
    const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
    if (whole && value.buffer instanceof ArrayBuffer) return value;
    const copy = value.slice();
    copies.push(copy.buffer);
    return copy;
  }
  if (Array.isArray(value)) return Array.from(value);
  return value;
}

function call(fn, args, timeoutMs = 0) {
  const id = nextId++;
  const callbacks = [];
  const sent = now();
  const copies = [];
  const message = { type: "call", id, fn, args: args.map((a) => portable(a, callbacks, copies)) };
  return new Promise((resolve, reject) => {
    if (gone) {
      reject(new Error(GONE));
      return;
    }
    pending.set(id, { resolve: (r) => resolve({ ...r, sent }), reject, callbacks });
    if (port) port.postMessage(message, copies);
    else channel.postMessage(message);
    if (timeoutMs) {
      setTimeout(() => {
        if (pending.delete(id)) reject(new Error(`the onnxruntime worker did not answer ${fn}`));
      }, timeoutMs);
    }
  });
}

export async function init(baseUrl, numThreads, channelName) {
  if (channelName) {
    connect(channelName);
    try {
      const info = (await call("init", [baseUrl, numThreads], INIT_TIMEOUT_MS)).value;
      watchEngine(channelName);
      return info;
    } catch (err) {
      console.warn(`passbg: ${err.message}; running onnxruntime-web in the Python worker`);
      channel.close();
      channel = null;
    }
  }
  local = await import(new URL("./ort-engine.mjs", import.meta.url).href);
  return local.init(baseUrl, numThreads);
}

// Download, verify and open a model (shared with a preload already under way); see ort-engine.mjs.
export async function openModel(modelId, url, expectedBytes, expectedSha256, outputIndex, onProgress) {
  if (local) return local.openModel(modelId, url, expectedBytes, expectedSha256, outputIndex, onProgress);
  await call("openModel", [modelId, url, expectedBytes, expectedSha256, outputIndex, onProgress ?? null]);
}

export function hasSession(modelId) {
  return local ? local.hasSession(modelId) : known.has(modelId);
}

export async function releaseSession(modelId) {
  if (local) return local.releaseSession(modelId);
  await call("releaseSession", [modelId]);
}

// One inference; handoffMs includes the copies to and from the ORT worker.
export async function run(modelId, data, dims) {
  if (local) return local.run(modelId, data, dims);
  const { value, sent, started, received } = await call("run", [modelId, data, dims]);
  const returned = received - (started + value.handoffMs + value.inferenceMs);
  return { ...value, handoffMs: value.handoffMs + Math.max(0, started - sent) + Math.max(0, returned) };
}

export async function runAll(modelId, data, dims) {
  if (local) return local.runAll(modelId, data, dims);
  return (await call("runAll", [modelId, data, dims])).value;
}

// passbg service worker: keeps the whole app on this device so it works with no network, and adds
// the cross-origin isolation headers (COOP/COEP) that multi-threaded WebAssembly needs, so even a
// plain static file server gives onnxruntime-web its threads. One worker per scope does both jobs.
//
// build.py replaces the build id below with a hash of every file's sha256 (site/precache.json) and
// of this file, so each new build is a new sw.js: the browser installs it beside the running one,
// it stores the new build in a cache of its own (copying unchanged files from the old cache, so
// only changed files are downloaded), and it takes over only when the user accepts the update.
// An interrupted update leaves the running version and its cache untouched.
// The very first version takes over at once and stores the app when the page asks ("store"),
// after the app has started and its first photo is done ("page-idle"), so storing does not slow
// the first start or the first result.
const BUILD = "dev";

const PREFIX = "passbg-";
const CACHE = PREFIX + BUILD;
const LIST = "precache.json";
const SHA_HEADER = "X-Passbg-Sha256";
// The cross-origin isolation headers every answer carries, and the MIME type by file extension:
// stored responses get their type from the file name, so a server with poor MIME types (wasm,
// mjs) still works once the app is stored. build.py fills both lines in from
// py/passbg_build/http-headers.json, the same tables its server sends (`python build.py serve`).
const ISOLATION = {};
const TYPES = {};
const PARALLEL = 4;
const MiB = 1048576;

const scope = new URL(self.registration.scope);
const urlOf = (path) => new URL(path, scope).href;
const typeOf = (path) => TYPES[path.split(".").pop()] ?? "application/octet-stream";

class StoreError extends Error {
  constructor(reason, message, extra = {}) {
    super(message);
    this.reason = reason; // quota | network | mismatch
    Object.assign(this, extra);
  }
}

// Site-relative path of a URL in this scope ("index.html" for the scope itself), else null.
function pathOf(url) {
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return null;
  const rel = decodeURIComponent(url.pathname.slice(scope.pathname.length));
  return rel === "" ? "index.html" : rel;
}

async function tell(message) {
  const pages = await self.clients.matchAll({ includeUncontrolled: true, type: "window" });
  for (const page of pages) page.postMessage({ build: BUILD, ...message });
}

importScripts("static/app/sha256.js"); // sha256Hex, shared with ort-engine.mjs (why a classic script: there)

// Whether `body` (an ArrayBuffer) is exactly this build's file for `entry`: its size, then its sha256.
async function isFileOf(entry, body) {
  return body.byteLength === entry.bytes && (await sha256Hex(body)) === entry.sha256;
}

// The stored form of a file: its bytes with the headers every answer needs baked in, so a hit is
// answered with the stored response itself (which also keeps the browser's compiled-code cache).
function storedResponse(entry, body) {
  return new Response(body, {
    status: 200,
    headers: {
      "Content-Type": typeOf(entry.path),
      "Content-Length": String(entry.bytes),
      [SHA_HEADER]: entry.sha256,
      ...ISOLATION,
    },
  });
}

function withIsolation(response) {
  if (response.type === "opaque" || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

function isQuotaError(err) {
  return err?.name === "QuotaExceededError" || /quota/i.test(String(err?.message));
}

// --- the precache list --------------------------------------------------------------------------

async function fetchList() {
  let response;
  try {
    response = await fetch(urlOf(LIST), { cache: "no-store" });
  } catch (err) {
    throw new StoreError("network", `the server cannot be reached (${err.message})`);
  }
  if (!response.ok) throw new StoreError("network", `${LIST}: HTTP ${response.status}`);
  const doc = await response.json();
  if (doc.build !== BUILD) {
    // The site was rebuilt between sw.js and precache.json: never mix two builds.
    throw new StoreError("mismatch", "the site changed while it was being stored; it will be stored again");
  }
  return doc;
}

let listPromise = null;

// This build's list: from its own cache (complete copy) or, when storage was cleared, the network.
function currentList() {
  if (!listPromise) {
    listPromise = (async () => {
      const cache = await caches.open(CACHE);
      const stored = await cache.match(urlOf(LIST));
      const doc = stored ? await stored.json() : await fetchList();
      return { doc, files: new Map(doc.files.map((f) => [f.path, f])) };
    })().catch((err) => {
      listPromise = null;
      throw err;
    });
  }
  return listPromise;
}

// --- storing a build ------------------------------------------------------------------------------

// Caches of other builds (the running one, or a partly stored one): files with the same sha256 are
// copied from them instead of downloaded.
async function donorCaches() {
  const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX) && n !== CACHE);
  return Promise.all(names.map((n) => caches.open(n)));
}

async function download(entry) {
  let response;
  try {
    response = await fetch(urlOf(entry.path), { cache: "no-cache" });
  } catch (err) {
    throw new StoreError("network", `${entry.path}: the server cannot be reached (${err.message})`);
  }
  if (!response.ok) throw new StoreError("network", `${entry.path}: HTTP ${response.status}`);
  let body;
  try {
    body = await response.arrayBuffer();
  } catch (err) {
    throw new StoreError("network", `${entry.path}: the download was interrupted (${err.message})`);
  }
  if (!(await isFileOf(entry, body))) {
    throw new StoreError("mismatch", `${entry.path} is not the file of this build; it will be stored again`);
  }
  return body;
}

// Files the page downloaded and verified before this worker existed (on a first visit, the default
// model, by its onnxruntime worker: see handOver in static/app/ort-engine.mjs). They are checked
// again here, stored like a download, and the cache is deleted once the build is stored.
const HAND_OVER = "passbg.handover";

async function handedOver(entry) {
  if (!(await caches.has(HAND_OVER))) return null;
  const hit = await (await caches.open(HAND_OVER)).match(urlOf(entry.path));
  if (!hit || hit.headers.get(SHA_HEADER) !== entry.sha256) return null;
  const body = await hit.arrayBuffer();
  return (await isFileOf(entry, body)) ? body : null;
}

// Put one file into this build's cache; returns how: kept, copied, handed over, downloaded or skipped.
async function storeFile(cache, donors, entry, mayDownload) {
  const key = urlOf(entry.path);
  const have = await cache.match(key);
  if (have && have.headers.get(SHA_HEADER) === entry.sha256) return "kept";
  for (const donor of donors) {
    const old = await donor.match(key);
    if (old && old.headers.get(SHA_HEADER) === entry.sha256) {
      await cache.put(key, old);
      return "copied";
    }
  }
  const handed = await handedOver(entry);
  if (handed) {
    await cache.put(key, storedResponse(entry, handed));
    return "handed over";
  }
  if (!mayDownload) return "skipped";
  await cache.put(key, storedResponse(entry, await download(entry)));
  return "downloaded";
}

async function checkRoom(cache, files) {
  if (!self.navigator.storage?.estimate) return;
  let needed = 0;
  for (const f of files) {
    const have = await cache.match(urlOf(f.path));
    if (!have || have.headers.get(SHA_HEADER) !== f.sha256) needed += f.bytes;
  }
  const { usage = 0, quota = Infinity } = await self.navigator.storage.estimate();
  if (quota - usage < needed) {
    throw new StoreError(
      "quota",
      `the app needs ${(needed / MiB).toFixed(0)} MB and this browser allows only ` +
        `${(Math.max(0, quota - usage) / MiB).toFixed(0)} MB more for this site`,
      { needed, available: Math.max(0, quota - usage) },
    );
  }
}

let filling = null;

// Store every install-time file of this build (and carry over first-use files already stored).
// The list itself is written last: its presence marks a complete copy.
function fill(doc) {
  if (!filling) {
    filling = fillNow(doc).finally(() => {
      filling = null;
      return caches.delete(HAND_OVER); // stored or failed: the page's copies are not needed again
    });
  }
  return filling;
}

async function fillNow(doc) {
  const cache = await caches.open(CACHE);
  const donors = await donorCaches();
  const wanted = doc.files.filter((f) => f.when === "install");
  const total = wanted.reduce((n, f) => n + f.bytes, 0);
  await checkRoom(cache, wanted);
  const tally = { done: 0, downloaded: 0, files: 0 };
  let lastTold = 0;
  const queue = [...wanted].sort((a, b) => b.bytes - a.bytes); // big files first: the tail is short
  let stop = null; // the first failure: the other workers stop at their next file
  async function worker() {
    while (queue.length && !stop) {
      const entry = queue.shift();
      let how;
      try {
        how = await storeFile(cache, donors, entry, true);
      } catch (err) {
        stop ??= err;
        return;
      }
      tally.done += entry.bytes;
      if (how === "downloaded") {
        tally.downloaded += entry.bytes;
        tally.files += 1;
      }
      if (Date.now() - lastTold > 250) {
        lastTold = Date.now();
        tell({ type: "progress", done: tally.done, total, downloaded: tally.downloaded });
      }
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  if (stop && isQuotaError(stop) && !(stop instanceof StoreError)) {
    throw new StoreError(
      "quota",
      `the browser refused to store more than ${(tally.done / MiB).toFixed(0)} MB of the ` +
        `${(total / MiB).toFixed(0)} MB the app needs`,
    );
  }
  if (stop) throw stop;
  for (const entry of doc.files.filter((f) => f.when !== "install")) {
    await storeFile(cache, donors, entry, false);
  }
  await cache.put(urlOf(LIST), new Response(JSON.stringify(doc), { headers: { "Content-Type": "application/json" } }));
  listPromise = null;
  await tell({ type: "stored", total, downloaded: tally.downloaded, downloadedFiles: tally.files });
}

async function failed(err) {
  const reason = err instanceof StoreError ? err.reason : isQuotaError(err) ? "quota" : "other";
  if (reason === "quota") await caches.delete(CACHE); // give the space back; the app works online
  await tell({
    type: "install-failed",
    reason,
    message: err.message || String(err),
    needed: err.needed,
    available: err.available,
  });
}

// A page says "page-idle" once its first result (or error) is on screen, or when no photo came soon
// after start; a navigation makes the pages busy again. Storing (download, sha256, disk: up to 176 MB
// a file) waits for that, so it does not compete with starting the app and its first photo for the
// CPU. A page that never says so gets its copy stored after IDLE_LIMIT_MS anyway.
const IDLE_LIMIT_MS = 30000;
let pageIdle = false;
const idleWaiters = [];

function whenPageIdle() {
  if (pageIdle) return Promise.resolve();
  return new Promise((resolve) => {
    idleWaiters.push(resolve);
    setTimeout(resolve, IDLE_LIMIT_MS);
  });
}

async function store() {
  await whenPageIdle();
  try {
    listPromise = null;
    await fill(await fetchList()); // keeps what is already stored, downloads the rest
  } catch (err) {
    await failed(err);
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      if (!self.registration.active) {
        // The first version takes over at once (so a server without COOP/COEP gets them after one
        // reload) and stores the app when the page asks, once the app has started.
        await self.skipWaiting();
        return;
      }
      // An update is stored completely before it can take over, and waits for the user.
      try {
        await fill(await fetchList());
      } catch (err) {
        await failed(err);
        throw err; // the install fails: the running version stays in charge, untouched
      }
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const old = (await caches.keys()).filter((n) => n.startsWith(PREFIX) && n !== CACHE);
      await Promise.all(old.map((n) => caches.delete(n)));
      await self.clients.claim();
      await tell({ type: "activated" });
    })(),
  );
});

// --- what the page asks -------------------------------------------------------------------------

async function status() {
  const cache = await caches.open(CACHE);
  const keys = new Set((await cache.keys()).map((r) => r.url));
  let doc;
  try {
    doc = (await currentList()).doc;
  } catch (err) {
    return { complete: false, listed: false, message: err.message };
  }
  const result = { complete: keys.has(urlOf(LIST)), listed: true, storedBytes: 0, missing: 0, stored: [] };
  for (const f of doc.files) {
    if (keys.has(urlOf(f.path))) {
      result.storedBytes += f.bytes;
      result.stored.push(f.path);
    } else if (f.when === "install") {
      result.missing += 1;
      result.complete = false;
    }
  }
  result.installBytes = doc.files.filter((f) => f.when === "install").reduce((n, f) => n + f.bytes, 0);
  if (self.navigator.storage?.estimate) {
    const { usage, quota } = await self.navigator.storage.estimate();
    Object.assign(result, { usage, quota });
  }
  return result;
}

self.addEventListener("message", (event) => {
  const type = event.data?.type;
  if (type === "skip-waiting") {
    event.waitUntil(self.skipWaiting());
  } else if (type === "status") {
    event.waitUntil(status().then((s) => event.source.postMessage({ type: "status", build: BUILD, ...s })));
  } else if (type === "page-idle") {
    pageIdle = true;
    for (const resolve of idleWaiters.splice(0)) resolve();
  } else if (type === "store") {
    // First visit, or storage cleared under a running version: store this build.
    event.waitUntil(store());
  }
});

// --- answering requests: cache first ------------------------------------------------------------

// Keep a verified copy of a file fetched from the network (first use of a model, or a file lost
// when storage was cleared). A file that is not this build's is not stored.
async function keep(entry, stream) {
  try {
    const body = await new Response(stream).arrayBuffer();
    await whenPageIdle(); // the page is checking the same bytes now: hash and store them after
    if (!(await isFileOf(entry, body))) return;
    const cache = await caches.open(CACHE);
    await cache.put(urlOf(entry.path), storedResponse(entry, body));
    if (entry.when !== "install") await tell({ type: "first-use-stored", path: entry.path });
  } catch (err) {
    if (entry.when === "install") return; // the page's "store" request reports that
    await tell({ type: "store-failed", path: entry.path, reason: isQuotaError(err) ? "quota" : "other", message: err.message });
  }
}

function offlineAnswer(request, path) {
  const model = /^static\/models\/[^/]+\.onnx$/.test(path);
  tell({ type: "offline-miss", path, model });
  const text = model
    ? `This model (${path.split("/").pop()}) is not stored on this device yet and the network cannot ` +
      "be reached. Choose a model that is stored for offline use, or connect to the internet once to download it."
    : `passbg cannot reach the network and ${path} is not stored on this device.`;
  if (request.mode === "navigate") {
    const html =
      "<!doctype html><meta charset=utf-8><title>passbg — offline</title>" +
      "<p>passbg cannot reach the network, and its offline copy is not on this device " +
      "(the browser may have cleared it). Connect to the internet and reload.</p>";
    return new Response(html, { status: 503, headers: { "Content-Type": TYPES.html, ...ISOLATION } });
  }
  return new Response(text, {
    status: 503,
    statusText: "Offline",
    headers: { "Content-Type": "text/plain; charset=utf-8", "X-Passbg-Offline": "1", ...ISOLATION },
  });
}

async function respond(event, path) {
  const request = event.request;
  const cache = await caches.open(CACHE);
  const hit = await cache.match(urlOf(path));
  if (hit) return hit;
  let entry = null;
  try {
    entry = (await currentList()).files.get(path) ?? null;
  } catch {
    // no list: offline with storage cleared; answer from the network if it is there
  }
  let response;
  try {
    response = await fetch(request);
  } catch {
    return offlineAnswer(request, path);
  }
  if (entry && response.status === 200 && response.body) {
    const [forPage, forCache] = response.body.tee();
    event.waitUntil(keep(entry, forCache));
    response = new Response(forPage, { status: 200, statusText: response.statusText, headers: response.headers });
  }
  return withIsolation(response);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || request.headers.has("range")) return;
  const path = pathOf(new URL(request.url));
  // sw.js and the list always come from the network: that is how updates are found.
  if (path === null || path === "sw.js" || path === LIST) return;
  if (request.mode === "navigate") pageIdle = false; // a page is starting
  event.respondWith(respond(event, path));
});

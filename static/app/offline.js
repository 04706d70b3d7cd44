// Offline use, on the page: registers the service worker (sw.js), says whether the app is ready to
// work with no network and how much it stored, offers a downloaded update ("reload"), explains
// storage problems (quota, storage cleared, private windows) and offers installing the app.
// The app itself never depends on this module: without a service worker it works online.

import { $, manifestText, mb } from "./page.js";

const ui = {
  status: $("offline-status"),
  detail: $("offline-detail"),
  update: $("offline-update"),
  install: $("offline-install"),
  network: $("offline-network"),
};
const sw = "serviceWorker" in navigator ? navigator.serviceWorker : null;
const ISOLATION_RELOAD = "passbg-isolation-reload"; // sessionStorage: reloaded once for COOP/COEP
const STORED_ONCE = "passbg-offline-stored"; // localStorage: this browser had a complete copy
const offline = {
  state: "checking", // checking | unsupported | storing | ready | updating | update-ready | failed | incomplete
  status: null, // the service worker's last status report
  lastMiss: null, // {path, at}: a model asked for offline that is not stored
  registration: null,
};
window.passbgOffline = offline; // test and benchmark hook
let reloading = false;
let storeRequested = false;
let storingText = "Storing the app on this device for offline use…";
let modelTitles = null; // model file name -> title, from static/models/manifest.json (page.js)

function show(state, text, detail = "") {
  offline.state = state;
  ui.status.dataset.state = state;
  ui.status.textContent = text;
  ui.detail.textContent = detail;
}

function remember(storage, key, value) {
  try {
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, value);
  } catch {
    // storage may be unavailable (private window, blocked cookies): nothing to remember then
  }
}

function recall(storage, key) {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

async function titles() {
  if (!modelTitles) {
    try {
      const manifest = JSON.parse(await manifestText());
      modelTitles = Object.fromEntries(
        manifest.models.filter((m) => (m.kind ?? "segmentation") === "segmentation").map((m) => [m.file, m.title]),
      );
    } catch {
      modelTitles = {};
    }
  }
  return modelTitles;
}

async function storedModelTitles(paths) {
  const names = await titles();
  return paths.map((p) => names[p.split("/").pop()]).filter(Boolean);
}

async function describeStoredModels(paths) {
  const names = await titles();
  const stored = await storedModelTitles(paths);
  let text = stored.length ? `Models stored for offline use: ${stored.join(", ")}.` : "";
  if (Object.keys(names).length > stored.length) {
    text += " Other models are downloaded and stored when you first use them (needs a connection).";
  }
  return text.trim();
}

// Ask the service worker to store (or complete) this build's copy.
function requestStore(text) {
  if (!navigator.onLine) {
    show("incomplete", "The offline copy is not complete on this device; connect to the internet to store it.");
    return;
  }
  storingText = text;
  show("storing", text);
  if (!storeRequested) {
    storeRequested = true;
    offline.registration?.active?.postMessage({ type: "store" });
  }
}

async function showStatus(status) {
  offline.status = status;
  if (offline.state === "update-ready") return; // keep the prompt visible
  if (!status.complete && offline.state === "failed") return; // tried in this visit; the message stays
  if (!status.complete) {
    const hadCopy = recall(localStorage, STORED_ONCE) !== null;
    requestStore(hadCopy
      ? "The offline copy was removed by the browser; storing it again…"
      : "Storing the app on this device for offline use…");
    return;
  }
  remember(localStorage, STORED_ONCE, status.build);
  show(
    "ready",
    `Ready to work offline — ${mb(status.storedBytes)} MB stored on this device.`,
    await describeStoredModels(status.stored),
  );
}

function askStatus() {
  offline.registration?.active?.postMessage({ type: "status" });
}

function failureText(message) {
  if (message.reason === "quota") {
    return `Could not store the app for offline use: not enough storage space (${message.message}). ` +
      "Free some space or allow more storage for this site. The app still works while you are online.";
  }
  if (message.reason === "mismatch") {
    return "The site was updated while it was being stored; it will be stored again on your next visit. " +
      "The app works while you are online.";
  }
  return `Storing the app for offline use was interrupted (${message.message}). ` +
    "It will try again on your next visit; the app works while you are online.";
}

// An offline request for a model that is not stored ends in a generic processing error in the
// page; say what actually happened and what to do.
async function explainMissingModel() {
  const miss = offline.lastMiss;
  const error = $("error");
  if (!miss || Date.now() - miss.at > 15000 || !error || error.hidden) return;
  const names = await titles();
  const file = miss.path.split("/").pop();
  const stored = await storedModelTitles(offline.status?.stored ?? []);
  error.textContent =
    `You are offline, and the model “${names[file] ?? file}” is not stored on this device yet. ` +
    (stored.length ? `Choose a model that is stored (${stored.join(", ")}), ` : "") +
    "or connect to the internet once to download it. Your photo is still here.";
  error.dataset.reason = "offline-model";
}

function onMessage(event) {
  const message = event.data ?? {};
  // Messages from a new version being installed beside the running one.
  const fromUpdate = Boolean(sw.controller) && Boolean(offline.status) && message.build !== offline.status.build;
  switch (message.type) {
    case "progress":
      if (fromUpdate) {
        if (offline.state !== "update-ready") {
          show("updating", ui.status.textContent,
            `A new version is downloading in the background: ${mb(message.downloaded)} MB so far.`);
        }
      } else {
        show("storing", storingText, `${mb(message.done)} of ${mb(message.total)} MB stored`);
      }
      break;
    case "stored":
      storeRequested = false;
      if (!fromUpdate) askStatus();
      break;
    case "activated":
    case "first-use-stored":
      askStatus();
      break;
    case "status":
      showStatus(message);
      break;
    case "install-failed":
      storeRequested = false;
      if (fromUpdate && offline.status?.complete) {
        show("ready", ui.status.textContent,
          `A new version could not be downloaded (${message.message}); this version keeps working.`);
      } else {
        show("failed", failureText(message));
      }
      break;
    case "store-failed":
      ui.detail.textContent = message.reason === "quota"
        ? `Not enough storage space to keep ${message.path.split("/").pop()} for offline use; it works online.`
        : `Could not keep ${message.path.split("/").pop()} for offline use (${message.message}).`;
      break;
    case "offline-miss":
      if (message.model) {
        offline.lastMiss = { path: message.path, at: Date.now() };
        explainMissingModel();
      }
      break;
  }
}

function offerUpdate(registration) {
  show("update-ready", "A new version is ready — reload to use it.", "Your photo is not kept across the reload.");
  ui.update.hidden = false;
  ui.update.onclick = () => {
    reloading = true;
    ui.update.disabled = true;
    registration.waiting?.postMessage({ type: "skip-waiting" });
  };
}

function watch(registration) {
  const track = (worker) => {
    if (!worker) return;
    worker.addEventListener("statechange", () => {
      // "installed" while a version is running: an update, stored and waiting for the user.
      if (worker.state === "installed" && sw.controller) offerUpdate(registration);
    });
  };
  track(registration.installing);
  registration.addEventListener("updatefound", () => track(registration.installing));
  if (registration.waiting && sw.controller) offerUpdate(registration);
}

// Storing ~120 MB waits until Python has started, so it does not slow the first start.
function appStarted() {
  return new Promise((resolve) => {
    if (window.passbg?.ready) return resolve();
    window.addEventListener("passbg:ready", () => resolve(), { once: true });
    window.addEventListener("passbg:error", () => resolve(), { once: true });
    setTimeout(resolve, 20000);
  });
}

// A server that does not send COOP/COEP: once the service worker controls the page it adds them,
// and one reload makes the page cross-origin isolated (needed by the Python worker and threads).
function reloadForIsolation() {
  if (self.crossOriginIsolated || !sw.controller || recall(sessionStorage, ISOLATION_RELOAD)) return false;
  remember(sessionStorage, ISOLATION_RELOAD, "1");
  show("checking", "Preparing this browser for the app (one reload)…");
  location.reload();
  return true;
}

function showNetwork() {
  ui.network.hidden = navigator.onLine;
}

async function start() {
  showNetwork();
  window.addEventListener("online", showNetwork);
  window.addEventListener("offline", showNetwork);
  window.addEventListener("passbg:error", () => explainMissingModel());
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    ui.install.hidden = false;
    ui.install.onclick = async () => {
      ui.install.hidden = true;
      await event.prompt();
    };
  });
  if (!sw) {
    show("unsupported", "This browser window cannot store the app for offline use (a private window, or " +
      "the page is not served over HTTPS). The app works while you are online.");
    return;
  }
  sw.addEventListener("message", onMessage);
  sw.addEventListener("controllerchange", () => {
    if (reloading) location.reload();
    else reloadForIsolation();
  });
  sw.startMessages();
  if (self.crossOriginIsolated) remember(sessionStorage, ISOLATION_RELOAD, null);
  if (reloadForIsolation()) return;
  // With the isolation headers already there (build.py serve, a configured host) nothing is
  // urgent: register once the app has started. Without them the app cannot start until the
  // service worker adds them, so register at once.
  if (self.crossOriginIsolated && !sw.controller) await appStarted();
  try {
    offline.registration = await sw.register("./sw.js", { scope: "./", updateViaCache: "none" });
  } catch (err) {
    show("unsupported", `This browser cannot store the app for offline use (${err.message}). ` +
      "The app works while you are online.");
    return;
  }
  if (!offline.registration) {
    // Some environments (blocked service workers, some private windows) resolve without a registration.
    show("unsupported", "This browser window cannot store the app for offline use. The app works while you are online.");
    return;
  }
  watch(offline.registration);
  if (!sw.controller) {
    show("checking", "The app will be stored on this device for offline use once it has started.");
  }
  await appStarted();
  await sw.ready; // an active service worker
  askStatus(); // its answer starts storing when the copy is missing or incomplete
  // Ask the browser not to evict the stored app under storage pressure (granted silently or not).
  navigator.storage?.persist?.().catch(() => {});
  // Look for a new version now and then while the page stays open.
  setInterval(() => offline.registration.update().catch(() => {}), 30 * 60 * 1000);
}

start();

// Offline use, on the page: registers the service worker (sw.js), says whether the app is ready to
// work with no network and how much it stored, offers a downloaded update ("reload"), explains
// storage problems (quota, storage cleared, private windows) and offers installing the app.
// The app itself never depends on this module: without a service worker it simply works online.

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("offline-status"),
  detail: $("offline-detail"),
  update: $("offline-update"),
  install: $("offline-install"),
  network: $("offline-network"),
};
const sw = "serviceWorker" in navigator ? navigator.serviceWorker : null;
const mb = (bytes) => (bytes / 1048576).toFixed(1);
const offline = {
  state: "checking", // checking | unsupported | storing | ready | updating | update-ready | failed | incomplete
  status: null, // the service worker's last status report
  lastMiss: null, // {path, at}: a model the page asked for offline that is not stored
  registration: null,
};
window.passbgOffline = offline; // test and benchmark hook
let reloading = false;
let modelTitles = null; // model file name -> title, from static/models/manifest.json

function show(state, text, detail = "") {
  offline.state = state;
  ui.status.dataset.state = state;
  ui.status.textContent = text;
  ui.detail.textContent = detail;
}

async function titles() {
  if (!modelTitles) {
    try {
      const manifest = await (await fetch("./static/models/manifest.json")).json();
      modelTitles = Object.fromEntries(manifest.models.map((m) => [m.file, m.title]));
    } catch {
      modelTitles = {};
    }
  }
  return modelTitles;
}

async function describeStoredModels(paths) {
  const names = await titles();
  const stored = paths.filter((p) => /^static\/models\/[^/]+\.onnx$/.test(p)).map((p) => p.split("/").pop());
  const shown = stored.map((file) => names[file] ?? file);
  const others = Object.keys(names).filter((file) => !stored.includes(file)).length;
  let text = shown.length ? `Models stored for offline use: ${shown.join(", ")}.` : "";
  if (others) text += " Other models are downloaded and stored when you first use them (needs a connection).";
  return text.trim();
}

async function showStatus(status) {
  offline.status = status;
  if (!status.listed) {
    if (navigator.onLine) {
      show("incomplete", "The offline copy was removed by the browser; storing it again…");
      offline.registration?.active?.postMessage({ type: "repair" });
    } else {
      show("incomplete", "The offline copy was removed by the browser. Connect to the internet to store it again.");
    }
    return;
  }
  if (!status.complete) {
    if (navigator.onLine) {
      show("incomplete", "Part of the offline copy was removed by the browser; storing it again…");
      offline.registration?.active?.postMessage({ type: "repair" });
    } else {
      show("incomplete", `The browser removed part of the offline copy (${status.missing} files); connect to restore it.`);
    }
    return;
  }
  if (offline.state === "update-ready" || offline.state === "updating") return; // keep the prompt visible
  show(
    "ready",
    `Ready to work offline — ${mb(status.storedBytes)} MB stored on this device.`,
    await describeStoredModels(status.stored),
  );
  if (!self.crossOriginIsolated) {
    ui.detail.textContent += " Reload the page once to let the model use all processor cores.";
  }
}

function askStatus() {
  const worker = offline.registration?.active;
  if (worker) worker.postMessage({ type: "status" });
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
// page; replace it with what actually happened and what to do.
async function explainMissingModel() {
  const miss = offline.lastMiss;
  const error = $("error");
  if (!miss || Date.now() - miss.at > 15000 || !error || error.hidden) return;
  const names = await titles();
  const file = miss.path.split("/").pop();
  const stored = (offline.status?.stored ?? []).map((p) => names[p.split("/").pop()]).filter(Boolean);
  error.textContent =
    `You are offline, and the model “${names[file] ?? file}” is not stored on this device yet. ` +
    (stored.length ? `Choose a model that is stored (${stored.join(", ")}), ` : "") +
    "or connect to the internet once to download it. Your photo is still here.";
  error.dataset.reason = "offline-model";
}

function onMessage(event) {
  const message = event.data ?? {};
  const active = offline.registration?.active;
  const fromUpdate = Boolean(navigator.serviceWorker.controller) && message.build !== offline.status?.build;
  switch (message.type) {
    case "progress":
      if (fromUpdate && offline.state !== "storing") {
        show("updating", offline.status ? ui.status.textContent : "Downloading a new version…",
          `A new version is downloading in the background: ${mb(message.downloaded)} MB so far.`);
      } else {
        show("storing", `Storing the app on this device for offline use… ${mb(message.done)} of ${mb(message.total)} MB`);
      }
      break;
    case "stored":
      if (!fromUpdate) show("storing", `Stored ${mb(message.total)} MB; finishing…`);
      break;
    case "activated":
    case "first-use-stored":
      if (active) askStatus();
      break;
    case "status":
      showStatus(message);
      break;
    case "install-failed":
      if (fromUpdate && offline.status?.complete) {
        ui.detail.textContent = `A new version could not be downloaded (${message.message}); this version keeps working.`;
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
      // "installed" with a controller means an update waits for the user; the first version
      // takes over by itself.
      if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(registration);
      if (worker.state === "activated") askStatus();
    });
  };
  track(registration.installing);
  registration.addEventListener("updatefound", () => track(registration.installing));
  if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration);
}

// On a first visit the service worker waits until Python has started, so storing ~110 MB does not
// compete with the first start-up.
function firstVisitGate() {
  return new Promise((resolve) => {
    const go = () => resolve();
    window.addEventListener("passbg:ready", go, { once: true });
    window.addEventListener("passbg:error", go, { once: true });
    setTimeout(go, 20000);
  });
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
  });
  sw.startMessages();
  if (!sw.controller) {
    show("checking", "The app will be stored on this device for offline use once it has started.");
    await firstVisitGate();
  }
  try {
    offline.registration = await sw.register("./sw.js", { scope: "./", updateViaCache: "none" });
  } catch (err) {
    show("unsupported", `This browser cannot store the app for offline use (${err.message}). ` +
      "The app works while you are online.");
    return;
  }
  watch(offline.registration);
  if (sw.controller) askStatus();
  else if (!offline.registration.active) show("storing", "Storing the app on this device for offline use…");
  else askStatus();
  // Ask the browser not to evict the stored app under storage pressure (granted silently or not).
  navigator.storage?.persist?.().catch(() => {});
  // Look for a new version now and then while the page stays open.
  setInterval(() => offline.registration.update().catch(() => {}), 30 * 60 * 1000);
}

start();

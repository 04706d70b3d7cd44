// Cloud second opinion: only when the local result scores below the user's threshold, only with the
// user's consent (or their standing "automatic" choice), never in "never upload" mode.
//
// What is sent: the photo only, re-encoded by Python from decoded pixels (no EXIF, no GPS, no camera
// data), at most 1024 px on the long side, as multipart field `file` to <endpoint>/api/remove with
// om=true (rembg's HTTP API). What comes back is a mask; the compositing and the checks run here, the
// same as for a local result, and the better-scoring result is kept. One request per consent: no
// retries. Any failure leaves the local result on screen and says what happened.
//
// The connection rule (Content-Security-Policy) is installed by static/app/csp.js when the page loads.

import { $, python } from "./page.js";

const KEY = "passbg.cloud";
const DEFAULTS = { mode: "ask", endpoint: "", token: "", threshold: null, model: "", timeout: 60 };
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

const ui = {
  form: $("cloud-settings"),
  modes: document.querySelectorAll("input[name=cloud-mode]"),
  endpoint: $("cloud-endpoint"),
  token: $("cloud-token"),
  threshold: $("cloud-threshold"),
  model: $("cloud-model"),
  timeout: $("cloud-timeout"),
  explain: $("cloud-explain"),
  policy: $("cloud-policy"),
  saved: $("cloud-saved"),
  reload: $("cloud-reload"),
  scores: $("cloud-scores"),
  message: $("cloud-message"),
  ask: $("cloud-ask"),
  dialog: $("cloud-consent"),
  consentText: $("cloud-consent-text"),
  send: $("cloud-send"),
  keep: $("cloud-keep"),
};

const cloud = {
  settings: load(),
  quality: null, // the on-screen result's quality {score, reasons, threshold}
  shipped: null, // the app's own threshold (checks.json cloud_below), known once Python is ready
  offered: false, // already offered (or sent) for the current photo
  busy: false,
  lastBlocked: null, // the last CSP violation seen (blockedURI)
  requests: 0, // uploads started in this page load (read by tests)
};
window.passbgCloud = cloud;

function load() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(KEY) || "{}") };
  } catch {
    return { ...DEFAULTS };
  }
}

function endpointUrl(settings = cloud.settings) {
  try {
    const url = new URL(settings.endpoint.trim());
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    if (!url.pathname.endsWith("/api/remove")) url.pathname = url.pathname.replace(/\/?$/, "/api/remove");
    return url;
  } catch {
    return null;
  }
}

const policy = () => window.passbgPolicy ?? { endpointOrigin: "" };
const defaultThreshold = () => cloud.quality?.threshold ?? cloud.shipped;
const threshold = () => Number(cloud.settings.threshold ?? defaultThreshold());

function setMessage(text, kind = "info") {
  ui.message.textContent = text;
  ui.message.dataset.kind = kind;
  ui.message.hidden = !text;
}

// --- settings ----------------------------------------------------------------------------------

function fillForm() {
  const s = cloud.settings;
  for (const radio of ui.modes) radio.checked = radio.value === s.mode;
  ui.endpoint.value = s.endpoint;
  ui.token.value = s.token;
  ui.threshold.value = s.threshold ?? "";
  ui.threshold.placeholder = String(defaultThreshold() ?? "");
  ui.model.value = s.model;
  ui.timeout.value = s.timeout;
}

function readForm() {
  const mode = [...ui.modes].find((r) => r.checked)?.value ?? "ask";
  const t = ui.threshold.value.trim();
  return {
    mode,
    endpoint: ui.endpoint.value.trim(),
    token: ui.token.value.trim(),
    threshold: t === "" ? null : Math.max(0, Math.min(101, Number(t))),
    model: ui.model.value.trim(),
    timeout: Math.max(1, Math.min(600, Number(ui.timeout.value) || DEFAULTS.timeout)),
  };
}

function explain(settings) {
  const url = endpointUrl(settings);
  const below = `scores below ${settings.threshold ?? defaultThreshold() ?? "the app's threshold"}`;
  const what = "the photo only, re-encoded here as a JPEG of at most 1024 pixels on its long side, "
    + "without EXIF, GPS or camera data";
  if (settings.mode === "never") {
    return "Never upload: nothing is ever sent. Every result is made on this device, however it scores.";
  }
  if (!url) {
    return `No endpoint is set, so nothing can be sent. Enter an endpoint URL to get a second opinion when a result ${below}.`;
  }
  const where = `${url.host} (${url.href}${settings.token ? ", with your API token" : ""})`;
  if (settings.mode === "auto") {
    return `Automatic: when a result ${below}, this page sends ${what}, to ${where} without asking. `
      + "Results that score well never leave this device.";
  }
  return `Ask me each time: when a result ${below}, this page asks you before sending ${what}, to ${where}. `
    + "Results that score well never leave this device.";
}

function needsReload(settings) {
  const url = endpointUrl(settings);
  if (settings.mode === "never" || !url) return false;
  return url.origin !== policy().endpointOrigin;
}

function renderSettings() {
  const draft = readForm();
  ui.explain.textContent = explain(draft);
  const allowed = policy().endpointOrigin;
  ui.policy.textContent = allowed && cloud.settings.mode !== "never"
    ? `This page may connect only to this site and ${allowed} (its security policy).`
    : "This page may connect only to this site (its security policy); no endpoint is reachable.";
}

function save(event) {
  event?.preventDefault();
  const next = readForm();
  if (next.mode !== "never" && next.endpoint && !endpointUrl(next)) {
    ui.saved.textContent = "The endpoint must be an http:// or https:// URL, e.g. https://example.org.";
    return;
  }
  cloud.settings = next;
  localStorage.setItem(KEY, JSON.stringify(next));
  if (next.mode === "never") tightenNow();
  const reload = needsReload(next);
  ui.reload.hidden = !reload;
  ui.saved.textContent = reload
    ? `Saved. This page may only connect to the endpoints allowed when it loaded; reload it to allow ${endpointUrl(next).origin} (your current result will be cleared).`
    : "Saved in this browser.";
  renderSettings();
  refreshOffer();
}

// "Never upload" must hold at once, without a reload: a second policy can only narrow the first.
function tightenNow() {
  if ($("csp-never")) return;
  const meta = document.createElement("meta");
  meta.httpEquiv = "Content-Security-Policy";
  meta.content = "connect-src 'self' blob: data:";
  meta.id = "csp-never";
  document.head.appendChild(meta);
}

// --- offer, consent, upload --------------------------------------------------------------------

function lowScore() {
  return cloud.quality && cloud.quality.score < threshold();
}

function refreshOffer() {
  const s = cloud.settings;
  ui.ask.hidden = !(lowScore() && s.mode !== "never" && endpointUrl() && !needsReload(s) && !cloud.busy);
}

function describeScore(q) {
  if (!q) return "";
  return `${q.score}/100`;
}

function onLocalResult(quality) {
  cloud.quality = quality;
  ui.threshold.placeholder = String(defaultThreshold() ?? "");
  renderSettings();
  if (!quality) {
    ui.scores.textContent = "";
    refreshOffer();
    return;
  }
  const t = threshold();
  ui.scores.textContent = `Quality score of this result: ${describeScore(quality)} (second opinion below ${t}).`;
  refreshOffer();
  if (quality.score >= t || cloud.offered) return;
  const s = cloud.settings;
  if (s.mode === "never") {
    setMessage(`The score is below ${t}, but you chose never to upload: the photo stays on this device.`);
    return;
  }
  if (!endpointUrl()) {
    setMessage(`The score is below ${t}. Set a cloud endpoint below to get a second opinion, or keep this result.`);
    return;
  }
  if (needsReload(s)) {
    setMessage(`The score is below ${t}. Reload the page to allow connections to ${endpointUrl().host}.`);
    return;
  }
  cloud.offered = true;
  if (s.mode === "auto") sendToCloud();
  else offer();
}

async function prepareUpload() {
  const info = JSON.parse(await python().cloud_prepare());
  if (info.error) throw new Error(info.error);
  return info;
}

async function offer() {
  if (cloud.busy) return;
  let info;
  try {
    info = await prepareUpload();
  } catch (err) {
    setMessage(`Could not prepare the upload: ${err.message}. Your local result stays.`, "error");
    return;
  }
  const url = endpointUrl();
  ui.consentText.textContent = `This result scored ${describeScore(cloud.quality)}, below your threshold of ${threshold()}. `
    + `Send the photo to ${url.host} for a second opinion? `
    + `What is sent: the photo only, as a ${info.width}×${info.height} JPEG (${(info.bytes / 1024).toFixed(0)} kB), `
    + "re-encoded on this device without EXIF, GPS or camera data. "
    + `Where: ${url.href}${cloud.settings.token ? " (with your API token)" : ""}. `
    + "It sends back an outline of the person; the new background is put in here, and you keep whichever result scores better.";
  ui.send.textContent = `Send to ${url.host}`;
  if (typeof ui.dialog.showModal === "function") ui.dialog.showModal();
  else ui.dialog.setAttribute("open", "");
}

function closeDialog() {
  if (ui.dialog.open) ui.dialog.close();
}

// Why a fetch failed, in words. Browsers report "server down" and "CORS refusal" with the same
// TypeError on purpose, so both causes are named; a CSP block and being offline can be told apart.
function failureText(err, url, timedOut) {
  const host = url.host;
  if (timedOut) {
    return `${host} did not answer within ${cloud.settings.timeout} s, so the request was stopped (it is not retried).`;
  }
  if (!navigator.onLine) return "You are offline, so nothing could be sent.";
  if (cloud.lastBlocked && cloud.lastBlocked.startsWith(url.origin)) {
    return `This page's security policy blocked the connection to ${host}; reload the page after changing the endpoint.`;
  }
  return `Could not get an answer from ${host}: the server is down or unreachable, or it does not allow this page `
    + `(${location.origin}) to call it (a CORS refusal; a passbg server needs --origin ${location.origin}). `
    + `Details: ${err.message || err}.`;
}

// The server's own words in an error answer: {"error": ...} (passbg, rembg), {"detail": ...} (FastAPI),
// a plain-text body, or an HTML error page's title (a proxy's "413 Request Entity Too Large").
async function serverWords(response) {
  try {
    const type = response.headers.get("content-type") || "";
    const text = (await response.text()).slice(0, 20000);
    let said = "";
    if (type.includes("json")) {
      const body = JSON.parse(text);
      said = body.error ?? body.detail ?? body.message ?? "";
      if (typeof said !== "string") said = JSON.stringify(said);
    } else if (type.includes("html")) {
      said = new DOMParser().parseFromString(text, "text/html").title;
    } else if (type.startsWith("text/")) {
      said = text;
    }
    return said.replace(/\s+/g, " ").trim().slice(0, 300);
  } catch {
    return "";
  }
}

// The server's words when it gave any (they say what to change), else what the status means.
async function httpErrorText(response, host) {
  const said = await serverWords(response);
  const hints = {
    401: "the endpoint needs an API token, or refused yours",
    403: "the endpoint refused the request",
    413: "the endpoint finds the photo too large",
    415: "the endpoint does not accept this kind of file",
    429: "the endpoint is rate-limiting requests",
    503: "the endpoint is busy",
  };
  const words = said || (hints[response.status] ?? "the endpoint reported an error");
  return `${host} answered HTTP ${response.status}: ${words}${/[.!?]$/.test(words) ? "" : "."}`;
}

async function sendToCloud() {
  if (cloud.busy || cloud.settings.mode === "never") return;
  const url = endpointUrl();
  if (!url) return;
  cloud.busy = true;
  refreshOffer();
  const keepLocal = " Your local result stays on screen.";
  const t0 = performance.now();
  let timedOut = false;
  const controller = new AbortController();
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, cloud.settings.timeout * 1000);
  try {
    if (!navigator.onLine) throw Object.assign(new Error("offline"), { offline: true });
    const info = await prepareUpload();
    setMessage(`Sending the photo (${info.width}×${info.height} JPEG, no metadata) to ${url.host}…`, "busy");
    const bytes = await python().cloud_upload_bytes();
    const form = new FormData();
    form.append("file", new Blob([bytes], { type: "image/jpeg" }), "photo.jpg");
    form.append("om", "true");
    if (cloud.settings.model) form.append("model", cloud.settings.model);
    url.searchParams.set("om", "true");
    // A non-standard header makes the browser ask the server first (CORS preflight): a server that does
    // not allow this page refuses there, before the photo is sent.
    const headers = { "X-Passbg-Client": "page" };
    if (cloud.settings.token) headers.Authorization = `Bearer ${cloud.settings.token}`;
    cloud.requests += 1;
    let response;
    try {
      response = await fetch(url.href, {
        method: "POST", body: form, headers, signal: controller.signal,
        mode: "cors", credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
      });
    } catch (err) {
      setMessage(failureText(err, url, timedOut) + keepLocal, "error");
      return;
    }
    if (!response.ok) {
      setMessage((await httpErrorText(response, url.host)) + keepLocal, "error");
      return;
    }
    const declared = Number(response.headers.get("content-length") || 0);
    if (declared > MAX_ANSWER_BYTES) {
      setMessage(`${url.host} sent back ${(declared / 1048576).toFixed(0)} MB, far more than a mask; it was not used.` + keepLocal, "error");
      controller.abort();
      return;
    }
    let answer;
    try {
      answer = new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      setMessage(failureText(err, url, timedOut) + keepLocal, "error");
      return;
    }
    clearTimeout(timer);
    setMessage(`Checking the answer from ${url.host}…`, "busy");
    // A passbg server names what answered (model, pipeline); a plain rembg server does not.
    const source = [response.headers.get("x-passbg-model"), response.headers.get("x-passbg-pipeline")]
      .filter(Boolean).join(", ");
    const meta = JSON.parse(await python().process_cloud(answer, url.host, source));
    if (meta.error) {
      setMessage(meta.error + keepLocal, "error");
      return;
    }
    showComparison(meta);
    if (meta.cloud.used === "cloud") {
      await window.passbg.showResult(meta, performance.now() - t0);
    }
  } catch (err) {
    setMessage((err.offline ? "You are offline, so nothing was sent." : `The second opinion failed: ${err.message || err}.`) + keepLocal, "error");
  } finally {
    clearTimeout(timer);
    cloud.busy = false;
    refreshOffer();
  }
}

function showComparison(meta) {
  const { local, remote, used, endpoint, source } = meta.cloud;
  const by = source ? ` (${source})` : "";
  ui.scores.textContent = `Quality score: on this device ${describeScore(local)}, from ${endpoint}${by} ${describeScore(remote)}.`;
  ui.scores.dataset.source = source || "";
  setMessage(used === "cloud"
    ? `Using the result from ${endpoint}: it scored higher (${remote.score} vs ${local?.score ?? "?"}).`
    : `Keeping the result made on this device: the one from ${endpoint} did not score higher (${remote.score} vs ${local?.score ?? "?"}).`,
  "done");
  ui.scores.dataset.used = used;
}

// --- wiring --------------------------------------------------------------------------------------

window.addEventListener("securitypolicyviolation", (event) => {
  cloud.lastBlocked = event.blockedURI;
});
window.addEventListener("passbg:photo", () => {
  cloud.offered = false;
  cloud.quality = null;
  ui.scores.textContent = "";
  delete ui.scores.dataset.used;
  setMessage("");
  closeDialog();
  refreshOffer();
});
window.addEventListener("passbg:ready", (event) => {
  cloud.shipped = event.detail?.info?.quality_threshold ?? null;
  ui.threshold.placeholder = String(defaultThreshold() ?? "");
  renderSettings();
});
window.addEventListener("passbg:result", (event) => {
  const meta = event.detail?.meta ?? {};
  if (meta.cloud) return; // our own result, already described by showComparison
  onLocalResult(meta.quality ?? null);
});
ui.form.addEventListener("submit", save);
ui.form.addEventListener("input", renderSettings);
ui.reload.addEventListener("click", () => location.reload());
ui.ask.addEventListener("click", () => offer());
ui.send.addEventListener("click", () => {
  closeDialog();
  sendToCloud();
});
ui.keep.addEventListener("click", () => {
  closeDialog();
  setMessage("Kept the result made on this device; nothing was sent.");
});
ui.dialog.addEventListener("cancel", () => setMessage("Kept the result made on this device; nothing was sent."));

if (cloud.settings.mode === "never") tightenNow();
fillForm();
renderSettings();
ui.reload.hidden = !needsReload(cloud.settings);

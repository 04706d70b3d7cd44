// Small helpers shared by the page's modules (app.js and the feature modules), so each is written once.

export const $ = (id) => document.getElementById(id);

// The page's events (listed in app.js): passbg:<type> on window, with `detail`.
export function announce(type, detail) {
  window.dispatchEvent(new CustomEvent(`passbg:${type}`, { detail }));
}

export const mb = (bytes) => (bytes / 1048576).toFixed(1);

// The Python worker's functions (static/app/worker.py) once app.js has started it, else undefined.
export const python = () => window.passbg?.worker?.sync;

export const blobUrl = (bytes, type) => URL.createObjectURL(new Blob([bytes], { type }));

// Resolves with `img` once it shows `url`; rejects with `failure` as the message.
export function loadImage(url, failure, img = new Image()) {
  return new Promise((resolve, reject) => {
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(failure));
    img.src = url;
  });
}

// static/models/manifest.json is fetched once for the page and handed to the onnxruntime worker as
// text. Resolves to "" when it cannot be had: each user words that in its own way.
let manifest = null;
export function manifestText() {
  manifest ??= fetch(new URL("static/models/manifest.json", document.baseURI), { cache: "no-cache" })
    .then((response) => (response.ok ? response.text() : ""))
    .catch(() => "");
  return manifest;
}

// sha256Hex(bytes) -> the lowercase hex SHA-256 of an ArrayBuffer or typed array: the one copy for the
// service worker (sw.js) and the onnxruntime worker (ort-engine.mjs).
// A plain script on purpose, with no import/export, published on the global object: sw.js stays a
// classic service worker, because module service workers need Firefox 147 or later (ESR 140 has none)
// and without one a plain static host gives Firefox no isolation headers at all. So sw.js loads this
// with importScripts(), and ES modules load it with a side-effect import.
globalThis.sha256Hex = async (bytes) => {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
};

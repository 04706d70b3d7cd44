// The page's Content-Security-Policy, written before any other script or fetch of the page.
//
// Why a script and not a fixed <meta>: the cloud endpoint is a setting of this browser (localStorage),
// and a policy cannot be loosened after it is in force. So this first, synchronous script reads the
// saved settings and installs the one policy for this page load:
//   connect-src 'self'             when the mode is "never upload" or no endpoint is set;
//   connect-src 'self' <origin>    otherwise, <origin> being the configured endpoint's origin.
// Everything else (scripts, workers, images, styles) is limited to this site; PyScript's worker is a
// blob: worker, so it inherits this policy. Any error here falls back to 'self' only (fail closed).
// Changing the endpoint takes effect on the next load (static/app/cloud.js offers the reload);
// switching to "never upload" adds a second, stricter policy at once (policies only add up).
(function installPolicy() {
  "use strict";
  const KEY = "passbg.cloud";
  let origin = "";
  try {
    const saved = JSON.parse(window.localStorage.getItem(KEY) || "{}");
    if (saved.mode !== "never" && typeof saved.endpoint === "string" && saved.endpoint) {
      const url = new URL(saved.endpoint);
      if (url.protocol === "https:" || url.protocol === "http:") origin = url.origin;
    }
  } catch (err) {
    origin = "";
  }
  // 'wasm-unsafe-eval': Pyodide and onnxruntime-web compile WebAssembly. 'unsafe-eval': Pyodide's
  // JavaScript bridge evaluates code it generates. blob: workers: PyScript starts its worker from a blob.
  const directives = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval' blob:",
    "worker-src 'self' blob:",
    `connect-src 'self' ${origin} blob: data:`.replace("  ", " "),
    "img-src 'self' blob: data:",
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
  ];
  const policy = directives.join("; ");
  const meta = document.createElement("meta");
  meta.httpEquiv = "Content-Security-Policy";
  meta.content = policy;
  meta.id = "csp";
  document.head.appendChild(meta);
  // What the page may connect to, for the settings panel (cloud.js) and for tests.
  window.passbgPolicy = Object.freeze({ policy, endpointOrigin: origin });
})();

// Drives @imgly/background-removal for the benchmark: one call of removeBackground per chosen file,
// timed from the file choice to the finished PNG, the same span the app's own timing covers.
// The query string picks the model ("small" = IS-Net quint8, "medium" = IS-Net fp16) and whether the
// peer proxies inference to its own worker (its default) or runs it on this page's thread.
import { removeBackground } from "@imgly/background-removal";

const params = new URLSearchParams(location.search);
const config = {
  publicPath: new URL("./data/", location.href).href,
  model: params.get("model") || "small",
  proxyToWorker: params.get("proxy") !== "0",
  output: { format: "image/png" },
};
const status = document.querySelector("[data-testid=status]");
const bench = { runs: [], error: null, isolated: self.crossOriginIsolated === true, threads: navigator.hardwareConcurrency };
window.peerBench = bench;
status.textContent = "ready";

document.querySelector("[data-testid=photo-input]").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  status.textContent = "working";
  const t0 = performance.now();
  try {
    const png = await removeBackground(file, config);
    bench.runs.push({ name: file.name, ms: performance.now() - t0, bytes: png.size });
    status.textContent = "done";
  } catch (err) {
    bench.error = String(err && err.message || err);
    status.textContent = "error";
  }
  event.target.value = "";
});

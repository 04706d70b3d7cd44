// The quality check of a result: the 0-100 score, every check with its verdict in plain words, and
// an overlay on the 200 % view showing where the failed checks found their problem.
// Listens to app.js's events; asks the Python worker for the overlay image.

import { $, blobUrl, loadImage, python } from "./page.js";

const box = $("quality");
const scoreEl = $("quality-score");
const summary = $("quality-summary");
const list = $("quality-checks");
const toggle = $("quality-overlay-toggle");
const overlayCanvas = $("zoom-overlay");

let overlayImage = null; // HTMLImageElement of the last result's overlay (result-sized RGBA)
let overlayUrl = null;
let zoomView = null;

// The verdict and the words are Python's (passbg.quality), next to the threshold they come from.
function render(quality) {
  if (!quality) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  scoreEl.textContent = `${quality.score} / 100`;
  if (quality.verdict) scoreEl.dataset.level = quality.verdict;
  else delete scoreEl.dataset.level;
  summary.textContent = quality.verdict_words ?? "";
  list.replaceChildren();
  const checks = [...(quality.checks ?? [])].sort((a, b) => Number(a.passed) - Number(b.passed));
  for (const check of checks) {
    const item = document.createElement("li");
    item.dataset.passed = String(check.passed);
    item.dataset.check = check.id;
    const name = document.createElement("strong");
    name.textContent = `${check.passed ? "✔" : "✘"} ${check.title ?? check.id}`;
    item.append(name);
    if (!check.passed) item.append(` — ${check.reason}`);
    list.append(item);
  }
}

async function loadOverlay() {
  overlayImage = null;
  if (overlayUrl) URL.revokeObjectURL(overlayUrl);
  overlayUrl = null;
  if (!python()) return;
  const bytes = await python().quality_overlay();
  if (!bytes) return;
  overlayUrl = blobUrl(bytes, "image/png");
  overlayImage = await loadImage(overlayUrl, "overlay image");
}

function drawOverlay() {
  const zoom = $("zoom");
  overlayCanvas.width = zoom.width;
  overlayCanvas.height = zoom.height;
  const ctx = overlayCanvas.getContext("2d");
  ctx.clearRect(0, 0, overlayCanvas.width, overlayCanvas.height);
  overlayCanvas.hidden = !toggle.checked;
  if (!toggle.checked || !overlayImage || !zoomView) return;
  ctx.imageSmoothingEnabled = false;
  const { x, y, width, height } = zoomView;
  ctx.drawImage(overlayImage, x, y, width, height, 0, 0, overlayCanvas.width, overlayCanvas.height);
}

window.addEventListener("passbg:zoom", (event) => {
  zoomView = event.detail;
  drawOverlay();
});

window.addEventListener("passbg:result", async (event) => {
  render(event.detail.meta.quality);
  try {
    await loadOverlay();
  } catch (err) {
    console.warn("passbg: quality overlay unavailable", err);
  }
  drawOverlay();
});

window.addEventListener("passbg:photo", () => {
  box.hidden = true;
  overlayImage = null;
  drawOverlay();
});

toggle.addEventListener("change", drawOverlay);

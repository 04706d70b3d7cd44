// The quality check of a result: the 0-100 score, every check with its verdict in plain words, and
// an overlay on the 200 % view showing where the failed checks found their problem.
// Listens to app.js's events; asks the Python worker for the overlay image.

const $ = (id) => document.getElementById(id);
const box = $("quality");
const scoreEl = $("quality-score");
const summary = $("quality-summary");
const list = $("quality-checks");
const toggle = $("quality-overlay-toggle");
const overlayCanvas = $("zoom-overlay");

const NAMES = {
  halo_old_background: "Old background at the edge",
  halo_delta_e: "Fringe around the outline",
  stair_steps: "Stair-step edges",
  blocky_upsampling: "Blocky outline",
  holes: "Holes (e.g. inside glasses)",
  interior_transparency: "See-through patches",
  see_through_veil: "Half see-through haze",
  hair_helmet: "Natural hair edge",
  background_uniformity: "Even background",
  background_colour: "Background colour",
  strays: "Leftover objects",
  cut_off_shoulders: "Shoulders kept",
  touches_sides: "Room at the sides",
  cast_shadow: "Shadow beside the person",
  outline_without_edge: "Outline on real edges",
  blurred_outline: "Sharp outline",
  person: "Person found",
};

let overlayImage = null; // HTMLImageElement of the last result's overlay (result-sized RGBA)
let overlayUrl = null;
let zoomView = null;

function verdict(score, threshold) {
  if (score >= 90) return ["good", "No visible problems found."];
  if (score >= threshold) return ["fair", "Minor issues; look at the 200 % view before you use it."];
  return ["poor", "This cut-out has visible problems. Check the list below; another model or a better photo may help."];
}

function render(quality) {
  if (!quality) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const [level, words] = verdict(quality.score, quality.threshold ?? 60);
  scoreEl.textContent = `${quality.score} / 100`;
  scoreEl.dataset.level = level;
  summary.textContent = words;
  list.replaceChildren();
  const checks = [...(quality.checks ?? [])].sort((a, b) => Number(a.passed) - Number(b.passed));
  for (const check of checks) {
    const item = document.createElement("li");
    item.dataset.passed = String(check.passed);
    item.dataset.check = check.id;
    const name = document.createElement("strong");
    name.textContent = `${check.passed ? "✔" : "✘"} ${NAMES[check.id] ?? check.id}`;
    item.append(name);
    if (!check.passed) item.append(` — ${check.reason}`);
    list.append(item);
  }
}

async function loadOverlay() {
  overlayImage = null;
  if (overlayUrl) URL.revokeObjectURL(overlayUrl);
  overlayUrl = null;
  const worker = window.passbg?.worker;
  if (!worker) return;
  const bytes = await worker.sync.quality_overlay();
  if (!bytes) return;
  overlayUrl = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
  const img = new Image();
  await new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = () => reject(new Error("overlay image"));
    img.src = overlayUrl;
  });
  overlayImage = img;
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

// Country presets: choose a country/document, see its rule BEFORE any download (several authorities
// forbid a replaced background), crop automatically to the preset with drag and zoom on top, and
// download the digital file and print sheets. Python does the work (passbg.web passport functions).
// The picker is searchable and grouped by country, with the forbidding documents marked in the list;
// "Your own document" takes sizes from a form kept in localStorage and checked by Python
// (passbg.passport.custom, the same check the CLI's --size uses).

import { $, blobUrl, loadImage, python } from "./page.js";

const CUSTOM = "custom";
const STORE = "passbg.customDocument";
// Only the unit and a colour are filled in for a new user: any number here would look like a rule.
const CUSTOM_START = { head_unit: "mm", background: "#FFFFFF" };

const ui = {
  preset: $("preset"),
  search: $("preset-search"),
  count: $("preset-count"),
  customBox: $("custom-document"),
  customInputs: [...document.querySelectorAll("#custom-document [data-field]")],
  customPicker: $("custom-background-picker"),
  warning: $("preset-warning"),
  warningTitle: $("preset-warning-title"),
  rule: $("preset-rule"),
  message: $("preset-message"),
  original: $("check-original"),
  ack: $("preset-ack"),
  ackRow: $("preset-ack-row"),
  info: $("preset-info"),
  work: $("passport-work"),
  empty: $("passport-empty"),
  stage: $("crop-stage"),
  canvas: $("crop-preview"),
  scale: $("crop-scale"),
  scaleValue: $("crop-scale-value"),
  reset: $("crop-reset"),
  checks: $("crop-checks"),
  score: $("crop-score"),
  status: $("passport-status"),
  digital: $("download-digital"),
  digitalNote: $("digital-note"),
  sheet: $("sheet-size"),
  sheetJpeg: $("download-sheet-jpeg"),
  sheetPdf: $("download-sheet-pdf"),
  sheetNote: $("sheet-note"),
};

const st = {
  presets: [],
  adjust: { scale: 1, dx: 0, dy: 0 },
  meta: null,
  hasResult: false,
  busy: false,
  pending: false,
  drag: null,
  custom: null, // the custom document's menu info while its form is valid
  customText: null, // what the page says about a custom document's rule (from Python)
  customAsked: 0,
};
window.passbgPresets = st; // test hook

const isCustom = () => ui.preset.value === CUSTOM;
const chosen = () => (isCustom() ? st.custom : st.presets.find((p) => p.id === ui.preset.value));

// --- the picker: grouped by country, searchable, forbidding documents marked in the list itself ---------
const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

function mark(p) {
  if (p.replacement === "no-self-made") return " — ✘ office photo only";
  if (p.forbids) return " — ✘ no replaced background";
  return "";
}

// Rebuilds the list for the search words; returns true when the chosen document is no longer listed.
function buildOptions() {
  const query = ui.search.value.trim();
  const words = fold(query).split(/\s+/).filter(Boolean);
  const matches = (p) => {
    const text = fold(`${p.country} ${p.name} ${p.document} ${p.id}`);
    return words.every((w) => text.includes(w));
  };
  const shown = st.presets.filter(matches);
  const groups = new Map();
  for (const p of shown) groups.set(p.country, [...(groups.get(p.country) || []), p]);
  const keep = ui.preset.value;
  const first = shown.length ? "Choose a country and document…" : `No listed document matches “${query}”`;
  const items = [new Option(first, "")];
  for (const country of [...groups.keys()].sort((a, b) => a.localeCompare(b))) {
    const group = document.createElement("optgroup");
    group.label = country;
    for (const p of groups.get(country)) {
      const option = new Option(p.name + mark(p), p.id);
      option.dataset.replacement = p.replacement;
      group.append(option);
    }
    items.push(group);
  }
  const own = document.createElement("optgroup"); // always offered: the way in for any other document
  own.label = "Your own document";
  own.append(new Option("Custom size: driving licence, badge, any other document…", CUSTOM));
  items.push(own);
  ui.preset.replaceChildren(...items);
  const listed = [...ui.preset.options].some((o) => o.value === keep);
  ui.preset.value = listed ? keep : "";
  ui.count.textContent = words.length
    ? `${shown.length} of ${st.presets.length} documents match “${query}”.`
    : `${st.presets.length} documents in ${new Set(st.presets.map((p) => p.country)).size} groups.`;
  return !listed;
}

// --- your own document: the form, kept on this device, checked by Python ---------------------------------
function customFields() {
  return Object.fromEntries(ui.customInputs.map((el) => [el.dataset.field, el.value]));
}

function loadCustom() {
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem(STORE) || "{}") || {};
  } catch {
    saved = {}; // unreadable: start again rather than lose the page
  }
  const values = { ...CUSTOM_START, ...saved };
  for (const el of ui.customInputs) {
    if (typeof values[el.dataset.field] === "string") el.value = values[el.dataset.field];
  }
  syncPicker();
}

function saveCustom() {
  try {
    localStorage.setItem(STORE, JSON.stringify(customFields()));
  } catch {
    // storage full or refused (private window): the form still works for this visit
  }
}

function syncPicker() {
  const text = $("custom-background").value.trim();
  if (/^#?[0-9a-f]{6}$/i.test(text)) ui.customPicker.value = `#${text.replace("#", "").toLowerCase()}`;
}

async function checkCustom() {
  saveCustom();
  const asked = ++st.customAsked;
  const answer = JSON.parse(await python().custom_check(JSON.stringify(customFields())));
  if (asked !== st.customAsked) return false; // a newer edit is being checked
  const problems = answer.problems || (answer.error ? { form: answer.error } : {});
  for (const el of ui.customBox.querySelectorAll("[data-error-for]")) {
    el.textContent = problems[el.dataset.errorFor] || "";
  }
  for (const el of ui.customInputs) el.setAttribute("aria-invalid", String(Boolean(problems[el.dataset.field])));
  st.custom = answer.preset || null;
  return true;
}

let customTimer = null;
function onCustomInput() {
  clearTimeout(customTimer);
  customTimer = setTimeout(async () => {
    if (!(await checkCustom())) return;
    resetAdjust();
    showRule();
    refresh();
  }, 250);
}
const mode = () => (ui.original.checked ? "original" : "replaced");

function setStatus(text) {
  ui.status.textContent = text;
}

function showRule() {
  const custom = isCustom();
  ui.customBox.hidden = !custom;
  const p = chosen();
  ui.warning.hidden = !p && !custom;
  ui.info.textContent = "";
  if (custom) {
    // No rule of its own: the user is told to check the authority's, and nothing is locked.
    ui.warning.classList.add("info");
    ui.warning.dataset.forbids = "false";
    ui.warningTitle.textContent = "Your own document: check the authority's rule";
    ui.rule.textContent = st.customText?.rule || "";
    ui.message.textContent = st.customText?.user_message || "";
    ui.ackRow.hidden = true;
    if (!p) {
      ui.info.textContent = "Enter the document's sizes below; each problem is shown beside its field.";
      return updateButtons();
    }
  }
  if (!p) return updateButtons();
  if (custom) {
    ui.info.textContent = describe(p);
    return updateButtons();
  }
  // The rule and the user message are shown as soon as a preset is chosen: before any download.
  ui.warning.classList.toggle("info", !p.forbids);
  ui.warning.dataset.forbids = String(p.forbids);
  ui.warningTitle.textContent = p.forbids
    ? (p.replacement === "no-self-made"
      ? `${p.name}: self-made photos are not accepted`
      : `${p.name}: a replaced background is not allowed`)
    : `${p.name}: about replacing the background`;
  // A paraphrase is not put in quotation marks: it is not the authority's own wording.
  const paraphrase = /\s*\(paraphrased\)\.?$/;
  ui.rule.textContent = paraphrase.test(p.rule)
    ? `The rule, in our words: ${p.rule.replace(paraphrase, ".")}`
    : `The rule: “${p.rule}”`;
  ui.message.textContent = p.user_message;
  ui.ackRow.hidden = !p.forbids;
  ui.info.textContent = p.has_layout ? describe(p) : "This document has no photo layout that can be made here.";
  updateButtons();
}

function describe(p) {
  const [w, h] = p.print_mm;
  const [lo, hi] = p.head_mm;
  let text = `Print ${w} × ${h} mm, head (chin to crown) ${lo}–${hi} mm; background: ${p.background}.`;
  if (p.digital_px) {
    const kb = p.digital_kb ? `, ${p.digital_kb[0] ?? 0}–${p.digital_kb[1] ?? "any"} kB` : "";
    text += ` Digital file ${p.digital_px[0]} × ${p.digital_px[1]} px${kb}.`;
  }
  return text;
}

function downloadsAllowed() {
  const p = chosen();
  if (!p || !p.has_layout || !st.meta || st.busy) return false;
  // A forbidding authority: downloads of a replaced background only once the user has read the rule.
  return !p.forbids || mode() === "original" || ui.ack.checked;
}

function updateButtons() {
  const ok = downloadsAllowed();
  const p = chosen();
  ui.digital.disabled = !ok || !p?.digital_px;
  ui.sheetJpeg.disabled = !ok;
  ui.sheetPdf.disabled = !ok;
  if (p && !p.digital_px && p.has_layout) ui.digitalNote.textContent = "No digital upload for this document.";
}

function drawPreview(meta, img) {
  const c = ui.canvas;
  c.width = img.naturalWidth;
  c.height = img.naturalHeight;
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  // Overlay: where the crown and the chin are, and the allowed eye-line band (USA), on the print.
  const p = chosen();
  const perMm = c.height / p.print_mm[1];
  const crown = meta.plan.top_margin_mm * perMm;
  const chin = crown + meta.plan.head_mm * perMm;
  ctx.lineWidth = 2;
  ctx.setLineDash([6, 4]);
  ctx.strokeStyle = meta.crop_ok ? "rgba(30,122,58,0.9)" : "rgba(164,35,27,0.9)";
  for (const y of [crown, chin]) {
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(c.width, y);
    ctx.stroke();
  }
  const eye = meta.checks.find((x) => x.id === "eye_line");
  if (eye) {
    const eyeY = c.height - meta.plan.eye_line_mm * perMm;
    ctx.setLineDash([2, 3]);
    ctx.beginPath();
    ctx.moveTo(0, eyeY);
    ctx.lineTo(c.width, eyeY);
    ctx.stroke();
  }
}

async function refresh() {
  const p = chosen();
  if (!p || !p.has_layout || !st.hasResult || !python()) {
    ui.work.hidden = true;
    ui.empty.hidden = false;
    ui.empty.textContent = !p
      ? (isCustom() ? "Fix the document's sizes on the left." : "Choose a country above.")
      : !p.has_layout ? p.user_message : "Make your photo first (step 1).";
    st.meta = null;
    return updateButtons();
  }
  if (st.busy) {
    st.pending = true;
    return;
  }
  st.busy = true;
  updateButtons();
  setStatus("Finding the face and cropping…");
  try {
    do {
      st.pending = false;
      const a = st.adjust;
      const form = p.id === CUSTOM ? JSON.stringify(customFields()) : "";
      const meta = JSON.parse(await python().passport(p.id, mode(), a.scale, a.dx, a.dy, form));
      if (meta.error) {
        setStatus(meta.error);
        st.meta = null;
        ui.work.hidden = true;
        ui.empty.hidden = false;
        ui.empty.textContent = meta.error;
        continue;
      }
      const bytes = await python().passport_bytes("preview");
      const url = blobUrl(bytes, "image/jpeg");
      const img = await loadImage(url, "the crop preview could not be shown");
      URL.revokeObjectURL(url);
      st.meta = meta;
      ui.work.hidden = false;
      ui.empty.hidden = true;
      drawPreview(meta, img);
      ui.stage.style.transform = "";
      ui.checks.replaceChildren(...meta.checks.map((c) => {
        const li = document.createElement("li");
        li.textContent = c.reason;
        li.dataset.check = c.id;
        if (!c.passed) li.className = "bad";
        return li;
      }));
      const what = meta.mode === "original" ? "your unaltered photo" : "the new background";
      ui.score.textContent = `Score ${meta.score}/100 for ${what}` + (meta.crop_ok ? " — head size and position within the rule." : " — the head size or position is outside the rule: drag or zoom to fix it.");
      ui.canvas.dataset.cropOk = String(meta.crop_ok);
      setStatus(`Cropped in ${(meta.timings.total / 1000).toFixed(2)} s.`);
    } while (st.pending);
  } catch (err) {
    setStatus(`Cropping failed: ${err.message || err}`);
  } finally {
    st.busy = false;
    updateButtons();
    ui.canvas.dataset.ready = st.meta ? "yes" : "no";
  }
}

async function download(kind) {
  if (!downloadsAllowed()) return;
  const note = kind === "digital" ? ui.digitalNote : ui.sheetNote;
  note.textContent = "Preparing…";
  const info = JSON.parse(await python().passport_file(kind, ui.sheet.value));
  if (info.error) {
    note.textContent = info.error;
    return;
  }
  const bytes = await python().passport_bytes("download");
  const url = blobUrl(bytes, info.mime);
  const a = document.createElement("a");
  a.href = url;
  a.download = info.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  st.lastDownload = info;
  if (kind === "digital") {
    const [w, h] = info.size_px;
    note.textContent = `${w} × ${h} px, ${(info.bytes / 1000).toFixed(0)} kB (JPEG quality ${info.quality}). ${info.message}`;
    note.dataset.bytes = String(info.bytes);
  } else {
    note.textContent = `${info.name}: ${info.message} Print at 100 % (“actual size”), never “fit to page”.`;
  }
}

// --- drag and zoom: the person moves under a fixed frame; re-validated when the gesture ends ----------
ui.stage.addEventListener("pointerdown", (e) => {
  if (!st.meta) return;
  st.drag = { x: e.clientX, y: e.clientY, id: e.pointerId };
  ui.stage.setPointerCapture(e.pointerId);
  ui.stage.classList.add("dragging");
});
ui.stage.addEventListener("pointermove", (e) => {
  if (!st.drag) return;
  ui.stage.style.transform = `translate(${e.clientX - st.drag.x}px, ${e.clientY - st.drag.y}px)`;
});
function endDrag(e) {
  if (!st.drag) return;
  const p = chosen();
  const rect = ui.canvas.getBoundingClientRect();
  const mmPerPx = p.print_mm[0] / rect.width;
  st.adjust.dx += (e.clientX - st.drag.x) * mmPerPx;
  st.adjust.dy += (e.clientY - st.drag.y) * mmPerPx;
  st.drag = null;
  ui.stage.classList.remove("dragging");
  refresh();
}
ui.stage.addEventListener("pointerup", endDrag);
ui.stage.addEventListener("pointercancel", endDrag);
ui.stage.addEventListener("keydown", (e) => {
  const step = { ArrowLeft: [-0.5, 0], ArrowRight: [0.5, 0], ArrowUp: [0, -0.5], ArrowDown: [0, 0.5] }[e.key];
  if (!step || !st.meta) return;
  e.preventDefault();
  st.adjust.dx += step[0];
  st.adjust.dy += step[1];
  refresh();
});
ui.scale.addEventListener("input", () => {
  st.adjust.scale = Number(ui.scale.value);
  ui.scaleValue.textContent = `${Math.round(st.adjust.scale * 100)} %`;
  refresh();
});
function resetAdjust() {
  st.adjust = { scale: 1, dx: 0, dy: 0 };
  ui.scale.value = "1";
  ui.scaleValue.textContent = "100 %";
}
ui.reset.addEventListener("click", () => {
  resetAdjust();
  refresh();
});

async function onPresetChange() {
  resetAdjust();
  showRule(); // at once: the rule (or the form) shows before anything else happens
  if (isCustom() && (await checkCustom())) showRule();
  refresh();
}
ui.preset.addEventListener("change", onPresetChange);
ui.search.addEventListener("input", () => {
  if (buildOptions()) onPresetChange();
});
for (const el of ui.customInputs) el.addEventListener("input", onCustomInput);
$("custom-background").addEventListener("input", syncPicker);
ui.customPicker.addEventListener("input", () => {
  $("custom-background").value = ui.customPicker.value.toUpperCase();
  onCustomInput();
});
ui.original.addEventListener("change", () => refresh());
ui.ack.addEventListener("change", updateButtons);
ui.digital.addEventListener("click", () => download("digital"));
ui.sheetJpeg.addEventListener("click", () => download("sheet-jpeg"));
ui.sheetPdf.addEventListener("click", () => download("sheet-pdf"));

window.addEventListener("passbg:ready", async () => {
  const list = JSON.parse(await python().presets_list());
  if (list.error) {
    ui.empty.textContent = list.error;
    return;
  }
  st.presets = list.presets;
  st.customText = list.custom;
  buildOptions();
  loadCustom();
  ui.sheet.replaceChildren(...list.sheets.map((s) => new Option(s.label, s.id)));
  ui.preset.disabled = false;
  showRule();
});
window.addEventListener("passbg:photo", () => {
  st.hasResult = false;
  resetAdjust();
  refresh();
});
window.addEventListener("passbg:result", () => {
  st.hasResult = true;
  refresh();
});

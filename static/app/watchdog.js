// Watchdog for the Python worker: a crashed or killed worker must end in a clear message, never in a
// page that says "Reading your photo…" forever. Two signals:
// - the worker's own `error` event (an uncaught failure inside it): reported at once;
// - silence: while the page waits on the worker, every stage change or progress report from it resets a
//   timer; if nothing arrives for `window.passbgWatchdogMs` (default 3 minutes, like the start-up
//   limit; tests shorten it) the worker is presumed dead (e.g. out of memory, or terminated).
// The user's photo stays in the page either way.
import { $, announce } from "./page.js";

const BUSY = new Set(["loading-model", "opening-model", "decoding", "segmenting", "compositing"]);
const status = $("status");
const detail = $("status-detail");
let timer = null;
let dead = false;

const MESSAGE =
  "The photo engine stopped responding — the browser may have run out of memory, or the engine " +
  "crashed. Your photo is still here: reload the page to try again, or use a smaller photo.";

function fail(message) {
  if (dead) return;
  dead = true;
  clearTimeout(timer);
  const error = $("error");
  error.textContent = message;
  error.hidden = false;
  status.textContent = "error";
  document.body.dataset.stage = "error";
  const run = $("run");
  if (run) run.disabled = true; // the worker is gone: only a reload helps
  announce("error", { message });
}

function rearm() {
  clearTimeout(timer);
  if (dead || !BUSY.has(status.textContent.trim())) return;
  timer = setTimeout(() => fail(MESSAGE), window.passbgWatchdogMs ?? 180000);
}

const observer = new MutationObserver(rearm);
for (const node of [status, detail]) {
  observer.observe(node, { childList: true, characterData: true, subtree: true });
}

window.addEventListener("passbg:ready", () => {
  const worker = window.passbg?.worker;
  if (!worker?.addEventListener) return;
  worker.addEventListener("error", (event) => {
    const what = event?.message ? ` (${event.message})` : "";
    fail(`The photo engine crashed${what}. Your photo is still here: reload the page to try again.`);
  });
});

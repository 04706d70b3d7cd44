// Non-blocking notices about a result: what the worker's metadata `notes` say (more than one person,
// a small person, an animation's first frame, the working size...). The result stays usable; the
// notice only tells the user what to check. Cleared when a new photo is chosen or an error is shown.
import { $ } from "./page.js";

const box = $("notices");

function show(notes) {
  box.replaceChildren();
  for (const note of notes) {
    const item = document.createElement("li");
    item.textContent = note;
    box.append(item);
  }
  box.hidden = notes.length === 0;
}

window.addEventListener("passbg:result", (event) => show(event.detail?.meta?.notes ?? []));
window.addEventListener("passbg:photo", () => show([]));
window.addEventListener("passbg:error", () => show([]));

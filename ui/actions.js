// The bar for the photos chosen in the grid (search results, "similar" or browsing): copy them
// to a folder, copy their paths, open them. Files travel by id; Rust copies and opens them.
import * as api from "./api.js";
import { $, toast } from "./dom.js";
import { number } from "./format.js";
import { chosenHits, clearChosen, whenChosenChanges } from "./results.js";

const OPEN_AT_MOST = 20; // more windows than this at once is never what a person meant

async function copyToFolder() {
  const ids = chosenHits().map((h) => h.id);
  try {
    const done = await api.copyToPickedFolder(ids);
    if (!done) return;
    toast(`Copied ${number(done.copies)} photo${done.copies === 1 ? "" : "s"} to ${done.folder}`);
  } catch (e) { toast(e.message); }
}

async function copyPaths() {
  const text = chosenHits().map((h) => h.path).join("\n");
  let copied = true;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Older WebKitGTK: the selection-based copy.
    const area = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(area);
    area.select();
    copied = document.execCommand("copy");
    area.remove();
  }
  if (!copied) { toast("The clipboard refused the paths."); return; }
  $("actions").dataset.copied = text;
  toast(`Copied ${number(chosenHits().length)} path${chosenHits().length === 1 ? "" : "s"}`);
}

async function openChosen() {
  const chosen = chosenHits();
  if (chosen.length > OPEN_AT_MOST) { toast(`Choose at most ${OPEN_AT_MOST} photos to open at once.`); return; }
  try { for (const h of chosen) await api.openImage(h.id); }
  catch (e) { toast(e.message); }
}

export function wireActions() {
  whenChosenChanges((n) => {
    $("actions").hidden = n === 0;
    $("chosen-count").textContent = `${number(n)} chosen`;
  });
  $("copy-to").onclick = copyToFolder;
  $("copy-paths").onclick = copyPaths;
  $("open-chosen").onclick = openChosen;
  $("clear-chosen").onclick = () => clearChosen();
}

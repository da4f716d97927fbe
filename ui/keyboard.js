// Keys: "/" to search, arrows through the results, Enter to preview, ←/→ in it, Esc to go back.
// Wiring like app.js: it calls into the modules it drives, and none of them imports it.
import { $ } from "./dom.js";
import { foldersOpen, toggleFolders } from "./folders.js";
import { toggleDuplicates } from "./duplicates.js";
import { closePreview, isOpen as previewOpen, openPreview, step } from "./preview.js";
import { chooseAll, clearChosen, columns, hits, select, selectedIndex, toggleChosen } from "./results.js";
import { leaveSimilar, runSearch, showingSimilar, typedSettled } from "./search.js";

export function onKey(e) {
  const inInput = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
  if (previewOpen()) {
    if (e.key === "ArrowRight" || e.key === "ArrowDown") { e.preventDefault(); step(1); }
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") { e.preventDefault(); step(-1); }
    else if (e.key === "Escape") { e.preventDefault(); closePreview(); }
    return;
  }
  if (e.key === "/" && !inInput) { e.preventDefault(); $("query").focus(); $("query").select(); return; }
  if (e.key === "Escape") {
    if (foldersOpen()) { toggleFolders(false); return; }
    if (!inInput && clearChosen()) return;
    if (!$("duplicates").hidden) { toggleDuplicates(false); return; }
    if (showingSimilar()) { leaveSimilar(); return; }
    if (inInput && e.target.id === "query") { e.target.value ? (e.target.value = "", runSearch()) : e.target.blur(); }
    return;
  }
  if (e.target.id === "query") {
    if (e.key === "ArrowDown" || e.key === "Enter") {
      e.preventDefault();
      searchNowThen(() => select(0));
    }
    return;
  }
  if (!hits().length || inInput) return;
  if (e.key === "a" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); chooseAll(); return; }
  if (e.key === " " && selectedIndex() >= 0) { e.preventDefault(); toggleChosen(selectedIndex()); return; }
  const move = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() }[e.key];
  if (move) {
    e.preventDefault();
    if (selectedIndex() < 0) select(0);
    else if (move < 0 && selectedIndex() + move < 0) $("query").focus();
    else select(selectedIndex() + move);
  } else if (e.key === "Enter" && selectedIndex() >= 0) {
    e.preventDefault();
    openPreview(selectedIndex());
  }
}

/** Enter in the box waits for the answer to what was typed, then moves into the results. */
async function searchNowThen(after) {
  await typedSettled();
  if (hits().length) after();
}

// Keys: "/" to search, arrows through the results, Enter to preview, ←/→ in it, Esc to go back.
// Wiring like app.js: it calls into the modules it drives, and none of them imports it.
import { $ } from "./dom.js";
import { foldersOpen, toggleFolders } from "./folders.js";
import { toggleDuplicates } from "./duplicates.js";
import { closePreview, isOpen as previewOpen, openPreview, step } from "./preview.js";
import { chooseAll, clearChosen, hits, rowStep, select, selectedIndex, toggleChosen } from "./results.js";
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
  const along = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
  const across = { ArrowDown: 1, ArrowUp: -1 }[e.key];
  if (along || across) {
    e.preventDefault();
    const i = selectedIndex();
    // Up and down go to the tile drawn above or below it (months may share a row).
    const to = i < 0 ? 0 : along ? i + along : rowStep(i, across);
    if (to >= 0) select(to);
    else if (e.key !== "ArrowDown") $("query").focus(); // before the first tile: back to the box
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

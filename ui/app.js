// ClipStream's window: wires the modules together and starts. Each module has one job:
// api (the only caller of Tauri), status, search, results, empty, preview, folders, indexing,
// keyboard; format, latest and options are pure and tested with `node --test tests/ui`.
import * as api from "./api.js";
import { $ } from "./dom.js";
import { escapeHtml } from "./format.js";
import { showEmpty } from "./empty.js";
import { wireActions } from "./actions.js";
import { wireDuplicates } from "./duplicates.js";
import { wireFolders } from "./folders.js";
import { showProgress, startIndexing, wireIndexing } from "./indexing.js";
import { onKey } from "./keyboard.js";
import { wirePreview } from "./preview.js";
import { wireGrid } from "./results.js";
import { onTyped, runSearch } from "./search.js";
import { refreshStatus } from "./status.js";

function wire() {
  $("query").addEventListener("input", onTyped);
  for (const id of ["sort", "folder-filter", "type-filter", "from", "until"]) $(id).addEventListener("change", runSearch);
  wireFolders();
  wireDuplicates();
  wireActions();
  wirePreview();
  document.addEventListener("keydown", onKey);
  wireGrid();
}

async function start() {
  wire();
  try {
    // Listen before asking, so no event can slip between the answer and the subscription.
    await wireIndexing();
    let markReady;
    const ready = new Promise((resolve) => { markReady = resolve; });
    await api.onLibraryReady(() => markReady());
    await api.onWatchChanged(() => refreshStatus());
    let s = await refreshStatus();
    runSearch();
    if (s.loading) {
      await ready;
      s = await refreshStatus();
      runSearch();
    }
    $("query").focus();
    // A run already going (this window was reloaded) is followed; otherwise catch up with
    // changes made while the app was closed. Search works meanwhile.
    if (s.indexing && s.progress) showProgress(s.progress);
    else if (s.library && s.library.folders.length) startIndexing();
  } catch (e) {
    showEmpty(`<h2>ClipStream could not start</h2><p>${escapeHtml(e.message)}</p>`, "error");
  }
}

start();

// ClipStream's window: wires the modules together and starts. Each module has one job: api (the
// only caller of Tauri), status (the app's status, kept), banner, search, results, empty, preview,
// folders, indexing, duplicates, actions, keyboard; format, latest, options, layout and bus are
// pure and tested with `node --test tests/ui`.
//
// Imports run one way: down this list and along its arrows, never back up, never sideways
// between the modules of one line. A module that must reach one above or beside it publishes a
// topic on the bus instead (bus.js lists them); tests/ui/imports.test.js fails on any cycle.
//   app.js, keyboard.js                 wiring: the start, and keys to what they do
//   banner, folders, indexing, duplicates, actions, preview
//                                       the parts around the centre
//   search.js → results.js → empty.js   the centre: search decides what it shows, results draws
//                                       the grid, empty everything else
//   status.js → bus.js                  the status most modules read; the topics
//   api, dom, format, latest, layout, options
import * as api from "./api.js";
import { $ } from "./dom.js";
import { escapeHtml } from "./format.js";
import { showEmpty } from "./empty.js";
import { wireActions } from "./actions.js";
import { wireBanner } from "./banner.js";
import { wireDuplicates } from "./duplicates.js";
import { wireFolders } from "./folders.js";
import { showProgress, showWords, startIndexing, wireIndexing } from "./indexing.js";
import { onKey } from "./keyboard.js";
import { wirePreview } from "./preview.js";
import { wireGrid } from "./results.js";
import { runSearch, wireSearch } from "./search.js";
import { refreshStatus } from "./status.js";

// Listeners on the bus are called in the order they subscribe here (the banner redraws before
// the Folders drawer, as it always has).
function wire() {
  wireSearch();
  wireBanner();
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
    if (s.reading_words) showWords(s.words_progress);
    else if (s.library && s.library.folders.length) startIndexing();
  } catch (e) {
    showEmpty(`<h2>ClipStream could not start</h2><p>${escapeHtml(e.message)}</p>`, "error");
  }
}

start();

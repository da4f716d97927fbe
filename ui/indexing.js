// The indexing strip. Rust announces every run's progress and end to every window, so a window
// opened (or reloaded) mid-run follows the run as well as the one that started it. Runs asked
// for elsewhere (a folder added, Re-scan, Re-index) arrive through the bus.
import * as api from "./api.js";
import { on, publish } from "./bus.js";
import { $ } from "./dom.js";
import { progressView, reportSummary, wordsLine } from "./format.js";
import { statusChanged } from "./search.js";
import { refreshStatus } from "./status.js";

const REFRESH_MS = 1500; // at most this often, counts and results follow a running index
let lastRefresh = 0;
let hideTimer = null;

function strip(state) {
  clearTimeout(hideTimer);
  $("indexing").hidden = false;
  $("indexing").dataset.state = state;
  $("cancel-index").hidden = state !== "running";
}

export function showProgress(p) {
  strip("running");
  const view = progressView(p);
  $("indexing-title").textContent = view.title;
  $("indexing-detail").textContent = view.detail;
  const bar = $("indexing-bar");
  bar.max = view.max;
  if (view.value == null) bar.removeAttribute("value");
  else bar.value = view.value;
}

function onProgress(p) {
  showProgress(p);
  // Search is usable while indexing: counts and the current answer follow now and then.
  if (Date.now() - lastRefresh > REFRESH_MS) {
    lastRefresh = Date.now();
    refreshStatus().then(statusChanged);
  }
}

async function onFinished({ report, error }) {
  if (error) {
    strip("failed");
    $("indexing-title").textContent = "Indexing stopped";
    $("indexing-detail").textContent = error.message;
    await refreshStatus();
    return;
  }
  await refreshStatus();
  $("indexing-title").textContent = report.cancelled ? "Indexing cancelled" : "Up to date";
  $("indexing-detail").textContent = reportSummary(report);
  $("indexing-bar").max = 1;
  $("indexing-bar").value = report.cancelled ? 0 : 1;
  // Set last: "done" means the whole window is up to date (the end-to-end test waits for it).
  strip(report.cancelled ? "cancelled" : "done");
  publish("run-ended"); // the Folders drawer's list of skipped files
  statusChanged();
  hideTimer = setTimeout(() => { $("indexing").hidden = true; }, 8000);
}

/** Ask Rust to index; a run already going (this window's or another's) is simply followed. */
export function startIndexing() {
  api.index().catch((e) => {
    if (e.code === "busy") return; // already running: its events keep this window up to date
    onFinished({ report: null, error: e });
  });
}

/** The reading of the words in photos, under the strip: how far it is. */
export function showWords(progress) {
  const line = wordsLine(progress);
  $("words-line").hidden = line == null;
  $("words-line").textContent = line ?? "";
}

let lastWordsRefresh = 0;

function onWordsProgress(p) {
  showWords(p);
  // Photos found by their words appear as the words are read.
  if (Date.now() - lastWordsRefresh > 5000) {
    lastWordsRefresh = Date.now();
    refreshStatus().then(statusChanged);
  }
}

async function onWordsFinished({ report, error }) {
  showWords(null);
  if (error) {
    $("words-line").hidden = false;
    $("words-line").textContent = `The words in photos could not be read: ${error.message}`;
  }
  await refreshStatus();
  // A pass that found no words changed no answer: the one on screen stays as it is.
  if (report?.with_text > 0) statusChanged();
}

export function wireIndexing() {
  on("index", startIndexing);
  $("cancel-index").onclick = () => api.cancelIndex();
  return Promise.all([
    api.onIndexProgress(onProgress), api.onIndexFinished(onFinished),
    api.onWordsProgress(onWordsProgress), api.onWordsFinished(onWordsFinished),
  ]);
}

// What the search box and filters ask for, sent to Rust as the user types; only the newest
// answer is drawn. A key sends its query at once (no typing pause): while one search is on its
// way, later keys wait for it and then send only the newest text, so searches never pile up.
// The top of the centre: it decides what the centre shows and has results.js or empty.js draw
// it; what their buttons ask of it comes back through the bus.
import * as api from "./api.js";
import { on } from "./bus.js";
import { $ } from "./dom.js";
import { escapeHtml, fileName } from "./format.js";
import { latest } from "./latest.js";
import { searchOptions } from "./options.js";
import { showBlocker, showEmpty, showingModelHelp, showStart } from "./empty.js";
import { isBrowsing, showBrowse, showResults } from "./results.js";
import { status } from "./status.js";

let similarTo = null;   // {id, name} while showing "find similar"
let showAll = false;
let typing = null;      // the searches for typed text, while one is on its way
let typedAgain = false; // a key came while one was on its way
const requests = latest();
// A text search first asks for a screenful, the rest as the reader scrolls: the answer reaches
// the window sooner (measured in BENCHMARKS.md: 1000 results cost ~30 ms more per keystroke).
const FIRST_PAGE = 120;

function options() {
  return searchOptions({
    showAll,
    sort: $("sort").value,
    folderId: $("folder-filter").value,
    from: $("from").value,
    to: $("until").value,
    format: $("type-filter").value,
  });
}

/** Whether the window shows an answer to a query (text or "similar") rather than a start screen. */
export const isActive = () => similarTo != null || $("query").value.trim() !== "";
export const showingSimilar = () => similarTo != null;

/** Search for what the box says now, or as soon as the search on its way returns. */
function scheduleSearch() {
  if (typing) {
    typedAgain = true;
    return;
  }
  typing = (async () => {
    try {
      do {
        typedAgain = false;
        await runSearch();
      } while (typedAgain);
    } finally {
      typing = null;
    }
  })();
}

/** Resolves once the answer to the text typed so far is on screen (at once if it is). */
export const typedSettled = () => typing ?? Promise.resolve();

function onTyped() {
  similarTo = null;
  showAll = false;
  scheduleSearch();
}

function setQuery(text) {
  $("query").value = text;
  similarTo = null;
  runSearch();
}

function setShowAll(all) {
  showAll = all;
  runSearch();
}

export function findSimilar(hit) {
  similarTo = { id: hit.id, name: fileName(hit.path) };
  showAll = false;
  return runSearch();
}

export function leaveSimilar() {
  similarTo = null;
  runSearch();
}

/** Show what the box asks for now: a blocker, the start screen, or the answer to the query.
 * What is on screen stays until the answer replaces it (no blank page while it comes). */
export async function runSearch() {
  const ticket = requests.next();
  if (showBlocker()) return;
  const query = $("query").value.trim();
  if (!isActive()) {
    // An empty box browses the library, newest first; an empty library shows how to start.
    if (!status().library?.images) { showStart(); return; }
    try {
      const page = await api.list(options(), null);
      if (!requests.isLatest(ticket)) return;
      showBrowse(page, options());
    } catch (e) {
      if (requests.isLatest(ticket)) showEmpty(`<h2>Browsing failed</h2><p>${escapeHtml(e.message)}</p>`, "error");
    }
    return;
  }
  document.body.classList.add("searching");
  try {
    const asked = options();
    // By relevance only: sorted by date, the first screenful of the nearest is not the first
    // screenful of the whole answer.
    const paged = similarTo == null && !asked.sortByDate;
    const results = similarTo != null
      ? await api.similar(similarTo.id, asked)
      : await api.search(query, paged ? { ...asked, limit: FIRST_PAGE } : asked);
    if (!requests.isLatest(ticket)) return; // a newer search was sent meanwhile: never show this one
    const label = similarTo != null ? `photos like ${similarTo.name}` : `“${query}”`;
    const fetchRest = paged ? () => api.search(query, asked) : null;
    showResults(results, label, { similar: similarTo != null, all: showAll, fetchRest });
  } catch (e) {
    if (!requests.isLatest(ticket)) return;
    if (e.code === "bad_query") {
      showEmpty(`<h2>That query needs a fix</h2><p>${escapeHtml(e.message)}</p>`, "bad-query");
    } else {
      showEmpty(`<h2>Search failed</h2><p>${escapeHtml(e.message)}</p>`, "error");
    }
  } finally {
    if (requests.isLatest(ticket)) document.body.classList.remove("searching");
  }
}

/** The status changed (a run committed, a folder came or went): bring the centre up to date. */
export function statusChanged() {
  // Browsing far down, a refresh would throw the reader back to the top: the counts update,
  // the grid stays until they return to the top or search.
  const readingFarDown = isBrowsing() && document.scrollingElement.scrollTop > 300;
  // Nor is the offer of the real model taken away from someone reading it.
  if (status() && !readingFarDown && !showingModelHelp()) runSearch();
}

/** Search as the box and the filters change, and when another module asks (through the bus). */
export function wireSearch() {
  $("query").addEventListener("input", onTyped);
  for (const id of ["sort", "folder-filter", "type-filter", "from", "until"]) $(id).addEventListener("change", runSearch);
  // An empty date field shows "any date" (style.css), not the engine's grey stand-in for a date.
  for (const id of ["from", "until"]) {
    const input = $(id);
    const mark = () => input.classList.toggle("no-date", !input.value);
    input.addEventListener("input", mark);
    input.addEventListener("change", mark);
    mark();
  }
  on("search", runSearch);
  on("query", setQuery);
  on("show-all", setShowAll);
  on("leave-similar", leaveSimilar);
}

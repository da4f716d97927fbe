// The results grid: tiles added page by page as the user scrolls, selection, summary line. Also
// browsing (an empty query): the library newest first under month headings, each page fetched
// from Rust as the grid nears its end.
import * as api from "./api.js";
import { $, button } from "./dom.js";
import { escapeHtml, fileName, fileUri, monthLabel, number, takenText } from "./format.js";
import { hideEmpty, showEmpty } from "./empty.js";
import { sameHits } from "./latest.js";
import { openPreview } from "./preview.js";
import { leaveSimilar, setShowAll } from "./search.js";

const PAGE = 120; // tiles added to the grid at a time

let results = null;
let rendered = 0;
let selected = -1;
/** While browsing: {next, options, fetching}; null for search results. */
let browsing = null;
/** Ids of the photos chosen for an action (Ctrl/Shift-click, Space, Ctrl+A). Kept when the same
 * answer is drawn again (a run's refresh), dropped for another query. */
const chosen = new Set();
let chosenFor = null; // the answer (label) they were chosen in
let shown = null; // what the grid shows: its query, mode and filters
let onChosen = () => {};

/** Call `handler` whenever the chosen tiles change. */
export function whenChosenChanges(handler) { onChosen = handler; }
export const chosenHits = () => hits().filter((h) => chosen.has(h.id));

function markChosen() {
  for (const t of $("grid").querySelectorAll(".tile")) {
    const on = chosen.has(Number(t.dataset.id));
    t.classList.toggle("chosen", on);
    t.setAttribute("aria-selected", String(on));
  }
  onChosen(chosen.size);
}

export function toggleChosen(i) {
  const hit = hits()[i];
  if (!hit) return;
  if (chosen.has(hit.id)) chosen.delete(hit.id); else chosen.add(hit.id);
  markChosen();
}

/** Choose every tile from the focused one (or the first) to `i`. */
export function chooseRange(i) {
  const from = selected < 0 ? 0 : selected;
  for (let k = Math.min(from, i); k <= Math.max(from, i); k++) chosen.add(hits()[k].id);
  markChosen();
}

export function chooseAll() {
  while (rendered < hits().length) renderMore();
  for (const h of hits()) chosen.add(h.id);
  markChosen();
}

export function clearChosen() {
  if (!chosen.size) return false;
  chosen.clear();
  markChosen();
  return true;
}

export const hits = () => (results ? results.hits : []);
export const selectedIndex = () => selected;
export const currentHit = () => hits()[selected];

export function clearResults() {
  results = null;
  browsing = null;
  rendered = 0;
  selected = -1;
  $("grid").replaceChildren();
  $("summary").textContent = "";
}

export function showResults(answer, label, { similar, all }) {
  const n = answer.hits.length;
  if (n === 0) {
    const hidden = answer.hidden > 0
      ? `<p>${number(answer.hidden)} weaker match${answer.hidden === 1 ? " was" : "es were"} hidden by the relevance cutoff.</p>
         <p><button id="empty-show-all">Show all results</button></p>`
      : `<p>Try other words, or check the filters and folders.</p>`;
    showEmpty(`<h2>Nothing found for ${escapeHtml(label)}</h2>${hidden}`, "nothing-found");
    const b = $("empty-show-all");
    if (b) b.onclick = () => setShowAll(true);
    return;
  }
  const key = JSON.stringify({ label, similar, all });
  if (results && !browsing && shown === key && $("empty").hidden && results.hidden === answer.hidden
      && sameHits(results.hits, answer.hits)) return; // a refresh with nothing new
  hideEmpty();
  clearResults();
  results = answer;
  shown = key;
  keepChosenFor(label);
  $("grid").dataset.query = label;
  $("grid").dataset.browse = "false";
  const summary = $("summary");
  summary.append(`${number(n)} ${n === 1 ? "match" : "matches"} for ${label}`);
  if (similar) {
    summary.append(" · ");
    summary.append(button("Back to search", "link", leaveSimilar));
  }
  if (answer.hidden > 0 && !all) {
    summary.append(` · ${number(answer.hidden)} weaker hidden · `);
    summary.append(button("Show all", "link", () => setShowAll(true), "show-all"));
  } else if (all) {
    summary.append(" · all results, weakest included · ");
    summary.append(button("Only good matches", "link", () => setShowAll(false), "show-all"));
  }
  renderMore();
}

/** Nothing to act on any more (an empty state replaced the grid). */
export function dropChosen() {
  chosen.clear();
  chosenFor = null;
  onChosen(0);
}

/** A new answer: the choice survives if it is the same query's (a refresh), minus photos gone. */
function keepChosenFor(label) {
  if (label !== chosenFor) chosen.clear();
  chosenFor = label;
  const present = new Set(hits().map((h) => h.id));
  for (const id of [...chosen]) if (!present.has(id) && !browsing) chosen.delete(id);
  onChosen(chosen.size);
}

/** Browse: the first page of the library, newest first, grouped by month. */
export function showBrowse(page, options) {
  if (page.images.length === 0) {
    showEmpty(`<h2>No photos match the filters</h2><p>Check the folder and the dates.</p>`, "nothing-found");
    return;
  }
  const key = JSON.stringify(options);
  if (browsing && shown === key && $("empty").hidden
      && sameHits(results.hits.slice(0, page.images.length), page.images)) return; // nothing new on top
  hideEmpty();
  clearResults();
  shown = key;
  results = { hits: page.images, hidden: 0 };
  browsing = { next: page.next, options, fetching: false };
  keepChosenFor("");
  $("grid").dataset.query = "";
  $("grid").dataset.browse = "true";
  $("summary").append("All photos, newest first · type to search");
  renderMore();
}

/** Append the next page of tiles; while browsing, fetch the library's next page when the grid
 * has shown all it holds. */
export function renderMore() {
  const list = hits();
  if (rendered >= list.length && browsing?.next && !browsing.fetching) {
    fetchNextPage(browsing);
    return;
  }
  const end = Math.min(list.length, rendered + PAGE);
  const fragment = document.createDocumentFragment();
  for (let i = rendered; i < end; i++) {
    if (browsing) {
      const month = monthLabel(list[i].taken_at);
      if (i === 0 || month !== monthLabel(list[i - 1].taken_at)) fragment.append(heading(month));
    }
    fragment.append(tile(list[i], i));
  }
  $("grid").append(fragment);
  rendered = end;
}

async function fetchNextPage(browse) {
  browse.fetching = true;
  try {
    const page = await api.list(browse.options, browse.next);
    if (browse !== browsing) return; // the grid shows something else now
    results.hits.push(...page.images);
    browse.next = page.next;
    renderMore();
  } catch (e) {
    if (browse === browsing) browse.next = null; // stop asking; what is shown stays
  } finally {
    browse.fetching = false;
  }
}

function heading(month) {
  const h = document.createElement("h3");
  h.className = "month";
  h.textContent = month;
  return h;
}

export const isBrowsing = () => browsing != null;

export const hasMore = () => results != null && (rendered < results.hits.length || Boolean(browsing?.next));

function tile(hit, i) {
  const t = document.createElement("button");
  t.className = "tile";
  t.role = "option";
  t.dataset.index = i;
  t.dataset.id = hit.id;
  t.classList.toggle("chosen", chosen.has(hit.id));
  t.setAttribute("aria-selected", String(chosen.has(hit.id)));
  t.title = `${fileName(hit.path)} — ${takenText(hit.taken_at)}`;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.decoding = "async";
  img.alt = fileName(hit.path);
  img.src = api.thumbnailUrl(hit.id);
  img.onerror = () => t.classList.add("missing");
  t.append(img);
  if (!browsing) {
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hit.score.toFixed(2);
    t.append(score);
  }
  // Dragged out of the window into a file manager: the chosen photos if this is one of them.
  t.draggable = true;
  t.ondragstart = (e) => {
    const dragged = chosen.has(hit.id) ? chosenHits() : [hit];
    e.dataTransfer.setData("text/uri-list", dragged.map((h) => fileUri(h.path)).join("\r\n"));
    e.dataTransfer.setData("text/plain", dragged.map((h) => h.path).join("\n"));
    e.dataTransfer.effectAllowed = "copy";
  };
  t.onclick = (e) => {
    if (e.ctrlKey || e.metaKey) { toggleChosen(i); select(i); return; }
    if (e.shiftKey) { chooseRange(i); select(i); return; }
    select(i);
    openPreview(i);
  };
  return t;
}

export function select(i) {
  const list = hits();
  if (!list.length) return;
  i = Math.max(0, Math.min(list.length - 1, i));
  while (i >= rendered) renderMore();
  const grid = $("grid");
  grid.querySelector(".tile.selected")?.classList.remove("selected");
  const t = grid.querySelector(`.tile[data-index="${i}"]`);
  t.classList.add("selected");
  t.focus({ preventScroll: true });
  t.scrollIntoView({ block: "nearest" });
  selected = i;
}

export function columns() {
  const tiles = $("grid").querySelectorAll(".tile");
  if (tiles.length < 2) return 1;
  const top = tiles[0].offsetTop;
  let n = 0;
  while (n < tiles.length && tiles[n].offsetTop === top) n++;
  return Math.max(1, n);
}

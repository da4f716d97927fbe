// The results grid, selection and summary line. Also browsing (an empty query): the library newest
// first under month headings (small months side by side in a row, as layout.js lays them), each
// page fetched from Rust as the reader nears the end. The grid is virtualized: only the rows near
// the screen are in the DOM (layout.js places every row), so it scrolls through 100k photos as
// through 100. search.js decides what the grid shows; what the summary line's buttons and the
// tiles ask of search and the preview goes through the bus.
import * as api from "./api.js";
import { on, publish } from "./bus.js";
import { $, button, toast } from "./dom.js";
import { escapeHtml, fileName, monthKey, monthLabel, number, takenText } from "./format.js";
import { columnsFor, extendRows, placeRows, rowOfTile, rowsBetween, tileAcross, tileSizeFor } from "./layout.js";
import { hideEmpty, showEmpty } from "./empty.js";
import { sameHits } from "./latest.js";

const OVERSCAN = 800; // px of rows drawn beyond the window, above and below
const FETCH_AHEAD = 3000; // px: the next page (or the rest of an answer) is asked for this far before the end

let results = null;
let selected = -1;
/** The grid's rows (layout.js), their columns and tile size, and the rows in the DOM. */
let rows = [];
let cols = 0;
let drawnFrom = 0;
let drawnTo = 0; // rows [drawnFrom, drawnTo) are in the DOM, in order
const rowElements = new Map();
/** While browsing: {next, options, fetching}; null for search results. */
let browsing = null;
/** An answer whose first screenful is shown: {fetch, fetching}; the rest is asked for as the
 * reader nears the end (a first screenful reaches the window sooner than a thousand photos). */
let rest = null;
/** What the summary line describes: {label, similar, all}. */
let summaryOf = null;
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

function clearResults() {
  results = null;
  browsing = null;
  rest = null;
  selected = -1;
  rows = [];
  cols = 0;
  undraw();
  $("grid").style.height = "0px";
  $("summary").textContent = "";
}

/** Show an answer; `fetchRest`, when the answer has `more`, asks for the whole of it. */
export function showResults(answer, label, { similar, all, fetchRest = null }) {
  const n = answer.hits.length;
  if (n === 0) {
    // Of a first screenful, the cutoff hid these and perhaps more beyond.
    const atLeast = answer.more ? "+" : "";
    const hidden = answer.hidden > 0
      ? `<p>${number(answer.hidden)}${atLeast} weaker match${answer.hidden === 1 && !atLeast ? " was" : "es were"} hidden by the relevance cutoff.</p>
         <p><button id="empty-show-all">Show all results</button></p>`
      : `<p>Try other words, or check the filters and folders.</p>`;
    showEmpty(`<h2>Nothing found for ${escapeHtml(label)}</h2>${hidden}`, "nothing-found");
    const b = $("empty-show-all");
    if (b) b.onclick = () => publish("show-all", true);
    return;
  }
  const key = JSON.stringify({ label, similar, all });
  const held = results && answer.more ? results.hits.slice(0, n) : results?.hits;
  if (results && !browsing && shown === key && $("empty").hidden && (answer.more || results.hidden === answer.hidden)
      && sameHits(held, answer.hits)) return; // a refresh with nothing new
  hideEmpty();
  clearResults();
  results = answer;
  rest = answer.more && fetchRest ? { fetch: fetchRest, fetching: false } : null;
  shown = key;
  keepChosenFor(label);
  $("grid").dataset.query = label;
  $("grid").dataset.browse = "false";
  summaryOf = { label, similar, all };
  summarize();
  layOut();
  draw();
}

/** The summary line of search results: how many, what for, and the cutoff's part. */
function summarize() {
  const { label, similar, all } = summaryOf;
  const n = results.hits.length;
  const summary = $("summary");
  summary.textContent = "";
  // Until the rest is asked for, the counts are of a first screenful: once the cutoff hides one,
  // every farther photo is hidden too, so either the matches or the hidden ones may be more.
  const atLeast = rest ? "+" : "";
  const count = atLeast && results.hidden === 0
    ? `${number(n)}+ matches`
    : `${number(n)} ${n === 1 ? "match" : "matches"}`;
  summary.append(`${count} for ${label}`);
  if (similar) {
    summary.append(" · ");
    summary.append(button("Back to search", "link", () => publish("leave-similar")));
  }
  if (results.hidden > 0 && !all) {
    summary.append(` · ${number(results.hidden)}${atLeast} weaker hidden · `);
    summary.append(button("Show all", "link", () => publish("show-all", true), "show-all"));
  } else if (all) {
    summary.append(" · all results, weakest included · ");
    summary.append(button("Only good matches", "link", () => publish("show-all", false), "show-all"));
  }
}

/** Nothing to act on any more (an empty state replaced the grid). */
function dropChosen() {
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
  layOut();
  draw();
}

/** Lay the rows out for the grid's width and the hits held; only the last row changes when a
 * page is added, every row when the number of columns does. */
function layOut() {
  const grid = $("grid");
  const width = grid.clientWidth;
  const fit = columnsFor(width);
  if (fit !== cols) {
    cols = fit;
    rows = [];
    undraw();
  } else if (drawnTo === rows.length && rows.length) {
    // The last row is laid again (new hits may fill it): drawn anew by the next draw().
    drop(rows.length - 1);
    drawnTo = Math.max(drawnFrom, rows.length - 1);
  }
  extendRows(rows, hits(), cols, browsing ? (h) => monthKey(h.taken_at) : () => null);
  const size = tileSizeFor(width, cols);
  grid.style.height = `${placeRows(rows, size)}px`;
  grid.style.setProperty("--cols", String(cols));
  grid.dataset.count = String(hits().length);
  grid.dataset.complete = String(!browsing?.next && !rest);
  for (const [r, el] of rowElements) el.style.top = `${rows[r].top}px`;
}

/** Put the rows near the window into the DOM and take the others out; while browsing, ask for
 * the next page well before the reader reaches the end. */
export function draw() {
  if (!results) return;
  const grid = $("grid");
  const top = -grid.getBoundingClientRect().top; // how far the grid's top is above the window's
  const [a, b] = rowsBetween(rows, top - OVERSCAN, top + innerHeight + OVERSCAN);
  if (a >= drawnTo || b <= drawnFrom) {
    undraw();
    drawnFrom = drawnTo = a;
  }
  for (let r = drawnFrom; r < a; r++) drop(r);
  for (let r = b; r < drawnTo; r++) drop(r);
  drawnFrom = Math.max(drawnFrom, a);
  drawnTo = Math.min(drawnTo, b);
  if (a < drawnFrom) grid.prepend(rowsFragment(a, drawnFrom));
  if (b > drawnTo) grid.append(rowsFragment(drawnTo, b));
  drawnFrom = a;
  drawnTo = b;
  const last = rows[rows.length - 1];
  const height = last ? last.top + last.height : 0;
  const nearEnd = height - (top + innerHeight) < FETCH_AHEAD;
  if (browsing?.next && !browsing.fetching && nearEnd) fetchNextPage(browsing);
  if (rest && !rest.fetching && nearEnd) fetchTheRest(rest);
}

function rowsFragment(from, to) {
  const fragment = document.createDocumentFragment();
  for (let r = from; r < to; r++) {
    const el = rowElement(rows[r]);
    rowElements.set(r, el);
    fragment.append(el);
  }
  return fragment;
}

/** A row of tiles; where months begin in it, each month's heading above its first tiles (the
 * heading, then its tiles, so the page reads in order; the stylesheet puts tiles below). */
function rowElement(row) {
  const list = hits();
  const el = document.createElement("div");
  el.className = row.heads ? "row headed" : "row";
  el.role = "presentation";
  const heads = row.heads ?? [];
  for (let h = 0, i = row.from; i < row.to; i++) {
    if (heads[h]?.first === i) {
      const end = heads[h + 1]?.first ?? row.to;
      const heading = document.createElement("h3");
      heading.className = "month";
      heading.textContent = monthLabel(list[i].taken_at);
      heading.style.gridColumn = `${i - row.from + 1} / span ${end - i}`;
      el.append(heading);
      h++;
    }
    el.append(tile(list[i], i));
  }
  el.style.top = `${row.top}px`;
  return el;
}

function drop(r) {
  const el = rowElements.get(r);
  if (!el) return;
  // Let go of the thumbnails now: a detached <img> keeps its decoded pixels until the next
  // garbage collection, which a fast scroll outruns.
  for (const img of el.getElementsByTagName("img")) img.removeAttribute("src");
  el.remove();
  rowElements.delete(r);
}

function undraw() {
  $("grid").replaceChildren();
  rowElements.clear();
  drawnFrom = drawnTo = 0;
}

/** Redraw on scroll (once a frame), lay out again when the grid's width changes, and give way
 * to an empty state. */
export function wireGrid() {
  on("empty", () => {
    clearResults();
    dropChosen();
  });
  let queued = false;
  const redraw = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; draw(); });
  };
  addEventListener("scroll", redraw, { passive: true });
  let width = 0;
  new ResizeObserver(() => {
    const now = $("grid").clientWidth;
    if (now === width || !results) { width = now; return; }
    width = now;
    layOut();
    draw();
  }).observe($("grid"));
}

async function fetchNextPage(browse) {
  browse.fetching = true;
  try {
    const page = await api.list(browse.options, browse.next);
    if (browse !== browsing) return; // the grid shows something else now
    results.hits.push(...page.images);
    browse.next = page.next;
    layOut();
  } catch (e) {
    if (browse === browsing) browse.next = null; // stop asking; what is shown stays
  } finally {
    browse.fetching = false;
  }
  if (browse === browsing) draw();
}

/** The whole answer, of which the first screenful is shown: the photos not yet shown go after
 * it (a larger search may order a few near-ties differently: what is shown does not move). */
async function fetchTheRest(r) {
  r.fetching = true;
  const answer = results;
  try {
    const whole = await r.fetch();
    if (r !== rest) return; // the grid shows something else now
    const held = new Set(answer.hits.map((h) => h.id));
    answer.hits.push(...whole.hits.filter((h) => !held.has(h.id)));
    answer.hidden = whole.hidden;
    rest = null;
    summarize();
    layOut();
  } catch (e) {
    if (r === rest) rest = null; // stop asking; what is shown stays
    return;
  }
  draw();
}

export const isBrowsing = () => browsing != null;

function tile(hit, i) {
  const t = document.createElement("button");
  t.className = "tile";
  t.role = "option";
  t.dataset.index = i;
  t.dataset.id = hit.id;
  t.classList.toggle("chosen", chosen.has(hit.id));
  t.classList.toggle("selected", i === selected);
  t.setAttribute("aria-selected", String(chosen.has(hit.id)));
  t.title = `${fileName(hit.path)} — ${takenText(hit.taken_at)}`;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.decoding = "async";
  img.alt = fileName(hit.path);
  img.src = api.thumbnailUrl(hit.id);
  img.onerror = () => t.classList.add("missing");
  t.append(img);
  if (hit.offline) {
    // Found by its stored embedding and shown by its thumbnail; its drive is not connected.
    t.classList.add("offline");
    t.title += " — offline: its drive is not connected";
    const mark = document.createElement("span");
    mark.className = "offline-mark";
    mark.textContent = "offline";
    t.append(mark);
  }
  if (hit.text?.length) {
    // Found by the words in it: the badge, and the words in the tooltip.
    t.classList.add("text-hit");
    t.title += ` — text: ${hit.text.map((l) => l.text).join(" · ")}`;
    const mark = document.createElement("span");
    mark.className = "text-mark";
    mark.textContent = "text";
    t.append(mark);
  }
  if (!browsing) {
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hit.score.toFixed(2);
    t.append(score);
  }
  // Dragged out of the window into a file manager: the chosen photos if this is one of them.
  // The drag is GTK's, started in Rust (commands::drag_out): the webview's own cannot carry
  // several files to a file manager.
  t.draggable = true;
  t.ondragstart = (e) => {
    e.preventDefault();
    const dragged = chosen.has(hit.id) ? chosenHits() : [hit];
    api.dragOut(dragged.map((h) => h.id)).catch((err) => toast(err.message));
  };
  t.onclick = (e) => {
    if (e.ctrlKey || e.metaKey) { toggleChosen(i); select(i); return; }
    if (e.shiftKey) { chooseRange(i); select(i); return; }
    select(i);
    publish("preview", i);
  };
  return t;
}

export function select(i) {
  const list = hits();
  if (!list.length) return;
  i = Math.max(0, Math.min(list.length - 1, i));
  selected = i;
  // Bring the tile's row near the window first: off screen it is not in the DOM.
  const grid = $("grid");
  const row = rows[rowOfTile(rows, i)];
  const gridTop = grid.getBoundingClientRect().top + scrollY;
  if (row && (gridTop + row.top + row.height < scrollY || gridTop + row.top > scrollY + innerHeight)) {
    scrollTo(0, gridTop + row.top - innerHeight / 3);
  }
  draw();
  grid.querySelector(".tile.selected")?.classList.remove("selected");
  const t = grid.querySelector(`.tile[data-index="${i}"]`);
  if (!t) return;
  t.classList.add("selected");
  t.focus({ preventScroll: true });
  t.scrollIntoView({ block: "nearest" });
}

/** The tile a row above (`step` -1) or below (1) tile `i`, as drawn: rows of months sharing a
 * row hold fewer tiles than the columns; -1 past the first or the last row. */
export const rowStep = (i, step) => tileAcross(rows, i, step);

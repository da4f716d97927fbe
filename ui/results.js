// The results grid: tiles added page by page as the user scrolls, selection, summary line.
import * as api from "./api.js";
import { $, button } from "./dom.js";
import { escapeHtml, fileName, number, takenText } from "./format.js";
import { hideEmpty, showEmpty } from "./empty.js";
import { openPreview } from "./preview.js";
import { leaveSimilar, setShowAll } from "./search.js";

const PAGE = 120; // tiles added to the grid at a time

let results = null;
let rendered = 0;
let selected = -1;

export const hits = () => (results ? results.hits : []);
export const selectedIndex = () => selected;
export const currentHit = () => hits()[selected];

export function clearResults() {
  results = null;
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
  hideEmpty();
  clearResults();
  results = answer;
  $("grid").dataset.query = label;
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

/** Append the next page of tiles. */
export function renderMore() {
  const list = hits();
  const end = Math.min(list.length, rendered + PAGE);
  const fragment = document.createDocumentFragment();
  for (let i = rendered; i < end; i++) fragment.append(tile(list[i], i));
  $("grid").append(fragment);
  rendered = end;
}

export const hasMore = () => results != null && rendered < results.hits.length;

function tile(hit, i) {
  const t = document.createElement("button");
  t.className = "tile";
  t.role = "option";
  t.dataset.index = i;
  t.dataset.id = hit.id;
  t.title = `${fileName(hit.path)} — ${takenText(hit.taken_at)}`;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.decoding = "async";
  img.alt = fileName(hit.path);
  img.src = api.thumbnailUrl(hit.id);
  img.onerror = () => t.classList.add("missing");
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = hit.score.toFixed(2);
  t.append(img, score);
  t.onclick = () => { select(i); openPreview(i); };
  return t;
}

export function select(i) {
  const list = hits();
  if (!list.length) return;
  i = Math.max(0, Math.min(list.length - 1, i));
  while (i >= rendered) renderMore();
  const grid = $("grid");
  grid.querySelector(".tile.selected")?.classList.remove("selected");
  const t = grid.children[i];
  t.classList.add("selected");
  t.focus({ preventScroll: true });
  t.scrollIntoView({ block: "nearest" });
  selected = i;
}

export function columns() {
  const tiles = $("grid").children;
  if (tiles.length < 2) return 1;
  const top = tiles[0].offsetTop;
  let n = 0;
  while (n < tiles.length && tiles[n].offsetTop === top) n++;
  return Math.max(1, n);
}

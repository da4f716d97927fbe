// ClipStream's window: search as you type, results grid, preview, folders and indexing.
import * as api from "./api.js";

const $ = (id) => document.getElementById(id);
const PAGE = 120;          // tiles added to the grid at a time, as the user scrolls
const DEBOUNCE_MS = 120;   // typing pause before a search is sent
const ALL_LIMIT = 5000;    // "show all" returns at most this many

const ui = {
  status: null,           // last app_status answer
  results: null,          // last results shown
  resultsLabel: "",       // what the results are for ("dog", "similar to x.jpg")
  rendered: 0,            // tiles in the grid
  selected: -1,           // index into results.hits
  showAll: false,
  similarTo: null,        // catalog id when showing "find similar"
  searchSeq: 0,           // increases with every search sent; older answers are dropped
  indexRun: null,         // promise of the running index, if any
};

// ---------- formatting ----------
const number = (n) => Number(n).toLocaleString();
const fileName = (p) => p.split("/").pop();
const folderOf = (p) => p.slice(0, Math.max(1, p.lastIndexOf("/")));
function bytes(n) {
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
// taken_at is the camera's local time stored as if UTC: show it in UTC to get it back unchanged.
function takenText(t) {
  if (t == null) return "unknown (no EXIF date)";
  return new Date(t * 1000).toLocaleString(undefined, { timeZone: "UTC", dateStyle: "medium", timeStyle: "short" });
}
function duration(s) {
  if (s == null || !isFinite(s)) return "";
  if (s < 60) return `about ${Math.max(1, Math.round(s))} s left`;
  if (s < 3600) return `about ${Math.round(s / 60)} min left`;
  return `about ${(s / 3600).toFixed(1)} h left`;
}
function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

// ---------- status, banners, empty states ----------
let statusSeq = 0;
async function refreshStatus() {
  const seq = ++statusSeq;
  const status = await api.status();
  if (seq !== statusSeq) return ui.status; // a newer answer is on its way
  ui.status = status;
  renderBanner();
  renderFolders();
  renderEmpty();
  return ui.status;
}

function renderBanner() {
  const s = ui.status, b = $("banner");
  b.hidden = true;
  b.className = "banner";
  if (s.mode === "demo") {
    $("query").placeholder = "Search the demo shapes — try “a red circle”";
    b.hidden = false;
    b.classList.add("demo");
    b.innerHTML = `<strong>Demo</strong> — running on the bundled <em>test model</em>, which only knows
      coloured shapes (try “a red circle” or “a small blue square on a yellow background”).
      It cannot understand your photos. <a href="#" id="how-real">How to get the real CLIP model</a>`;
    $("how-real").onclick = (e) => { e.preventDefault(); showModelHelp(); };
  }
}

function modelHelpHtml() {
  const where = (ui.status.model_locations || []).map((p) => `<code>${escapeHtml(p)}</code>`).join(" or ");
  return `<p>ClipStream needs OpenAI's CLIP ViT-B/32 exported for ONNX Runtime (the files it uses come to about 530 MB,
    made once, on a machine that can reach huggingface.co). In the ClipStream source folder:</p>
    <pre>make setup
source scripts/env.sh && cd models && "$PY" -m clipstream_models export \\
    --source openai/clip-vit-base-patch32 --out ~/.local/share/clipstream/model</pre>
    <p>Then restart ClipStream. It looks for the model in ${where || "the data folder"}
    (or set <code>CLIPSTREAM_MODEL</code> to the folder holding <code>manifest.json</code>).
    Nothing leaves this computer: the model runs on your CPU.</p>`;
}

function showModelHelp() {
  showEmpty(`<h2>Get the real CLIP model</h2>${modelHelpHtml()}
    <p><button id="back-to-demo" class="ghost">Back to the demo</button></p>`, "model-help");
  $("back-to-demo").onclick = () => { renderEmpty(); runSearch(); };
}

function showEmpty(html, kind) {
  const e = $("empty");
  e.innerHTML = html;
  e.dataset.kind = kind;
  e.hidden = false;
  $("grid").replaceChildren();
  $("summary").textContent = "";
  ui.results = null;
}

function hideEmpty() { $("empty").hidden = true; $("empty").dataset.kind = ""; }

/** The state that needs the user before searching can work; false when search can run. */
function renderEmpty() {
  const s = ui.status;
  if (s.loading) {
    showEmpty(`<h2>Loading the model…</h2><p>Searching starts in a moment.</p>`, "loading");
    return true;
  }
  if (s.mode === "no_model") {
    showEmpty(`<h2>No model yet</h2>${modelHelpHtml()}`, "no-model");
    return true;
  }
  if (s.error) {
    if (s.error.code === "model_mismatch") {
      showEmpty(`<h2>This library was indexed with another model</h2>
        <p>${escapeHtml(s.error.message)}</p>
        <p>Re-indexing reads every photo again with the current model; your folders are kept.</p>
        <p><button id="reindex">Re-index with this model</button></p>`, "model-mismatch");
      $("reindex").onclick = async () => {
        try { await api.reindexLibrary(); await refreshStatus(); startIndexing(); }
        catch (e) { toast(e.message); }
      };
    } else {
      showEmpty(`<h2>ClipStream cannot open its library</h2><p>${escapeHtml(s.error.message)}</p>`, "error");
    }
    return true;
  }
  const lib = s.library;
  if (lib && lib.folders.length === 0) {
    showEmpty(`<h2>Add a folder of photos</h2>
      <p>Drop a folder on this window, or pick one. ClipStream reads every photo in it once,
      on this computer, and then finds them by what is in them.</p>
      <p><button id="empty-add">Add folder…</button></p>`, "no-folders");
    $("empty-add").onclick = pickAndAdd;
    return true;
  }
  if (!$("query").value.trim() && ui.similarTo == null) {
    const examples = s.mode === "demo"
      ? ["a red circle", "a small blue square on a yellow background", "a green triangle", "a purple star + a white background"]
      : ["dog on a beach at sunset", "birthday cake", "snowy mountains - people", "receipts and documents"];
    const count = lib ? lib.images : 0;
    showEmpty(`<h2>Search ${number(count)} photo${count === 1 ? "" : "s"}</h2>
      <p>Describe what you are looking for. Add <code>+ term</code> or <code>- term</code> to steer the results.</p>
      <p class="examples">${examples.map((q) => `<button class="chip" data-q="${escapeHtml(q)}">${escapeHtml(q)}</button>`).join("")}</p>`, "start");
    for (const chip of document.querySelectorAll(".chip")) {
      chip.onclick = () => { $("query").value = chip.dataset.q; ui.similarTo = null; runSearch(); };
    }
    return true;
  }
  hideEmpty();
  return false;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// ---------- searching ----------
function searchOptions() {
  const day = (v, end) => (v ? Date.parse(`${v}T00:00:00Z`) / 1000 + (end ? 86399 : 0) : null);
  return {
    all: ui.showAll,
    limit: ui.showAll ? ALL_LIMIT : undefined,
    sortByDate: $("sort").value === "date",
    folder: $("folder-filter").value || null,
    takenFrom: day($("from").value, false),
    takenUntil: day($("until").value, true),
  };
}

let debounceTimer = null;
function scheduleSearch() {
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(runSearch, DEBOUNCE_MS);
}

async function runSearch() {
  clearTimeout(debounceTimer);
  debounceTimer = null;
  if (!ui.status || ui.status.mode === "no_model" || ui.status.error) return;
  const query = $("query").value.trim();
  const seq = ++ui.searchSeq;
  if (ui.similarTo == null && !query) { renderEmpty(); return; }
  document.body.classList.add("searching");
  try {
    const results = ui.similarTo != null
      ? await api.similar(ui.similarTo, searchOptions())
      : await api.search(query, searchOptions());
    if (seq !== ui.searchSeq) return; // a newer search was sent meanwhile: never show this one
    const label = ui.similarTo != null ? `photos like ${ui.similarName}` : `“${query}”`;
    showResults(results, label);
  } catch (e) {
    if (seq !== ui.searchSeq) return;
    if (e.code === "bad_query") {
      showEmpty(`<h2>That query needs a fix</h2><p>${escapeHtml(e.message)}</p>`, "bad-query");
    } else {
      showEmpty(`<h2>Search failed</h2><p>${escapeHtml(e.message)}</p>`, "error");
    }
  } finally {
    if (seq === ui.searchSeq) document.body.classList.remove("searching");
  }
}

function showResults(results, label) {
  ui.results = results;
  ui.resultsLabel = label;
  ui.rendered = 0;
  ui.selected = -1;
  $("grid").replaceChildren();
  $("grid").dataset.query = label;
  const n = results.hits.length;
  const summary = $("summary");
  summary.replaceChildren();
  if (n === 0) {
    const hidden = results.hidden > 0
      ? `<p>${number(results.hidden)} weaker match${results.hidden === 1 ? " was" : "es were"} hidden by the relevance cutoff.</p>
         <p><button id="empty-show-all">Show all results</button></p>`
      : `<p>Try other words, or check the filters and folders.</p>`;
    showEmpty(`<h2>Nothing found for ${escapeHtml(label)}</h2>${hidden}`, "nothing-found");
    const b = $("empty-show-all");
    if (b) b.onclick = () => { ui.showAll = true; runSearch(); };
    return;
  }
  hideEmpty();
  summary.append(`${number(n)} ${n === 1 ? "match" : "matches"} for ${label}`);
  if (ui.similarTo != null) {
    summary.append(" · ");
    summary.append(button("Back to search", "link", () => { ui.similarTo = null; runSearch(); }));
  }
  if (results.hidden > 0 && !ui.showAll) {
    summary.append(` · ${number(results.hidden)} weaker hidden · `);
    summary.append(button("Show all", "link", () => { ui.showAll = true; runSearch(); }, "show-all"));
  } else if (ui.showAll) {
    summary.append(" · all results, weakest included · ");
    summary.append(button("Only good matches", "link", () => { ui.showAll = false; runSearch(); }, "show-all"));
  }
  renderMore();
}

function button(text, cls, onclick, id) {
  const b = document.createElement("button");
  b.textContent = text;
  b.className = cls;
  if (id) b.id = id;
  b.onclick = onclick;
  return b;
}

/** Append the next page of tiles (the grid grows as the user scrolls). */
function renderMore() {
  const hits = ui.results ? ui.results.hits : [];
  const grid = $("grid");
  const end = Math.min(hits.length, ui.rendered + PAGE);
  const fragment = document.createDocumentFragment();
  for (let i = ui.rendered; i < end; i++) fragment.append(tile(hits[i], i));
  grid.append(fragment);
  ui.rendered = end;
}

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

function select(i) {
  const hits = ui.results ? ui.results.hits : [];
  if (!hits.length) return;
  i = Math.max(0, Math.min(hits.length - 1, i));
  while (i >= ui.rendered) renderMore();
  const grid = $("grid");
  grid.querySelector(".tile.selected")?.classList.remove("selected");
  const t = grid.children[i];
  t.classList.add("selected");
  t.focus({ preventScroll: true });
  t.scrollIntoView({ block: "nearest" });
  ui.selected = i;
}

function columns() {
  const tiles = $("grid").children;
  if (tiles.length < 2) return 1;
  const top = tiles[0].offsetTop;
  let n = 0;
  while (n < tiles.length && tiles[n].offsetTop === top) n++;
  return Math.max(1, n);
}

// ---------- preview ----------
function openPreview(i) {
  const hit = ui.results.hits[i];
  if (!hit) return;
  ui.selected = i;
  $("preview-img").src = api.previewUrl(hit.id);
  $("preview-img").alt = fileName(hit.path);
  $("preview-name").textContent = fileName(hit.path);
  $("preview-folder").textContent = folderOf(hit.path);
  $("preview-taken").textContent = takenText(hit.taken_at);
  $("preview-dims").textContent = `${hit.width} × ${hit.height} px`;
  $("preview-file").textContent = `${hit.format.toUpperCase()}, ${bytes(hit.size)}`;
  $("preview-score").textContent = hit.score.toFixed(3);
  const d = $("preview");
  d.dataset.id = hit.id;
  if (!d.open) d.showModal();
}

function closePreview() {
  const d = $("preview");
  if (d.open) d.close();
  if (ui.selected >= 0) select(ui.selected);
}

function currentHit() { return ui.results?.hits[ui.selected]; }

async function findSimilar() {
  const hit = currentHit();
  if (!hit) return;
  closePreview();
  ui.similarTo = hit.id;
  ui.similarName = fileName(hit.path);
  ui.showAll = false;
  await runSearch();
  window.scrollTo({ top: 0 });
}

// ---------- folders and indexing ----------
function renderFolders() {
  const lib = ui.status.library;
  const list = $("folder-list");
  list.replaceChildren();
  const filter = $("folder-filter");
  const chosen = filter.value;
  filter.replaceChildren(new Option("All folders", ""));
  if (!lib) return;
  for (const f of lib.folders) {
    const li = document.createElement("li");
    if (!f.reachable) li.classList.add("unreachable");
    const name = document.createElement("div");
    name.className = "folder-name";
    name.textContent = f.path;
    const meta = document.createElement("div");
    meta.className = "folder-meta";
    meta.textContent = `${number(f.images)} photos${f.reachable ? "" : " · not reachable (unplugged?) — photos kept"}`;
    const remove = button("Remove", "ghost small", async () => {
      if (!confirm(`Stop searching ${f.path}? Its photos leave the library (the files are not touched).`)) return;
      try { await api.removeFolder(f.path); await refreshStatus(); runSearch(); }
      catch (e) { toast(e.message); }
    });
    li.append(name, meta, remove);
    list.append(li);
    filter.append(new Option(fileName(f.path) || f.path, f.path));
  }
  filter.value = lib.folders.some((f) => f.path === chosen) ? chosen : "";
  $("skipped-count").textContent = number(lib.skipped);
  $("library-info").textContent = `${number(lib.images)} photos · model ${ui.status.model_id ?? "none"} · library ${lib.library}`;
}

async function renderSkipped() {
  if (!$("skipped-box").open) return;
  const list = $("skipped-list");
  try {
    const items = await api.skipped();
    list.replaceChildren(...items.slice(0, 500).map((s) => {
      const li = document.createElement("li");
      const p = document.createElement("div");
      p.className = "skipped-path";
      p.textContent = s.path;
      const r = document.createElement("div");
      r.className = "skipped-reason";
      r.textContent = s.reason;
      li.append(p, r);
      return li;
    }));
    if (items.length > 500) list.append(Object.assign(document.createElement("li"), { textContent: `… and ${number(items.length - 500)} more (clipstream status --skipped lists all)` }));
  } catch (e) { toast(e.message); }
}

async function addFolder(path) {
  try {
    await api.addFolder(path);
    await refreshStatus();
    startIndexing();
  } catch (e) { toast(e.message); }
}

async function pickAndAdd() {
  try {
    const path = await api.pickFolder();
    if (path) await addFolder(path);
  } catch (e) { toast(e.message); }
}

function showProgress(p) {
  $("indexing").hidden = false;
  const title = $("indexing-title"), detail = $("indexing-detail"), bar = $("indexing-bar");
  if (p.phase === "waiting") {
    // The CLI (or another window) is indexing this library; ours starts when it finishes.
    title.textContent = "Waiting";
    detail.textContent = `${p.waiting_for} is updating this library; indexing starts when it finishes`;
    bar.removeAttribute("value");
    return;
  }
  if (p.phase === "discovering") {
    title.textContent = "Looking for photos";
    detail.textContent = `${number(p.found)} found`;
    bar.removeAttribute("value");
    return;
  }
  title.textContent = p.phase === "done" ? "Up to date" : "Indexing";
  const parts = [`${number(p.done)} of ${number(p.to_process)}`];
  if (p.images_per_s > 0) parts.push(`${p.images_per_s.toFixed(1)} images/s`);
  if (p.phase !== "done" && p.eta_s != null) parts.push(duration(p.eta_s));
  if (p.skipped) parts.push(`${number(p.skipped)} skipped`);
  detail.textContent = parts.join(" · ");
  bar.max = Math.max(1, p.to_process);
  bar.value = p.done;
}

let lastRefresh = 0;
function startIndexing() {
  if (ui.indexRun || !ui.status?.library) return ui.indexRun;
  $("indexing").dataset.state = "running";
  $("cancel-index").hidden = false;
  let finished = false; // progress messages can arrive after the run's answer: ignore those
  ui.indexRun = api.index((p) => {
    if (finished) return;
    showProgress(p);
    // Search is usable while indexing: refresh counts and results now and then.
    if (Date.now() - lastRefresh > 1500) {
      lastRefresh = Date.now();
      refreshStatus().then(() => { if (ui.results) runSearch(); });
    }
  }).then(async (report) => {
    finished = true;
    ui.indexRun = null;
    await refreshStatus();
    const bits = [];
    if (report.added) bits.push(`${number(report.added)} added`);
    if (report.updated) bits.push(`${number(report.updated)} changed`);
    if (report.moved) bits.push(`${number(report.moved)} moved`);
    if (report.removed) bits.push(`${number(report.removed)} removed`);
    if (report.skipped_total) bits.push(`${number(report.skipped_total)} skipped (see Folders)`);
    if (report.unreachable.length) bits.push(`${report.unreachable.length} folder(s) unreachable`);
    if (!bits.length) bits.push("no changes");
    $("indexing-title").textContent = report.cancelled ? "Indexing cancelled" : "Up to date";
    $("indexing-detail").textContent = bits.join(" · ");
    $("indexing-bar").max = 1;
    $("indexing-bar").value = report.cancelled ? 0 : 1;
    $("cancel-index").hidden = true;
    // Set last: "done" means the whole window is up to date (the end-to-end test waits for it).
    $("indexing").dataset.state = report.cancelled ? "cancelled" : "done";
    renderSkipped();
    if (ui.results || $("query").value.trim()) runSearch();
    setTimeout(() => { if (!ui.indexRun) $("indexing").hidden = true; }, 8000);
  }, async (e) => {
    finished = true;
    ui.indexRun = null;
    $("indexing").dataset.state = "failed";
    $("indexing-title").textContent = "Indexing stopped";
    $("indexing-detail").textContent = e.message;
    $("cancel-index").hidden = true;
    await refreshStatus();
  });
  return ui.indexRun;
}

// ---------- keyboard ----------
function onKey(e) {
  const inInput = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
  const previewOpen = $("preview").open;
  if (previewOpen) {
    if (e.key === "ArrowRight" || e.key === "ArrowDown") { e.preventDefault(); openPreview(Math.min(ui.selected + 1, ui.results.hits.length - 1)); }
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") { e.preventDefault(); openPreview(Math.max(ui.selected - 1, 0)); }
    else if (e.key === "Escape") { e.preventDefault(); closePreview(); }
    return;
  }
  if (e.key === "/" && !inInput) { e.preventDefault(); $("query").focus(); $("query").select(); return; }
  if (e.key === "Escape") {
    if (!$("folders").hidden) { toggleFolders(false); return; }
    if (ui.similarTo != null) { ui.similarTo = null; runSearch(); return; }
    if (inInput && e.target.id === "query") { e.target.value ? (e.target.value = "", runSearch()) : e.target.blur(); }
    return;
  }
  const hits = ui.results?.hits ?? [];
  if (!hits.length) return;
  if (e.target.id === "query") {
    if (e.key === "ArrowDown" || e.key === "Enter") { e.preventDefault(); runSearchNowThen(() => select(0)); }
    return;
  }
  if (inInput) return;
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() }[e.key];
  if (step) {
    e.preventDefault();
    if (ui.selected < 0) select(0);
    else if (step < 0 && ui.selected + step < 0) $("query").focus();
    else select(ui.selected + step);
  } else if (e.key === "Enter" && ui.selected >= 0) {
    e.preventDefault();
    openPreview(ui.selected);
  }
}

/** Enter in the box searches at once (skipping the debounce), then moves into the results. */
async function runSearchNowThen(after) {
  if (debounceTimer) await runSearch();
  if (ui.results?.hits.length) after();
}

function toggleFolders(open) {
  const d = $("folders");
  d.hidden = open === undefined ? !d.hidden : !open;
  $("folders-button").setAttribute("aria-expanded", String(!d.hidden));
  if (!d.hidden) renderSkipped();
}

// ---------- start ----------
function wire() {
  $("query").addEventListener("input", () => { ui.similarTo = null; ui.showAll = false; scheduleSearch(); });
  for (const id of ["sort", "folder-filter", "from", "until"]) $(id).addEventListener("change", runSearch);
  $("folders-button").onclick = () => toggleFolders();
  $("close-folders").onclick = () => toggleFolders(false);
  $("pick-folder").onclick = pickAndAdd;
  $("rescan").onclick = () => startIndexing();
  $("add-path").onsubmit = (e) => {
    e.preventDefault();
    const path = $("folder-path").value.trim();
    if (path) { $("folder-path").value = ""; addFolder(path); }
  };
  $("skipped-box").addEventListener("toggle", renderSkipped);
  $("cancel-index").onclick = () => api.cancelIndex();
  $("close-preview").onclick = closePreview;
  $("preview").addEventListener("close", () => { $("preview-img").removeAttribute("src"); });
  $("preview").addEventListener("click", (e) => { if (e.target === $("preview")) closePreview(); });
  $("similar-button").onclick = findSimilar;
  $("open-button").onclick = () => { const h = currentHit(); if (h) api.openImage(h.id).catch((e) => toast(e.message)); };
  $("reveal-button").onclick = () => { const h = currentHit(); if (h) api.revealImage(h.id).catch((e) => toast(e.message)); };
  document.addEventListener("keydown", onKey);
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && ui.results && ui.rendered < ui.results.hits.length) renderMore();
  }, { rootMargin: "800px" }).observe($("more"));
  api.onFoldersAdded(async ({ added, errors }) => {
    for (const e of errors) toast(e.message);
    if (added.length) { await refreshStatus(); startIndexing(); }
  });
}

async function start() {
  wire();
  try {
    // Listen before asking, so the "ready" event cannot slip between the two.
    let markReady;
    const ready = new Promise((resolve) => { markReady = resolve; });
    await api.onLibraryReady(() => markReady());
    let s = await refreshStatus();
    if (s.loading) {
      await ready;
      s = await refreshStatus();
    }
    $("query").focus();
    // Catch up with changes made while the app was closed; search works meanwhile.
    if (s.indexing && s.progress) showProgress(s.progress);
    else if (s.library && s.library.folders.length) startIndexing();
  } catch (e) {
    showEmpty(`<h2>ClipStream could not start</h2><p>${escapeHtml(e.message)}</p>`, "error");
  }
}

start();

// The Folders drawer: the library's folders (by id), adding and removing them, skipped files.
// It redraws from each status answer and asks for indexing runs through the bus (indexing.js,
// beside it, tells it through the bus when a run has ended).
import * as api from "./api.js";
import { on, publish } from "./bus.js";
import { $, button, toast } from "./dom.js";
import { fileName, number, offlineText, wordsText } from "./format.js";
import { runSearch } from "./search.js";
import { refreshStatus } from "./status.js";

function renderFolders(status) {
  const lib = status.library;
  const list = $("folder-list");
  list.replaceChildren();
  const filter = $("folder-filter");
  const chosen = filter.value;
  filter.replaceChildren(new Option("All folders", ""));
  if (!lib) return;
  for (const f of lib.folders) {
    const li = document.createElement("li");
    li.dataset.id = f.id;
    li.classList.toggle("offline", !f.online);
    const name = document.createElement("div");
    name.className = "folder-name";
    name.textContent = f.path;
    const meta = document.createElement("div");
    meta.className = "folder-meta";
    meta.textContent = `${number(f.images)} photos · ${offlineText(f)}`;
    // New photos appear by themselves; where inotify cannot follow, say how instead and why.
    const watch = (status.watching || []).find((w) => w.folder_id === f.id);
    if (watch && !watch.polled) meta.textContent += " · watched: new photos appear by themselves";
    const note = document.createElement("div");
    note.className = "folder-watch";
    note.hidden = !watch?.polled;
    note.textContent = watch?.polled ? `Scanned periodically: ${watch.polled}` : "";
    const remove = button("Remove", "ghost small", async () => {
      if (!confirm(`Stop searching ${f.path}? Its photos leave the library (the files are not touched).`)) return;
      try { await api.removeFolder(f.id); await refreshStatus(); runSearch(); }
      catch (e) { toast(e.message); }
    });
    li.append(name, meta, note, remove);
    // Parts the last run could not read: their photos are kept, and said why.
    for (const part of f.unreadable) {
      const p = document.createElement("div");
      p.className = "folder-unreadable";
      p.textContent = `Not read: ${part.path} — ${part.reason} (its photos are kept)`;
      li.append(p);
    }
    list.append(li);
    filter.append(new Option(fileName(f.path) || f.path, String(f.id)));
  }
  filter.value = lib.folders.some((f) => String(f.id) === chosen) ? chosen : "";
  $("skipped-count").textContent = number(lib.skipped);
  $("library-info").textContent = `${number(lib.images)} photos · model ${status.model_id ?? "none"} · library ${lib.library}`;
  $("words-info").textContent = wordsText(lib.words);
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
    runSearch();
    publish("index");
  } catch (e) { toast(e.message); }
}

async function pickAndAdd() {
  try {
    if (!(await api.addPickedFolder())) return;
    await refreshStatus();
    runSearch();
    publish("index");
  } catch (e) { toast(e.message); }
}

async function retrySkipped() {
  try {
    await api.retrySkipped();
    await refreshStatus();
    renderSkipped();
    runSearch();
  } catch (e) { toast(e.message); }
}

export function toggleFolders(open) {
  const d = $("folders");
  d.hidden = open === undefined ? !d.hidden : !open;
  $("folders-button").setAttribute("aria-expanded", String(!d.hidden));
  if (!d.hidden) {
    publish("drawer", "folders"); // one drawer at a time
    renderSkipped();
  }
}

export const foldersOpen = () => !$("folders").hidden;

export function wireFolders() {
  on("status", renderFolders);
  on("pick-folder", pickAndAdd);
  on("run-ended", renderSkipped);
  on("drawer", (opened) => { if (opened !== "folders") toggleFolders(false); });
  $("folders-button").onclick = () => toggleFolders();
  $("close-folders").onclick = () => toggleFolders(false);
  $("pick-folder").onclick = pickAndAdd;
  $("rescan").onclick = () => publish("index");
  $("add-path").onsubmit = (e) => {
    e.preventDefault();
    const path = $("folder-path").value.trim();
    if (path) { $("folder-path").value = ""; addFolder(path); }
  };
  $("skipped-box").addEventListener("toggle", renderSkipped);
  $("retry-skipped").onclick = retrySkipped;
  api.onDriveChanged(async ({ connected }) => {
    toast(connected ? "A drive is back: bringing its folder up to date." : "A drive is not connected: its photos are kept, marked offline.");
    await refreshStatus();
  });
  api.onFoldersAdded(async ({ added, errors }) => {
    for (const e of errors) toast(e.message);
    if (added.length) { await refreshStatus(); runSearch(); publish("index"); }
  });
}

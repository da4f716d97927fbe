// The Duplicates drawer: groups of identical and near-identical photos from Rust, the suggested
// keeper first; the others go to the desktop's trash only on the user's word, group by group.
import * as api from "./api.js";
import { on, publish } from "./bus.js";
import { $, button, toast } from "./dom.js";
import { bytes, fileName, folderOf, number, takenText } from "./format.js";
import { runSearch } from "./search.js";
import { refreshStatus } from "./status.js";

async function render() {
  const list = $("duplicate-groups");
  $("duplicates-summary").textContent = "Looking for duplicates…";
  list.replaceChildren();
  let groups;
  try { groups = await api.duplicates(); }
  catch (e) { $("duplicates-summary").textContent = e.message; return; }
  const total = groups.reduce((s, g) => s + g.reclaimable, 0);
  $("duplicates-summary").textContent = groups.length
    ? `${number(groups.length)} group${groups.length === 1 ? "" : "s"} · ${bytes(total)} to free`
    : "No duplicates.";
  list.replaceChildren(...groups.map(groupItem));
}

function groupItem(g) {
  const li = document.createElement("li");
  li.className = "duplicate-group";
  li.dataset.kind = g.kind;
  const title = document.createElement("div");
  title.className = "group-title";
  title.textContent = `${g.kind === "identical" ? "Identical files" : "Near-identical photos"} · ${bytes(g.reclaimable)} to free`;
  const photos = document.createElement("div");
  photos.className = "group-photos";
  g.images.forEach((m, i) => photos.append(member(m, i === 0)));
  const why = document.createElement("div");
  why.className = "hint small";
  why.textContent = `Suggested to keep: ${g.keep_because}.`;
  const others = g.images.slice(1);
  const remove = button(`Move the other ${others.length === 1 ? "one" : number(others.length)} to the trash`, "ghost small trash-others", async () => {
    const names = others.map((m) => fileName(m.path)).join(", ");
    if (!confirm(`Move ${names} to the trash? You can restore from the trash; ${fileName(g.images[0].path)} stays.`)) return;
    try {
      const done = await api.trash(others.map((m) => m.id));
      if (done.failed.length) toast(`${done.failed.length} could not be moved: ${done.failed[0][1]}`);
      await refreshStatus();
      runSearch();
      render();
    } catch (e) { toast(e.message); }
  });
  li.append(title, photos, why, remove);
  return li;
}

function member(m, keep) {
  const figure = document.createElement("figure");
  figure.className = keep ? "member keep" : "member";
  figure.dataset.id = m.id;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.alt = fileName(m.path);
  img.src = api.thumbnailUrl(m.id);
  const caption = document.createElement("figcaption");
  caption.textContent = `${keep ? "Keep · " : ""}${m.width}×${m.height} · ${bytes(m.size)} · ${m.taken_at == null ? "no date" : takenText(m.taken_at)} · ${fileName(folderOf(m.path))}`;
  caption.title = m.path;
  figure.append(img, caption);
  return figure;
}

export function toggleDuplicates(open) {
  const d = $("duplicates");
  d.hidden = open === undefined ? !d.hidden : !open;
  $("duplicates-button").setAttribute("aria-expanded", String(!d.hidden));
  if (!d.hidden) {
    publish("drawer", "duplicates"); // one drawer at a time
    render();
  }
}

export function wireDuplicates() {
  on("drawer", (opened) => { if (opened !== "duplicates") toggleDuplicates(false); });
  $("duplicates-button").onclick = () => toggleDuplicates();
  $("close-duplicates").onclick = () => toggleDuplicates(false);
}

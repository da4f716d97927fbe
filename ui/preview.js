// The preview dialog: the photo large with its details; Open, Show in folder, Find similar.
import * as api from "./api.js";
import { on } from "./bus.js";
import { $, toast } from "./dom.js";
import { bytes, fileName, folderOf, markWords, queryWords, takenText } from "./format.js";
import { currentHit, hits, select } from "./results.js";
import { findSimilar } from "./search.js";

let showing = -1;

export const isOpen = () => $("preview").open;

export function openPreview(i) {
  const hit = hits()[i];
  if (!hit) return;
  showing = i;
  $("preview-img").src = api.previewUrl(hit.id);
  $("preview-img").alt = fileName(hit.path);
  $("preview-name").textContent = fileName(hit.path);
  $("preview-folder").textContent = folderOf(hit.path);
  $("preview-taken").textContent = takenText(hit.taken_at);
  $("preview-dims").textContent = `${hit.width} × ${hit.height} px`;
  // A RAW + JPEG pair is one photo: the RAW is named beside it.
  $("preview-file").textContent = `${hit.format.toUpperCase()}, ${bytes(hit.size)}${hit.twin ? ` · ${hit.twin.format.toUpperCase()} twin: ${fileName(hit.twin.path)}` : ""}`;
  $("preview-score").textContent = hit.score.toFixed(3);
  showWords(hit);
  // An offline photo shows its thumbnail; Open and Show in folder need its drive.
  $("preview-offline").hidden = !hit.offline;
  $("open-button").disabled = hit.offline;
  $("reveal-button").disabled = hit.offline;
  const d = $("preview");
  d.dataset.id = hit.id;
  if (!d.open) d.showModal();
}

/** A text hit's words: listed with the query's words marked, and boxed on the photo. */
function showWords(hit) {
  const lines = hit.text ?? [];
  $("preview-text-label").hidden = $("preview-text").hidden = lines.length === 0;
  const words = queryWords($("query").value);
  $("preview-text").innerHTML = lines.map((l) => markWords(l.text, words)).join("<br>");
  const svg = $("preview-words");
  svg.replaceChildren(...lines.map((l) => {
    const p = document.createElementNS(svg.namespaceURI, "polygon");
    p.setAttribute("points", l.box.map(([x, y]) => `${x},${y}`).join(" "));
    p.dataset.text = l.text;
    return p;
  }));
  placeWords();
}

/** Lay the boxes over the photo as shown: the image's content box (object-fit: contain). */
function placeWords() {
  const img = $("preview-img");
  const svg = $("preview-words");
  if (!img.naturalWidth || !svg.childElementCount) { svg.style.display = "none"; return; }
  const w = img.clientWidth, h = img.clientHeight;
  const scale = Math.min(w / img.naturalWidth, h / img.naturalHeight);
  const cw = img.naturalWidth * scale, ch = img.naturalHeight * scale;
  Object.assign(svg.style, {
    display: "block",
    left: `${img.offsetLeft + (w - cw) / 2}px`, top: `${img.offsetTop + (h - ch) / 2}px`,
    width: `${cw}px`, height: `${ch}px`,
  });
}

export function step(by) {
  openPreview(Math.max(0, Math.min(showing + by, hits().length - 1)));
}

export function closePreview() {
  const d = $("preview");
  if (d.open) d.close();
  if (showing >= 0) select(showing);
}

function shown() {
  return hits()[showing] ?? currentHit();
}

export function wirePreview() {
  on("preview", openPreview); // a tile clicked in the grid
  $("close-preview").onclick = closePreview;
  $("preview-img").addEventListener("load", placeWords);
  window.addEventListener("resize", placeWords);
  $("preview").addEventListener("close", () => { $("preview-img").removeAttribute("src"); });
  $("preview").addEventListener("click", (e) => { if (e.target === $("preview")) closePreview(); });
  $("similar-button").onclick = async () => {
    const hit = shown();
    if (!hit) return;
    closePreview();
    await findSimilar(hit);
    window.scrollTo({ top: 0 });
  };
  $("open-button").onclick = () => { const h = shown(); if (h) api.openImage(h.id).catch((e) => toast(e.message)); };
  $("reveal-button").onclick = () => { const h = shown(); if (h) api.revealImage(h.id).catch((e) => toast(e.message)); };
}

// The centre of the window when there are no results to show: loading, no model, a library that
// needs re-indexing, no folders, the start screen, nothing found, a query to fix.
import * as api from "./api.js";
import { $ } from "./dom.js";
import { escapeHtml, number } from "./format.js";
import { clearResults, dropChosen } from "./results.js";
import { pickAndAdd } from "./folders.js";
import { startIndexing } from "./indexing.js";
import { refreshStatus, status } from "./status.js";
import { runSearch, setQuery } from "./search.js";

export function showEmpty(html, kind) {
  const e = $("empty");
  e.innerHTML = html;
  e.dataset.kind = kind;
  e.hidden = false;
  clearResults();
  dropChosen();
}

export function hideEmpty() {
  $("empty").hidden = true;
  $("empty").dataset.kind = "";
}

function modelHelpHtml() {
  const where = (status().model_locations || []).map((p) => `<code>${escapeHtml(p)}</code>`).join(" or ");
  return `<p>ClipStream needs OpenAI's CLIP ViT-B/32 exported for ONNX Runtime (the files it uses come to about 530 MB,
    made once, on a machine that can reach huggingface.co). In the ClipStream source folder:</p>
    <pre>make setup
source scripts/env.sh && cd models && "$PY" -m clipstream_models export \\
    --source openai/clip-vit-base-patch32 --out ~/.local/share/clipstream/model</pre>
    <p>Then restart ClipStream. It looks for the model in ${where || "the data folder"}
    (or set <code>CLIPSTREAM_MODEL</code> to the folder holding <code>manifest.json</code>).
    Nothing leaves this computer: the model runs on your CPU.</p>`;
}

export function showModelHelp() {
  showEmpty(`<h2>Get the real CLIP model</h2>${modelHelpHtml()}
    <p><button id="back-to-demo" class="ghost">Back to the demo</button></p>`, "model-help");
  $("back-to-demo").onclick = () => runSearch();
}

/** What the window shows when searching cannot run yet; true if it showed something. */
export function showBlocker() {
  const s = status();
  if (!s) return true;
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
        catch (e) { showEmpty(`<h2>Re-indexing failed</h2><p>${escapeHtml(e.message)}</p>`, "error"); }
      };
    } else {
      showEmpty(`<h2>ClipStream cannot open its library</h2><p>${escapeHtml(s.error.message)}</p>`, "error");
    }
    return true;
  }
  if (s.library && s.library.folders.length === 0) {
    showEmpty(`<h2>Add a folder of photos</h2>
      <p>Drop a folder on this window, or pick one. ClipStream reads every photo in it once,
      on this computer, and then finds them by what is in them.</p>
      <p><button id="empty-add">Add folder…</button></p>`, "no-folders");
    $("empty-add").onclick = pickAndAdd;
    return true;
  }
  return false;
}

/** The start screen: how many photos, and example queries. */
export function showStart() {
  const s = status();
  const examples = s.mode === "demo"
    ? ["a red circle", "a small blue square on a yellow background", "a green triangle", "a purple star + a white background"]
    : ["dog on a beach at sunset", "birthday cake", "snowy mountains - people", "receipts and documents"];
  const count = s.library ? s.library.images : 0;
  showEmpty(`<h2>Search ${number(count)} photo${count === 1 ? "" : "s"}</h2>
    <p>Describe what you are looking for. Add <code>+ term</code> or <code>- term</code> to steer the results.</p>
    <p class="examples">${examples.map((q) => `<button class="chip" data-q="${escapeHtml(q)}">${escapeHtml(q)}</button>`).join("")}</p>`, "start");
  for (const chip of document.querySelectorAll(".chip")) {
    chip.onclick = () => setQuery(chip.dataset.q);
  }
}

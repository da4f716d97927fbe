// The centre of the window when there are no results to show: loading, no model, a library that
// needs re-indexing, no folders, the start screen, nothing found, a query to fix. The lowest of
// the centre's modules (search.js and results.js call it): what its buttons ask of the modules
// above it (search, add a folder, index) goes through the bus.
import * as api from "./api.js";
import { publish } from "./bus.js";
import { $ } from "./dom.js";
import { escapeHtml, number } from "./format.js";
import { refreshStatus, status } from "./status.js";

export function showEmpty(html, kind) {
  const e = $("empty");
  e.innerHTML = html;
  e.dataset.kind = kind;
  e.hidden = false;
  publish("empty"); // the grid goes, and with it the choice
}

/** Whether the window shows the offer of the real model, which a person opened and reads. */
export function showingModelHelp() {
  return !$("empty").hidden && $("empty").dataset.kind === "model-help";
}

export function hideEmpty() {
  $("empty").hidden = true;
  $("empty").dataset.kind = "";
}

function modelHelpHtml() {
  const where = (status().model_locations || []).map((p) => `<code>${escapeHtml(p)}</code>`).join(" or ");
  return `<p>To search your own photos, ClipStream needs OpenAI's CLIP ViT-B/32. It is made ready once,
    on this computer, and then runs on your CPU: nothing about your photos leaves it.</p>
    <p class="model-actions">
      <button id="get-model">Get the CLIP model</button>
      <button id="import-model" class="ghost">Import a downloaded model folder…</button>
    </p>
    <p id="model-progress" hidden><progress id="model-bar"></progress> <span id="model-step"></span>
      <button id="cancel-model" class="ghost small">Cancel</button></p>
    <p id="model-result" hidden></p>
    <details><summary>Other ways</summary>
    <p>A clone of the hub repository <code>huggingface.co/openai/clip-vit-base-patch32</code> (or its
    config.json, model.safetensors, vocab.json and merges.txt) can be imported with the button above or
    <code>clipstream model import FOLDER</code>; <code>clipstream model get</code> downloads it.
    ClipStream looks for the model in ${where || "the data folder"} (or set <code>CLIPSTREAM_MODEL</code>).</p>
    </details>`;
}

/** The buttons of modelHelpHtml: both run in the app (Rust); the window only shows progress. */
async function wireModelButtons() {
  const offer = await api.modelOffer().catch(() => null);
  if (offer && $("get-model")) {
    const source = offer.source.replace(/^https?:\/\//, "");
    $("get-model").textContent = `Get the CLIP model (${number(offer.megabytes)} MB, from ${source})`;
  }
  const progress = $("model-progress"), result = $("model-result");
  const busy = (on) => {
    $("get-model").disabled = on;
    $("import-model").disabled = on;
    progress.hidden = !on;
    $("cancel-model").hidden = !on;
  };
  const unlisten = await api.onModelProgress((p) => {
    if (!$("model-step")) return;
    $("model-step").textContent = p.total ? `${p.step}: ${number(Math.round(p.done / 1e6))} of ${number(Math.round(p.total / 1e6))} MB` : `${p.step}…`;
    const bar = $("model-bar");
    if (p.total) { bar.max = p.total; bar.value = p.done; } else { bar.removeAttribute("value"); }
  });
  const run = async (start, canCancel) => {
    busy(true);
    $("cancel-model").hidden = !canCancel;
    result.hidden = true;
    try {
      const ready = await start();
      if (!ready) return;
      result.innerHTML = `The model <b>${escapeHtml(ready.model_id)}</b> is ready.
        <button id="switch-model">Switch to it</button>`;
      result.hidden = false;
      $("switch-model").onclick = () => api.restart();
    } catch (e) {
      result.textContent = e.code === "cancelled" ? "Stopped. Press the button again to resume the download." : e.message;
      result.hidden = false;
    } finally {
      busy(false);
    }
  };
  $("get-model").onclick = () => run(api.getModel, true);
  $("import-model").onclick = () => run(api.importModel, true);
  $("cancel-model").onclick = () => api.cancelModel();
  const observer = new MutationObserver(() => {
    if (!document.body.contains(progress)) { unlisten(); observer.disconnect(); }
  });
  observer.observe($("empty"), { childList: true });
}

export function showModelHelp() {
  showEmpty(`<h2>Get the real CLIP model</h2>${modelHelpHtml()}
    <p><button id="back-to-demo" class="ghost">Back to the demo</button></p>`, "model-help");
  $("back-to-demo").onclick = () => publish("search");
  wireModelButtons();
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
    wireModelButtons();
    return true;
  }
  if (s.error) {
    if (s.error.code === "model_mismatch") {
      showEmpty(`<h2>This library was indexed with another model</h2>
        <p>${escapeHtml(s.error.message)}</p>
        <p>Re-indexing reads every photo again with the current model; your folders are kept.</p>
        <p><button id="reindex">Re-index with this model</button></p>`, "model-mismatch");
      $("reindex").onclick = async () => {
        try { await api.reindexLibrary(); await refreshStatus(); publish("index"); }
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
    $("empty-add").onclick = () => publish("pick-folder");
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
    chip.onclick = () => publish("query", chip.dataset.q);
  }
}

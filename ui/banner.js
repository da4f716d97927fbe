// The banner above the results: what the app's status says the user should know now (the demo's
// test model, the search index being prepared, new photos slowed by the watch limit).
import { on } from "./bus.js";
import { $ } from "./dom.js";
import { showModelHelp } from "./empty.js";
import { refreshStatus } from "./status.js";

/** Redraw the banner from each status answer. */
export function wireBanner() {
  on("status", renderBanner);
}

let buildPoll = null;

function renderBanner(current) {
  const b = $("banner");
  b.hidden = true;
  b.className = "banner";
  // A missing or stale search index is built in the background: say how far, ask again soon.
  const build = current.library?.index_build;
  clearTimeout(buildPoll);
  if (build && current.mode !== "demo") {
    b.hidden = false;
    if (build.failed) {
      b.classList.add("warning");
      b.textContent = `Fast search could not be prepared (${build.failed}). Searching still works, more slowly.`;
      return;
    }
    const percent = build.total ? Math.floor((100 * build.done) / build.total) : 0;
    b.textContent = `Preparing fast search: ${percent}% of ${build.total.toLocaleString()} photos. `
      + "Searching works meanwhile, a little more slowly.";
    buildPoll = setTimeout(refreshStatus, 1000);
    return;
  }
  // Past the system's watch limit new photos show up only at the next periodic scan: say so.
  const limited = (current.watching || []).find((w) => w.polled && w.polled.includes("max_user_watches"));
  if (limited && current.mode !== "demo") {
    b.hidden = false;
    b.classList.add("warning");
    b.textContent = `New photos may take a minute to appear: ${limited.polled}`;
    return;
  }
  if (current.mode === "demo") {
    $("query").placeholder = "Search the demo shapes — try “a red circle”";
    b.hidden = false;
    b.classList.add("demo");
    b.innerHTML = `<strong>Demo</strong> — running on the bundled <em>test model</em>, which only knows
      coloured shapes (try “a red circle” or “a small blue square on a yellow background”).
      It cannot understand your photos. <a href="#" id="how-real">How to get the real CLIP model</a>`;
    $("how-real").onclick = (e) => { e.preventDefault(); showModelHelp(); };
  }
}

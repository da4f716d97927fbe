// The app's status (mode, model, library, folders, indexing), fetched from Rust; the banner.
import * as api from "./api.js";
import { $ } from "./dom.js";
import { latest } from "./latest.js";
import { renderFolders } from "./folders.js";
import { showModelHelp } from "./empty.js";

let current = null;
const requests = latest();

/** The last status answer (null before the first). */
export const status = () => current;

/** Ask again and redraw what depends on it (banner, folders); never the results. */
export async function refreshStatus() {
  const ticket = requests.next();
  const answer = await api.status();
  if (!requests.isLatest(ticket)) return current; // a newer answer is on its way
  current = answer;
  renderBanner();
  renderFolders(current);
  return current;
}

function renderBanner() {
  const b = $("banner");
  b.hidden = true;
  b.className = "banner";
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

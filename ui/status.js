// The app's status (mode, model, library, folders, indexing), fetched from Rust and kept here:
// the one piece of state most of the window reads. Each answer is published on the bus
// ("status"): the banner and the Folders drawer redraw from it. Nothing here draws, so every
// module can import this one without it importing them back.
import * as api from "./api.js";
import { publish } from "./bus.js";
import { latest } from "./latest.js";

let current = null;
const requests = latest();

/** The last status answer (null before the first). */
export const status = () => current;

let newest = null;

/** Ask again and redraw what depends on it (banner, folders); never the results. Resolves with
 * the newest answer: a call overtaken by a later one waits for that one rather than handing back
 * an older status (a start-up "loading" once stuck the window that way). */
export function refreshStatus() {
  const ticket = requests.next();
  newest = (async () => {
    const answer = await api.status();
    if (!requests.isLatest(ticket)) return newest; // a newer answer is on its way
    current = answer;
    publish("status", current);
    return current;
  })();
  return newest;
}

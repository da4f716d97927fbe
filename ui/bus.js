// How the window's modules reach one another without importing one another back. Imports run one
// way only (app.js says in which order); when a module must reach one above it or beside it (a
// button in the empty state that adds a folder, a tile that opens the preview) it publishes a
// topic here and the module whose job it is listens. Pure: no DOM, no Tauri.

// Every topic, what it carries, and who publishes it → who listens. A topic not listed here is
// refused, so a misspelt one fails at once instead of reaching nobody.
const TOPICS = [
  "status",        // the app's status, after each answer: status.js → banner.js, folders.js
  "empty",         // an empty state took the centre: empty.js → results.js (grid and choice go)
  "search",        // draw the centre again for what the box asks: empty.js → search.js
  "query",         // search for this text (an example): empty.js → search.js
  "show-all",      // true: lift the relevance cutoff, false: put it back: results.js → search.js
  "leave-similar", // back from "similar" to the typed search: results.js → search.js
  "preview",       // open the preview on this tile (its index): results.js → preview.js
  "index",         // start an indexing run (or follow the one going): empty.js, folders.js → indexing.js
  "pick-folder",   // ask for a folder and add it: empty.js → folders.js
  "run-ended",     // a run ended, its skipped files may have changed: indexing.js → folders.js
  "drawer",        // this drawer ("folders", "duplicates") opened: folders.js, duplicates.js → both,
                   // so the other one closes
];

const listeners = new Map(TOPICS.map((topic) => [topic, []]));

function listenersOf(topic) {
  const list = listeners.get(topic);
  if (!list) throw new Error(`no topic "${topic}" on the bus (ui/bus.js lists them)`);
  return list;
}

/** Call `handler(payload)` each time `topic` is published, after the handlers already there. */
export function on(topic, handler) {
  listenersOf(topic).push(handler);
}

/** Hand `payload` to every listener of `topic` in turn, before returning (what they start
 * asynchronously goes on after). */
export function publish(topic, payload) {
  for (const handler of listenersOf(topic)) handler(payload);
}

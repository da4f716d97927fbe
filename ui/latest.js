// "Latest wins": requests are numbered as they are sent, and an answer is used only if no newer
// request was sent meanwhile. Older answers are never drawn over newer ones.

export function latest() {
  let sent = 0;
  return {
    /** Number a new request. */
    next: () => ++sent,
    /** Whether `ticket` is still the newest request. */
    isLatest: (ticket) => ticket === sent,
  };
}

/** Whether two lists of results show the same photos, in the same order, with the same scores:
 * then a refresh leaves the grid as it is (focus, scroll and choice stay). */
export function sameHits(a, b) {
  return a.length === b.length
    && a.every((h, i) => h.id === b[i].id && h.score === b[i].score && (h.twin?.id ?? null) === (b[i].twin?.id ?? null));
}

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

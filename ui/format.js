// Pure text formatting for the window: numbers, sizes, dates, progress and run summaries.
// No DOM and no Tauri here, so `node --test tests/ui` checks all of it.

/** A count as the reader writes it ("1,234" in English, "1.234" in German): the system's locale,
 * unless `locale` names one (the tests do, to be the same on every machine). */
export const number = (n, locale) => Number(n).toLocaleString(locale);
export const fileName = (p) => p.split("/").pop();
export const folderOf = (p) => p.slice(0, Math.max(1, p.lastIndexOf("/")));

export function bytes(n) {
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** taken_at is the camera's local time stored as if UTC: shown in UTC it comes back unchanged. */
export function takenText(t) {
  if (t == null) return "unknown (no EXIF date)";
  return new Date(t * 1000).toLocaleString(undefined, { timeZone: "UTC", dateStyle: "medium", timeStyle: "short" });
}

/** A number per calendar month (UTC, as the catalog stores dates); -1 for undated. Cheap, unlike
 * `monthLabel`, so the grid can group 100k photos with it. */
export function monthKey(t) {
  if (t == null) return -1;
  const d = new Date(t * 1000);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

/** The month heading a photo is grouped under while browsing ("May 2023"; undated: "Date unknown"). */
export function monthLabel(t) {
  if (t == null) return "Date unknown";
  return new Date(t * 1000).toLocaleString("en", { timeZone: "UTC", month: "long", year: "numeric" });
}

export function duration(s) {
  if (s == null || !isFinite(s)) return "";
  if (s < 60) return `about ${Math.max(1, Math.round(s))} s left`;
  if (s < 3600) return `about ${Math.round(s / 60)} min left`;
  return `about ${(s / 3600).toFixed(1)} h left`;
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

/** One character as a search and a photo's text are compared: lower-cased, Greek's final sigma
 * as σ (so a word matches wherever it ends). */
function foldChar(ch) {
  return ch.toLowerCase().replace(/ς/g, "σ");
}

/** `s` folded a character at a time (see `foldChar`). */
function fold(s) {
  return Array.from(s, foldChar).join("");
}

/** The pieces of a search worth marking in a photo's text: quoted parts, and words of three
 * letters or more (two in Chinese or Japanese), folded (see `foldChar`). */
export function queryWords(query) {
  const out = [];
  const add = (w) => { w = fold(w.trim()); if (w && !out.includes(w)) out.push(w); };
  String(query).split('"').forEach((part, i) => {
    if (i % 2 === 1) { add(part); return; }
    for (const w of part.split(/[^\p{L}\p{N}]+/u)) {
      if (w.length >= 3 || (w.length >= 2 && /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/u.test(w))) add(w);
    }
  });
  return out;
}

/** `text` as HTML with each of `words` (as `queryWords` gives them) marked wherever it occurs,
 * case aside. */
export function markWords(text, words) {
  text = String(text);
  // Folded a character at a time, each folded unit remembering the character it came from:
  // folding can lengthen the text ("İ" lower-cases to two units), and the marks go on the text.
  let folded = "";
  const source = []; // for each unit of `folded`: where its character starts and ends in `text`
  for (let i = 0; i < text.length;) {
    const ch = String.fromCodePoint(text.codePointAt(i));
    const f = foldChar(ch);
    for (let k = 0; k < f.length; k++) source.push([i, i + ch.length]);
    folded += f;
    i += ch.length;
  }
  const marked = new Array(text.length).fill(false);
  for (const w of words) {
    for (let at = folded.indexOf(w); at >= 0 && w; at = folded.indexOf(w, at + 1)) {
      for (let j = at; j < at + w.length; j++) {
        const [start, end] = source[j];
        for (let i = start; i < end; i++) marked[i] = true;
      }
    }
  }
  let html = "";
  let open = false;
  for (let i = 0; i < text.length; i++) {
    if (marked[i] !== open) { html += marked[i] ? "<mark>" : "</mark>"; open = marked[i]; }
    html += escapeHtml(text[i]);
  }
  return html + (open ? "</mark>" : "");
}

/** Where reading the words in photos stands, for the Folders drawer. */
export function wordsText(words) {
  if (!words?.models) return "Words in photos: not read (no OCR models installed)";
  return `Words in photos: ${number(words.read)} of ${number(words.total)} photos read · ${words.reader}`;
}

/** The reading of the words in photos, in a line: null when there is nothing to say. */
export function wordsLine(progress) {
  if (!progress || progress.phase !== "reading_words" || progress.to_process === 0) return null;
  const left = Math.max(0, progress.to_process - progress.done);
  const eta = progress.eta_s != null && progress.done > 0 ? ` · ${duration(progress.eta_s)}` : "";
  return `Reading the words in photos: ${number(progress.done)} of ${number(progress.to_process)} (${number(left)} left)${eta}`;
}

/** The indexing strip for one progress report: {title, detail, value, max} (value null: busy). */
export function progressView(p) {
  if (p.phase === "waiting") {
    return {
      title: "Waiting",
      detail: `${p.waiting_for} is updating this library; indexing starts when it finishes`,
      value: null, max: 1,
    };
  }
  if (p.phase === "discovering") {
    return { title: "Looking for photos", detail: `${number(p.found)} found`, value: null, max: 1 };
  }
  const parts = [`${number(p.done)} of ${number(p.to_process)}`];
  if (p.images_per_s > 0) parts.push(`${p.images_per_s.toFixed(1)} images/s`);
  if (p.phase !== "done" && p.eta_s != null) parts.push(duration(p.eta_s));
  if (p.skipped) parts.push(`${number(p.skipped)} skipped`);
  return {
    title: p.phase === "done" ? "Up to date" : "Indexing",
    detail: parts.join(" · "),
    value: p.done,
    max: Math.max(1, p.to_process),
  };
}

/** A folder's state in words: online, or offline since when and why (its photos are kept). */
export function offlineText(f) {
  if (f.online) return "online";
  const since = f.offline?.since ? ` since ${new Date(f.offline.since * 1000).toLocaleString()}` : "";
  return `offline${since}: ${f.offline?.reason ?? "not connected"} — its photos are kept and still found`;
}

/** What a finished run did, in one line. */
export function reportSummary(report) {
  const bits = [];
  if (report.added) bits.push(`${number(report.added)} added`);
  if (report.updated) bits.push(`${number(report.updated)} changed`);
  if (report.moved) bits.push(`${number(report.moved)} moved`);
  if (report.copied) bits.push(`${number(report.copied)} copies`);
  if (report.removed) bits.push(`${number(report.removed)} removed`);
  if (report.skipped_total) bits.push(`${number(report.skipped_total)} skipped (see Folders)`);
  if (report.offline.length) bits.push(`${report.offline.length} offline (photos kept)`);
  if (report.not_read) bits.push(`${number(report.not_read)} not read now`);
  if (!bits.length) bits.push("no changes");
  return bits.join(" · ");
}

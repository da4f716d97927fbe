// The window's pure modules, under Node's own test runner: `node --test tests/ui`.
import { test } from "node:test";
import assert from "node:assert/strict";

import { bytes, duration, escapeHtml, fileName, folderOf, markWords, monthLabel, number, offlineText, progressView, queryWords, reportSummary, takenText, wordsLine } from "../../ui/format.js";
import { latest, sameHits } from "../../ui/latest.js";
import { ALL_LIMIT, searchOptions } from "../../ui/options.js";
import { on, publish } from "../../ui/bus.js";

test("sizes, names and numbers", () => {
  assert.equal(bytes(512), "512 B");
  assert.equal(bytes(1536), "1.5 KB");
  assert.equal(bytes(5 * 1024 * 1024), "5.0 MB");
  assert.equal(fileName("/a/b/c.jpg"), "c.jpg");
  assert.equal(folderOf("/a/b/c.jpg"), "/a/b");
  assert.equal(folderOf("/c.jpg"), "/");
});

test("counts are grouped as the reader's locale writes them", () => {
  // Pinned locales: the default is the machine's (LANG), which a test cannot choose.
  assert.equal(number(0, "en-US"), "0");
  assert.equal(number(999, "en-US"), "999");
  assert.equal(number(1234, "en-US"), "1,234");
  assert.equal(number(1234567, "en-US"), "1,234,567");
  assert.equal(number("301", "en-US"), "301");
  assert.equal(number(1234567, "de-DE"), "1.234.567");
});

test("a camera's local time comes back as it was written", () => {
  // 2021-06-15 23:59:59 stored as if UTC.
  const text = takenText(Date.UTC(2021, 5, 15, 23, 59, 59) / 1000);
  assert.match(text, /2021/);
  assert.match(text, /23:59|11:59/, text);
  assert.equal(takenText(null), "unknown (no EXIF date)");
});

test("time left", () => {
  assert.equal(duration(0.2), "about 1 s left");
  assert.equal(duration(125), "about 2 min left");
  assert.equal(duration(5400), "about 1.5 h left");
  assert.equal(duration(null), "");
});

test("HTML is escaped", () => {
  assert.equal(escapeHtml(`<img src=x onerror="a('b')">&`), "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;");
});

test("the indexing strip for each phase", () => {
  const waiting = progressView({ phase: "waiting", waiting_for: "another ClipStream process (clipstream, pid 7)" });
  assert.equal(waiting.title, "Waiting");
  assert.match(waiting.detail, /pid 7\) is updating this library/);
  assert.equal(waiting.value, null);
  assert.deepEqual(progressView({ phase: "discovering", found: 1200 }), { title: "Looking for photos", detail: `${number(1200)} found`, value: null, max: 1 });
  const running = progressView({ phase: "indexing", done: 40, to_process: 100, images_per_s: 8, eta_s: 7.5, skipped: 2 });
  assert.deepEqual(running, { title: "Indexing", detail: "40 of 100 · 8.0 images/s · about 8 s left · 2 skipped", value: 40, max: 100 });
  const done = progressView({ phase: "done", done: 100, to_process: 100, images_per_s: 8, eta_s: 0, skipped: 0 });
  assert.equal(done.title, "Up to date");
  assert.equal(done.detail, "100 of 100 · 8.0 images/s");
});

test("a run's summary", () => {
  const base = { added: 0, updated: 0, moved: 0, copied: 0, removed: 0, skipped_total: 0, offline: [], not_read: 0 };
  assert.equal(reportSummary(base), "no changes");
  assert.equal(reportSummary({ ...base, added: 300, copied: 2, skipped_total: 1 }), "300 added · 2 copies · 1 skipped (see Folders)");
  assert.equal(reportSummary({ ...base, removed: 3, offline: [["/media/x", "missing"]] }), "3 removed · 1 offline (photos kept)");
  assert.equal(reportSummary({ ...base, not_read: 2 }), "2 not read now");
});

test("a folder's state says whether its photos are there, and that they are kept", () => {
  assert.equal(offlineText({ online: true, offline: null }), "online");
  const text = offlineText({ online: false, offline: { reason: "not mounted", since: null } });
  assert.equal(text, "offline: not mounted — its photos are kept and still found");
  const dated = offlineText({ online: false, offline: { reason: "missing", since: 1764662400 } });
  assert.match(dated, /^offline since .+: missing — its photos are kept/);
});

test("only the newest request's answer counts", () => {
  const seq = latest();
  const first = seq.next();
  assert.ok(seq.isLatest(first));
  const second = seq.next();
  assert.ok(!seq.isLatest(first), "an older answer is dropped");
  assert.ok(seq.isLatest(second));
});

test("search options from the controls", () => {
  assert.deepEqual(searchOptions({ showAll: false, sort: "relevance", folderId: "", from: "", to: "" }), {
    format: null, all: false, limit: undefined, sortByDate: false, folderId: null, takenFrom: null, takenTo: null,
  });
  assert.deepEqual(searchOptions({ showAll: true, sort: "date", folderId: "3", from: "2024-01-01", to: "2024-01-31", format: "heic" }), {
    format: "heic", all: true, limit: ALL_LIMIT, sortByDate: true, folderId: 3, takenFrom: "2024-01-01", takenTo: "2024-01-31",
  });
});

test("browsing groups photos by the month on the camera's clock", () => {
  // The last second of May (camera time, stored as if UTC) is still May in every time zone.
  assert.equal(monthLabel(Date.UTC(2023, 4, 31, 23, 59, 59) / 1000), "May 2023");
  assert.equal(monthLabel(Date.UTC(2024, 0, 1, 0, 0, 0) / 1000), "January 2024");
  assert.equal(monthLabel(null), "Date unknown");
});

test("a refresh with the same photos, order and scores is the same answer", () => {
  const a = [{ id: 1, score: 0.5 }, { id: 2, score: 0.4, twin: { id: 9 } }];
  assert.equal(sameHits(a, a.map((h) => ({ ...h }))), true);
  assert.equal(sameHits(a, [a[1], a[0]]), false);
  assert.equal(sameHits(a, [a[0], { ...a[1], score: 0.41 }]), false);
  assert.equal(sameHits(a, [a[0], { ...a[1], twin: null }]), false);
  assert.equal(sameHits(a, a.slice(0, 1)), false);
});

test("the bus hands each payload to every listener, in the order they subscribed", () => {
  const heard = [];
  on("drawer", (name) => heard.push(`first ${name}`));
  on("drawer", (name) => heard.push(`second ${name}`));
  publish("drawer", "folders");
  publish("drawer", "duplicates");
  assert.deepEqual(heard, ["first folders", "second folders", "first duplicates", "second duplicates"]);
  // A misspelt topic would reach nobody: it is refused instead.
  assert.throws(() => publish("drawers", "folders"), /no topic "drawers"/);
  assert.throws(() => on("serach", () => {}), /no topic "serach"/);
});

test("a search's words are marked in a photo's text, case aside, escaped", () => {
  const words = queryWords('router "WiFi Password" a 你好 at');
  assert.deepEqual(words, ["router", "wifi password", "你好"]);
  assert.equal(markWords("WiFi password: <x>", words), "<mark>WiFi password</mark>: &lt;x&gt;");
  assert.equal(markWords("Router router", ["router"]), "<mark>Router</mark> <mark>router</mark>");
  assert.equal(markWords("no match", words), "no match");
});

test("marks land on the letters that matched when lower-casing lengthens the text", () => {
  // "İ" lower-cases to two code units ("i" and a combining dot): the marks must not shift.
  assert.equal(markWords("İstanbul street", ["street"]), "İstanbul <mark>street</mark>");
  assert.equal(markWords("İİ street İ", queryWords("STREET")), "İİ <mark>street</mark> İ");
  // A letter outside the basic plane (two code units) is marked whole.
  assert.equal(markWords("𝐀 sign", ["sign"]), "𝐀 <mark>sign</mark>");
  // Greek's final sigma: the query and the text are folded alike, wherever the word ends.
  assert.equal(markWords("ΟΔΟΣ ΑΘΗΝΑΣ", queryWords("οδοσ")), "<mark>ΟΔΟΣ</mark> ΑΘΗΝΑΣ");
  assert.equal(markWords("ΟΔΟΣΑΘ", queryWords("οδος")), "<mark>ΟΔΟΣ</mark>ΑΘ");
});

test("the words line says how many photos are read and left", () => {
  assert.equal(wordsLine(null), null);
  assert.equal(wordsLine({ phase: "indexing", done: 1, to_process: 2 }), null);
  const line = wordsLine({ phase: "reading_words", done: 1200, to_process: 5000, eta_s: null });
  assert.match(line, /1,200 of 5,000 \(3,800 left\)/);
});

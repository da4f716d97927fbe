// The virtualized grid's row layout (ui/layout.js), under `node --test tests/ui`.
import { test } from "node:test";
import assert from "node:assert/strict";

import { monthKey } from "../../ui/format.js";
import {
  GAP, MONTH_HEIGHT, columnsFor, extendRows, placeRows, rowOfTile, rowsBetween, tileAcross, tileSizeFor,
} from "../../ui/layout.js";

const day = 86400;
const june = Date.UTC(2021, 5, 15) / 1000;
const may = Date.UTC(2021, 4, 2) / 1000;
const byMonth = (h) => monthKey(h.taken_at);
const noMonths = () => null;

test("tiles fit the width, never fewer than one column", () => {
  assert.equal(columnsFor(100), 1);
  assert.equal(columnsFor(170), 1);
  assert.equal(columnsFor(350), 2);
  assert.equal(columnsFor(1280), 7);
  const size = tileSizeFor(1280, 7);
  assert.ok(Math.abs(size * 7 + GAP * 6 - 1280) < 1e-9);
});

test("months are keyed on the camera's clock, undated photos apart", () => {
  assert.equal(monthKey(june), monthKey(june + 14 * day));
  assert.notEqual(monthKey(june), monthKey(may));
  assert.equal(monthKey(Date.UTC(2021, 5, 30, 23, 59, 59) / 1000), monthKey(june));
  assert.equal(monthKey(null), -1);
});

test("search results are rows of full width, no headings", () => {
  const hits = Array.from({ length: 10 }, () => ({}));
  const rows = extendRows([], hits, 4, noMonths);
  assert.deepEqual(rows, [{ from: 0, to: 4 }, { from: 4, to: 8 }, { from: 8, to: 10 }]);
});

test("a month with more photos than a row starts its own rows under its heading", () => {
  const hits = [june, june, june, may, may, null].map((taken_at) => ({ taken_at }));
  const rows = extendRows([], hits, 2, byMonth);
  assert.deepEqual(rows, [
    { from: 0, to: 2, heads: [{ key: monthKey(june), first: 0 }] }, { from: 2, to: 3 },
    { from: 3, to: 5, heads: [{ key: monthKey(may), first: 3 }] },
    { from: 5, to: 6, heads: [{ key: -1, first: 5 }] },
  ]);
});

/** Hits of consecutive months, newest first: `sizes[k]` photos in the k-th month back from June
 * 2021 (null: undated, last). */
function monthsOf(sizes) {
  const hits = [];
  sizes.forEach((n, k) => {
    const taken_at = n == null ? null : Date.UTC(2021, 5 - k, 15) / 1000;
    for (let i = 0; i < (n ?? 3); i++) hits.push({ taken_at });
  });
  return hits;
}
const headsOf = (rows) => rows.map((r) => (r.heads ?? []).map((h) => h.first));

test("small months share a row side by side, each under its heading, and wrap when it is full", () => {
  // Months of 1, 2, 1, 3, 1 photos, 4 to a row: [1 2 1] [3 1]; a sparse library reads as rows.
  const hits = monthsOf([1, 2, 1, 3, 1]);
  const rows = extendRows([], hits, 4, byMonth);
  assert.deepEqual(rows.map((r) => [r.from, r.to]), [[0, 4], [4, 8]]);
  assert.deepEqual(headsOf(rows), [[0, 1, 3], [4, 7]]);
  assert.deepEqual(rows.flatMap((r) => r.heads.map((h) => h.key)), [...new Set(hits.map(byMonth))]);
  // A month that exactly fills a row shares it with none; the next starts the row below.
  assert.deepEqual(headsOf(extendRows([], monthsOf([1, 4, 2]), 4, byMonth)), [[0], [1], [5]]);
});

test("a big month fills full rows, not shared with the months before or after it", () => {
  // 1 photo, then 9 (more than a row of 4), then 1 and 2: the big month's last row is its own.
  const rows = extendRows([], monthsOf([1, 9, 1, 2]), 4, byMonth);
  assert.deepEqual(rows.map((r) => [r.from, r.to]), [[0, 1], [1, 5], [5, 9], [9, 10], [10, 13]]);
  assert.deepEqual(headsOf(rows), [[0], [1], [], [], [10, 11]]);
});

test("rows are placed one under the other, taller where headings are, found by position and tile", () => {
  // Rows of 2: [June 1 · May 1] [April 3 →] [April] [undated 2]
  const hits = monthsOf([1, 1, 3, null]).slice(0, 7);
  const rows = extendRows([], hits, 2, byMonth);
  assert.deepEqual(rows.map((r) => [r.from, r.to]), [[0, 2], [2, 4], [4, 5], [5, 7]]);
  const height = placeRows(rows, 100);
  const plain = 100 + GAP;
  const headed = MONTH_HEIGHT + plain;
  assert.deepEqual(rows.map((r) => r.height), [headed, headed, plain, headed]);
  assert.deepEqual(rows.map((r) => r.top), [0, headed, 2 * headed, 2 * headed + plain]);
  assert.equal(height, 3 * headed + plain);
  assert.deepEqual(rowsBetween(rows, 0, 1), [0, 1]);
  assert.deepEqual(rowsBetween(rows, headed - 1, headed + 1), [0, 2]);
  assert.deepEqual(rowsBetween(rows, 2 * headed, 2 * headed + plain), [2, 3]);
  assert.deepEqual(rowsBetween(rows, headed + 1, height), [1, 4]);
  assert.deepEqual(rowsBetween(rows, -500, -1), [0, 0]);
  assert.deepEqual(rowsBetween(rows, height + 10, height + 20), [4, 4]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => rowOfTile(rows, i)), [0, 0, 1, 1, 2, 3, 3]);
  assert.equal(rowOfTile(rows, 7), -1);
});

test("up and down go to the tile drawn above or below, in its column or the nearest before it", () => {
  // Rows of 4: [0 1 2 3] [4 5 6 7] [8 9 10 11] [12] [13 14]: months of 1 and 3, 9, 2.
  const rows = extendRows([], monthsOf([1, 3, 9, 2]).slice(0, 15), 4, byMonth);
  assert.deepEqual(rows.map((r) => [r.from, r.to]), [[0, 4], [4, 8], [8, 12], [12, 13], [13, 15]]);
  assert.equal(tileAcross(rows, 2, 1), 6);
  assert.equal(tileAcross(rows, 6, -1), 2);
  assert.equal(tileAcross(rows, 11, 1), 12); // the big month's last row holds one tile
  assert.equal(tileAcross(rows, 12, 1), 13);
  assert.equal(tileAcross(rows, 14, -1), 12);
  assert.equal(tileAcross(rows, 3, -1), -1); // the first row: nothing above
  assert.equal(tileAcross(rows, 14, 1), -1); // the last row: nothing below
});

test("a page added lays only the last row again, and gives the same rows as all at once", () => {
  const hits = Array.from({ length: 25 }, (_, i) => ({ taken_at: i < 13 ? june : may }));
  const whole = extendRows([], hits, 3, byMonth);
  for (const cut of [1, 5, 12, 13, 14, 24]) {
    const rows = extendRows([], hits.slice(0, cut), 3, byMonth);
    const kept = rows.slice(0, -1).map((r) => ({ ...r }));
    extendRows(rows, hits, 3, byMonth);
    assert.deepEqual(rows, whole, `cut at ${cut}`);
    assert.deepEqual(rows.slice(0, kept.length), kept, `rows before the last kept at ${cut}`);
  }
});

/** A library whose months hold 1 to 12 photos (mostly few), some undated at the end; seeded. */
function sparseLibrary(seed, months) {
  const random = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
  const sizes = Array.from({ length: months }, () => (random() < 0.8 ? 1 + Math.floor(random() * 3) : 4 + Math.floor(random() * 9)));
  return monthsOf([...sizes, null]);
}

test("sparse months: each heading once, in order, over its month; rows packed as tightly as they go", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const hits = sparseLibrary(seed, 60);
    const cols = 1 + (seed % 8);
    const rows = extendRows([], hits, cols, byMonth);
    const size = tileSizeFor(cols * 180, cols);
    const height = placeRows(rows, size);
    const months = [];
    const runs = new Map(); // month key → [first, end)
    hits.forEach((h, i) => {
      const key = byMonth(h);
      if (!runs.has(key)) { runs.set(key, [i, i + 1]); months.push(key); } else runs.get(key)[1] = i + 1;
    });
    // Headings: one a month, in the hits' order, at the month's first photo, in the row holding it.
    const heads = rows.flatMap((r) => r.heads ?? []);
    assert.deepEqual(heads.map((h) => h.key), months, `seed ${seed}`);
    for (const h of heads) assert.equal(h.first, runs.get(h.key)[0]);
    let top = 0;
    let next = 0;
    rows.forEach((row, r) => {
      // Tiles in order, none twice or missed, never more than a row holds.
      assert.equal(row.from, next);
      assert.ok(row.to > row.from && row.to - row.from <= cols);
      next = row.to;
      for (const h of row.heads ?? []) assert.ok(row.from <= h.first && h.first < row.to);
      // Each row under the one before; taller by a heading's height where months begin.
      assert.equal(row.top, top);
      assert.equal(row.height, (row.heads ? MONTH_HEIGHT : 0) + size + GAP);
      top += row.height;
      assert.deepEqual(rowsBetween(rows, row.top, row.top + 1), [r, r + 1]);
      for (const i of [row.from, row.to - 1]) assert.equal(rowOfTile(rows, i), r);
      // A row that continues a month (no heading at its start) holds that big month only.
      const [first, end] = runs.get(byMonth(hits[row.from]));
      if (row.from !== first) {
        assert.ok(end - first > cols && !row.heads, `seed ${seed}, row ${r}: a small month split`);
      }
      // A small month starts a new row only when the row before is full for it or is a big month's.
      if (row.from === first && end - first <= cols && r > 0) {
        const before = rows[r - 1];
        const [bFirst, bEnd] = runs.get(byMonth(hits[before.from]));
        const bigBefore = bEnd - bFirst > cols;
        assert.ok(bigBefore || before.to - before.from + (end - first) > cols, `seed ${seed}, row ${r}: could have shared`);
      }
    });
    assert.equal(next, hits.length);
    assert.equal(top, height);
  }
});

test("sparse months: pages added lay only the last row again, as if all had come at once", () => {
  for (let seed = 1; seed <= 10; seed++) {
    const hits = sparseLibrary(seed, 40);
    const cols = 2 + (seed % 6);
    const whole = extendRows([], hits, cols, byMonth);
    let rows = [];
    for (let cut = 1; cut <= hits.length; cut += 1 + (seed % 4)) {
      const kept = rows.slice(0, -1).map((r) => structuredClone(r));
      extendRows(rows, hits.slice(0, cut), cols, byMonth);
      assert.deepEqual(rows.slice(0, kept.length), kept, `seed ${seed}: rows before the last kept at ${cut}`);
    }
    extendRows(rows, hits, cols, byMonth);
    assert.deepEqual(rows, whole, `seed ${seed}`);
  }
});

test("every tile of a big library is in exactly one row", () => {
  const hits = Array.from({ length: 100_000 }, (_, i) => ({ taken_at: i % 7 === 0 ? null : june - Math.floor(i / 300) * 31 * day }));
  hits.sort((a, b) => (b.taken_at ?? -Infinity) - (a.taken_at ?? -Infinity));
  const rows = extendRows([], hits, 7, byMonth);
  placeRows(rows, 170);
  let next = 0;
  for (const row of rows) {
    assert.equal(row.from, next);
    assert.ok(row.to - row.from <= 7 && row.to > row.from);
    next = row.to;
  }
  assert.equal(next, hits.length);
  for (const i of [0, 1, 299, 300, 50_000, 99_999]) {
    const row = rows[rowOfTile(rows, i)];
    assert.ok(row.from <= i && i < row.to, `tile ${i}`);
  }
});

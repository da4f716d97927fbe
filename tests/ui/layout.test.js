// The virtualized grid's row layout (ui/layout.js), under `node --test tests/ui`.
import { test } from "node:test";
import assert from "node:assert/strict";

import { monthKey } from "../../ui/format.js";
import { GAP, MONTH_HEIGHT, columnsFor, extendRows, placeRows, rowOfTile, rowsBetween, tileSizeFor } from "../../ui/layout.js";

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

test("browsing starts a heading and a new row at each month", () => {
  const hits = [june, june, june, may, may, null].map((taken_at) => ({ taken_at }));
  const rows = extendRows([], hits, 2, byMonth);
  assert.deepEqual(rows, [
    { key: monthKey(june), first: 0 }, { from: 0, to: 2 }, { from: 2, to: 3 },
    { key: monthKey(may), first: 3 }, { from: 3, to: 5 },
    { key: -1, first: 5 }, { from: 5, to: 6 },
  ]);
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

test("rows are placed one under the other and found by position and by tile", () => {
  const hits = [june, june, june, may].map((taken_at) => ({ taken_at }));
  const rows = extendRows([], hits, 2, byMonth);
  const height = placeRows(rows, 100);
  const tileRow = 100 + GAP;
  assert.equal(height, 2 * MONTH_HEIGHT + 3 * tileRow);
  assert.deepEqual(rows.map((r) => r.top), [0, MONTH_HEIGHT, MONTH_HEIGHT + tileRow, MONTH_HEIGHT + 2 * tileRow, 2 * MONTH_HEIGHT + 2 * tileRow]);
  assert.deepEqual(rowsBetween(rows, 0, 1), [0, 1]);
  assert.deepEqual(rowsBetween(rows, MONTH_HEIGHT, MONTH_HEIGHT + 1), [1, 2]);
  assert.deepEqual(rowsBetween(rows, MONTH_HEIGHT + tileRow - 1, height), [1, 5]);
  assert.deepEqual(rowsBetween(rows, -500, -1), [0, 0]);
  assert.deepEqual(rowsBetween(rows, height + 10, height + 20), [5, 5]);
  assert.deepEqual([0, 1, 2, 3].map((i) => rowOfTile(rows, i)), [1, 1, 2, 4]);
  assert.equal(rowOfTile(rows, 4), -1);
});

test("every tile of a big library is in exactly one row", () => {
  const hits = Array.from({ length: 100_000 }, (_, i) => ({ taken_at: i % 7 === 0 ? null : june - Math.floor(i / 300) * 31 * day }));
  hits.sort((a, b) => (b.taken_at ?? -Infinity) - (a.taken_at ?? -Infinity));
  const rows = extendRows([], hits, 7, byMonth);
  placeRows(rows, 170);
  let next = 0;
  for (const row of rows) {
    if (row.from == null) continue;
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

// Where each row of the results grid goes. The grid is virtualized: only the rows near the screen
// are in the DOM (100k photos would otherwise be 100k tiles), so every row's place is computed
// here without drawing it. Pure; tested with `node --test tests/ui`.

export const TILE_MIN = 170; // px, the narrowest a tile gets
export const GAP = 10; // px between tiles and below each row
export const MONTH_HEIGHT = 44; // px, a month heading with its margins

/** How many tiles fit across `width` px. */
export function columnsFor(width) {
  return Math.max(1, Math.floor((width + GAP) / (TILE_MIN + GAP)));
}

/** The side of a square tile when `cols` share `width` px. */
export function tileSizeFor(width, cols) {
  return Math.max(1, (width - GAP * (cols - 1)) / cols);
}

/**
 * Extend `rows` (possibly empty) to cover every hit, `cols` tiles a row. `monthOf(hit)` returns a
 * month key while browsing (a heading row starts each month), or null for search results. The
 * last tile row is laid again, since new hits may fill it. Rows are `{key, first}` headings (`first`
 * the month's first hit) or `{from, to}` tile ranges; returns `rows`.
 */
export function extendRows(rows, hits, cols, monthOf) {
  let i = 0;
  let month;
  const last = rows[rows.length - 1];
  if (last && last.from != null) {
    rows.pop();
    i = last.from;
  }
  for (let r = rows.length - 1; r >= 0; r--) {
    if (rows[r].key !== undefined) { month = rows[r].key; break; }
  }
  while (i < hits.length) {
    const key = monthOf(hits[i]);
    if (key != null && key !== month) {
      rows.push({ key, first: i });
      month = key;
    }
    let j = i + 1;
    while (j < hits.length && j - i < cols && (key == null || monthOf(hits[j]) === key)) j++;
    rows.push({ from: i, to: j });
    i = j;
  }
  return rows;
}

/** Give every row its `top` and `height` for tiles of `size` px; returns the grid's height. */
export function placeRows(rows, size) {
  let top = 0;
  for (const row of rows) {
    row.top = top;
    row.height = row.from == null ? MONTH_HEIGHT : size + GAP;
    top += row.height;
  }
  return top;
}

/** The rows [a, b) that overlap the band [top, bottom) px (rows placed, sorted by top). */
export function rowsBetween(rows, top, bottom) {
  const a = firstRowEndingAfter(rows, top);
  let b = a;
  while (b < rows.length && rows[b].top < bottom) b++;
  return [a, b];
}

function firstRowEndingAfter(rows, y) {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].top + rows[mid].height <= y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The row holding tile `i`, or -1. */
export function rowOfTile(rows, i) {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const row = rows[mid];
    if (row.from == null) {
      // A heading: compare with the tile row after it (a heading is never last).
      const next = rows[mid + 1];
      if (!next || i < next.from) hi = mid - 1;
      else lo = mid + 1;
    } else if (i < row.from) hi = mid - 1;
    else if (i >= row.to) lo = mid + 1;
    else return mid;
  }
  return -1;
}

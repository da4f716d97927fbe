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
 * month key while browsing, or null for search results (no headings). Every row is a range of
 * tiles `{from, to}`; a row where months begin also has `heads`, `[{key, first}]` (`first` the
 * month's first hit, its column `first - from`), drawn as headings above its tiles.
 *
 * Months with no more photos than a row holds share rows, side by side in order, each under its
 * own heading (a library whose dates spread over years would otherwise show a heading and one
 * tile, month after month); a month with more starts its own rows, and the next month starts
 * below it. Only the last row is laid again as hits are added (the last month may grow, or turn
 * out to be too big to share); every row before it stays, as placed. Returns `rows`.
 */
export function extendRows(rows, hits, cols, monthOf) {
  let i = 0;
  const last = rows.pop();
  if (last) i = last.from;
  let open = null; // the row small months are being packed into
  while (i < hits.length) {
    const key = monthOf(hits[i]);
    let end = i + 1;
    while (end < hits.length && monthOf(hits[end]) === key) end++;
    // Laid again from a row that goes on with a big month (hits before `i` are of it) or search
    // results (one run, no heading): that run fills rows of its own.
    const starts = key != null && !(i > 0 && monthOf(hits[i - 1]) === key);
    if (starts && end - i <= cols) {
      if (open && open.to - open.from + (end - i) <= cols) {
        open.to = end;
        open.heads.push({ key, first: i });
      } else {
        open = { from: i, to: end, heads: [{ key, first: i }] };
        rows.push(open);
      }
    } else {
      open = null;
      for (let from = i; from < end; from += cols) {
        const row = { from, to: Math.min(end, from + cols) };
        if (starts && from === i) row.heads = [{ key, first: i }];
        rows.push(row);
      }
    }
    i = end;
  }
  return rows;
}

/** Give every row its `top` and `height` for tiles of `size` px; returns the grid's height. */
export function placeRows(rows, size) {
  let top = 0;
  for (const row of rows) {
    row.top = top;
    row.height = (row.heads ? MONTH_HEIGHT : 0) + size + GAP;
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
    if (i < rows[mid].from) hi = mid - 1;
    else if (i >= rows[mid].to) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The tile in the row above (`step` -1) or below (1) tile `i`, in its column or the nearest
 * before it (rows of shared months are not all full); -1 when there is no such row. */
export function tileAcross(rows, i, step) {
  const r = rowOfTile(rows, i);
  const next = r < 0 ? undefined : rows[r + step];
  if (!next) return -1;
  return Math.min(next.to - 1, next.from + (i - rows[r].from));
}

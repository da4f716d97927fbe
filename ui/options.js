// The search options the filters ask for, built from the controls' values. Pure: dates travel as
// the day strings the date inputs give ("YYYY-MM-DD", both days included); Rust checks them.

export const ALL_LIMIT = 5000; // "show all" returns at most this many

export function searchOptions({ showAll, sort, folderId, from, to, format }) {
  return {
    format: format || null,
    all: showAll,
    limit: showAll ? ALL_LIMIT : undefined,
    sortByDate: sort === "date",
    folderId: folderId ? Number(folderId) : null,
    takenFrom: from || null,
    takenTo: to || null,
  };
}

//! Which photos a search may return ([`Filters`]), and what memory holds per photo to tell
//! ([`Facts`]): its folder, format and date taken, 16 bytes a photo. Rows themselves stay in the
//! catalog and are read for the results shown.
//!
//! Ids are kept sorted (the catalog hands them out in increasing order and never twice), each
//! beside one [`Fact`]: the date as seconds from 2000-01-01 in an `i32` (1931 to 2068), the folder
//! as a `u16` and the format as an index into a short list of format names. The rare photo whose
//! date or folder does not fit is kept whole in `wide`.

use std::collections::{HashMap, HashSet};

use crate::{Error, Result};

/// 2000-01-01T00:00:00 as unix seconds: the middle of the dates a photo library holds.
const DATE_ORIGIN: i64 = 946_684_800;
/// Marks a photo with no date taken.
const UNDATED: i32 = i32::MIN;
/// Marks a photo whose date or folder is in `wide`.
const WIDE: u16 = u16::MAX;

/// One photo's filterable facts (8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fact {
    taken: i32,
    folder: u16,
    format: u8,
}

/// A photo's facts as the catalog has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    ids: Vec<i64>,
    facts: Vec<Fact>,
    /// Format names ("jpeg", "heic", ...), indexed by [`Fact::format`].
    formats: Vec<String>,
    /// Dates and folders that do not fit a [`Fact`], by id.
    wide: HashMap<i64, (Option<i64>, i64)>,
}

/// One photo's facts, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoFacts {
    pub id: i64,
    pub folder_id: i64,
    pub taken_at: Option<i64>,
    pub format: String,
}

impl Facts {
    /// Add one photo's facts at the end, in whatever order they are read; [`Facts::sorted`]
    /// puts them in order once all are in.
    pub fn push(&mut self, photo: PhotoFacts) {
        let id = photo.id;
        let fact = self.fact_of(photo);
        self.ids.push(id);
        self.facts.push(fact);
    }

    /// These facts in id order (ids are unique: the catalog's keys).
    pub fn sorted(mut self) -> Self {
        if self.ids.is_sorted() {
            return self;
        }
        let mut order: Vec<usize> = (0..self.ids.len()).collect();
        order.sort_unstable_by_key(|&i| self.ids[i]);
        self.ids = order.iter().map(|&i| self.ids[i]).collect();
        self.facts = order.iter().map(|&i| self.facts[i]).collect();
        self
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Add or replace one photo's facts.
    pub fn insert(&mut self, photo: PhotoFacts) {
        let id = photo.id;
        let fact = self.fact_of(photo);
        match self.ids.binary_search(&id) {
            Ok(i) => self.facts[i] = fact,
            Err(i) => {
                self.ids.insert(i, id);
                self.facts.insert(i, fact);
            }
        }
    }

    /// A photo's compact facts; what does not fit goes to `wide` (and leaves it when it fits).
    fn fact_of(&mut self, photo: PhotoFacts) -> Fact {
        let format = self.format_code(&photo.format);
        let taken = match photo.taken_at {
            None => Some(UNDATED),
            Some(t) => i32::try_from(t - DATE_ORIGIN).ok().filter(|&t| t != UNDATED),
        };
        let folder = u16::try_from(photo.folder_id).ok().filter(|&f| f != WIDE);
        match (taken, folder) {
            (Some(taken), Some(folder)) => {
                self.wide.remove(&photo.id);
                Fact { taken, folder, format }
            }
            _ => {
                self.wide.insert(photo.id, (photo.taken_at, photo.folder_id));
                Fact { taken: UNDATED, folder: WIDE, format }
            }
        }
    }

    /// Forget these photos, in one pass over the table (a folder's removal is many at once).
    pub fn remove(&mut self, ids: &[i64]) {
        if ids.is_empty() {
            return;
        }
        let gone: HashSet<i64> = ids.iter().copied().collect();
        let mut kept = 0;
        for i in 0..self.ids.len() {
            if !gone.contains(&self.ids[i]) {
                self.ids[kept] = self.ids[i];
                self.facts[kept] = self.facts[i];
                kept += 1;
            }
        }
        self.ids.truncate(kept);
        self.facts.truncate(kept);
        self.wide.retain(|id, _| !gone.contains(id));
    }

    /// Photo `id`'s folder, date taken and format, borrowed.
    fn lookup(&self, id: i64) -> Option<(i64, Option<i64>, &str)> {
        let i = self.ids.binary_search(&id).ok()?;
        let fact = self.facts[i];
        let (taken_at, folder_id) = match self.wide.get(&id) {
            Some(&(taken_at, folder_id)) => (taken_at, folder_id),
            None => (
                (fact.taken != UNDATED).then(|| i64::from(fact.taken) + DATE_ORIGIN),
                i64::from(fact.folder),
            ),
        };
        let format = self.formats.get(usize::from(fact.format))?;
        Some((folder_id, taken_at, format))
    }

    /// Photo `id`'s facts, whole.
    pub fn get(&self, id: i64) -> Option<PhotoFacts> {
        let (folder_id, taken_at, format) = self.lookup(id)?;
        Some(PhotoFacts {
            id,
            folder_id,
            taken_at,
            format: format.to_string(),
        })
    }

    /// Whether `filters` keep photo `id` (a photo not here is not kept). Asked for every
    /// candidate of a filtered search: nothing is copied.
    pub fn keeps(&self, filters: &Filters, id: i64) -> bool {
        self.lookup(id)
            .is_some_and(|(folder_id, taken_at, format)| filters.admits(folder_id, taken_at, format))
    }

    /// Every photo's facts, in id order.
    pub fn all(&self) -> impl Iterator<Item = PhotoFacts> + '_ {
        self.ids.iter().filter_map(|&id| self.get(id))
    }

    fn format_code(&mut self, format: &str) -> u8 {
        if let Some(i) = self.formats.iter().position(|f| f == format) {
            return i as u8;
        }
        // More than 255 distinct format names cannot come from the decoders; the last code is
        // shared rather than wrapping onto another format.
        if self.formats.len() < usize::from(u8::MAX) {
            self.formats.push(format.to_string());
        }
        (self.formats.len() - 1) as u8
    }
}

/// Which images a search may return.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Only images of these library folders, by id (empty: all).
    pub folder_ids: Vec<i64>,
    /// Only images taken at or after / before this time (seconds, camera local time); `until` is
    /// exclusive (an inclusive "to" day is the next day's start, [`crate::date::day_end`]).
    pub taken_from: Option<i64>,
    pub taken_until: Option<i64>,
    /// Only these formats ("jpeg", "png", ...; empty: all).
    pub formats: Vec<String>,
}

impl Filters {
    /// These filters with the days a person gives (`YYYY-MM-DD`; empty or `None`: not given):
    /// taken on or after `from`, on or before `to` (the whole day), or before `until` (the day
    /// itself excluded). A day that does not exist (2024-02-31) is refused saying so. The CLI and
    /// the app both read days here.
    pub fn taken(mut self, from: Option<&str>, to: Option<&str>, until: Option<&str>) -> Result<Self> {
        let day = |text: Option<&str>, parse: fn(&str) -> std::result::Result<i64, String>| {
            text.filter(|t| !t.trim().is_empty())
                .map(|t| parse(t).map_err(Error::Query))
                .transpose()
        };
        self.taken_from = day(from, crate::date::day_start)?;
        self.taken_until = match day(to, crate::date::day_end)? {
            Some(end) => Some(end),
            None => day(until, crate::date::day_start)?,
        };
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.folder_ids.is_empty()
            && self.taken_from.is_none()
            && self.taken_until.is_none()
            && self.formats.is_empty()
    }

    /// Whether these filters keep a photo with these facts.
    pub fn keeps(&self, photo: &PhotoFacts) -> bool {
        self.admits(photo.folder_id, photo.taken_at, &photo.format)
    }

    /// Whether these filters keep a photo of this folder, date taken and format.
    fn admits(&self, folder_id: i64, taken_at: Option<i64>, format: &str) -> bool {
        (self.folder_ids.is_empty() || self.folder_ids.contains(&folder_id))
            && self
                .taken_from
                .is_none_or(|from| taken_at.is_some_and(|t| t >= from))
            && self
                .taken_until
                .is_none_or(|until| taken_at.is_some_and(|t| t < until))
            && (self.formats.is_empty() || self.formats.iter().any(|f| f.eq_ignore_ascii_case(format)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(id: i64, folder_id: i64, taken_at: Option<i64>, format: &str) -> PhotoFacts {
        PhotoFacts {
            id,
            folder_id,
            taken_at,
            format: format.into(),
        }
    }

    #[test]
    fn every_date_and_folder_comes_back_exactly() {
        let mut facts = Facts::default();
        let photos = [
            photo(1, 1, Some(1_700_000_000), "jpeg"),
            photo(2, 1, None, "heic"),
            // 1900 and 2100: outside the compact range.
            photo(3, 2, Some(-2_208_988_800), "jpeg"),
            photo(4, 2, Some(4_102_444_800), "png"),
            photo(5, 70_000, Some(0), "jpeg"),
            // The compact range's ends.
            photo(6, 3, Some(DATE_ORIGIN + i64::from(i32::MAX)), "dng"),
            photo(7, 3, Some(DATE_ORIGIN + i64::from(i32::MIN)), "dng"),
            photo(8, 3, Some(DATE_ORIGIN + i64::from(i32::MIN) + 1), "dng"),
        ];
        for p in photos.iter().rev() {
            facts.insert(p.clone());
        }
        assert_eq!(facts.all().collect::<Vec<_>>(), photos);
        // Read in another order and sorted once, the same.
        let mut pushed = Facts::default();
        for i in [4, 0, 7, 2, 5, 1, 6, 3] {
            pushed.push(photos[i].clone());
        }
        assert_eq!(pushed.sorted().all().collect::<Vec<_>>(), photos);
        // Replacing a wide photo by a compact one forgets the wide entry.
        facts.insert(photo(3, 2, Some(DATE_ORIGIN), "jpeg"));
        assert_eq!(facts.get(3), Some(photo(3, 2, Some(DATE_ORIGIN), "jpeg")));
        facts.remove(&[4, 40]);
        assert_eq!(facts.get(4), None);
        assert_eq!(facts.len(), 7);
        assert_eq!(facts.wide.len(), 2, "{:?}", facts.wide);
        assert_eq!(std::mem::size_of::<i64>() + std::mem::size_of::<Fact>(), 16);
    }
}

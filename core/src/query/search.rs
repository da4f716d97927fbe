//! Queries: parsing combined queries, filters, sorting, and the adaptive relevance cutoff.
//! Pure functions; the library feeds them embeddings and catalog rows.
//!
//! **Combined queries.** `beach + sunset - people`: terms joined by `+` or `-` (an operator starts
//! the query or follows a space, so `t-shirt` stays one word). A term may carry a weight,
//! `2:beach + 0.5:sunset`. Where the caller allows it ([`Request::image_paths`], the command line),
//! a term naming an image file searches by that image. The query vector
//! is the normalised weighted sum of the terms' normalised embeddings.
//!
//! **Relevance cutoff.** CLIP scores are only comparable within one query, so the cutoff is set
//! per query from the library's own scores for it: over a fixed sample of up to
//! [`BACKGROUND_SAMPLE`] library images, take the median `m` and the robust spread
//! `s = 1.4826 · MAD`; results scoring below `m + 2s` are unremarkable for this query and hidden.
//! (On the test model, 2 spreads keeps the exact matches of "a red circle" and hides everything
//! for a query it cannot understand, "dog on a beach at sunset"; 3 spreads hid both.)
//! Libraries of fewer than [`MIN_BACKGROUND`] images get no cutoff. `all` shows everything.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::store::catalog::ImageRow;
use crate::Result;

pub const BACKGROUND_SAMPLE: usize = 2048;
pub const MIN_BACKGROUND: usize = 8;
pub const CUTOFF_SPREADS: f32 = 2.0;

/// One term of a combined query.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub text: String,
    pub weight: f32,
}

/// Split a combined query into weighted terms. Errors name what is wrong.
pub fn parse_query(query: &str) -> Result<Vec<Term>, String> {
    let mut terms = Vec::new();
    let mut sign = 1.0f32;
    let mut current = String::new();
    let mut prev_space = true;
    let flush = |text: &str, sign: f32, terms: &mut Vec<Term>| -> Result<(), String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let (weight, text) = match text.split_once(':') {
            Some((w, rest)) if w.trim().parse::<f32>().is_ok() => {
                let w: f32 = w.trim().parse().unwrap_or(1.0);
                if !w.is_finite() {
                    return Err(format!("weight {w} is not a finite number"));
                }
                (w, rest.trim())
            }
            _ => (1.0, text),
        };
        if text.is_empty() {
            return Err("a weight needs a term after it, as in 2:beach".into());
        }
        terms.push(Term {
            text: text.to_string(),
            weight: sign * weight,
        });
        Ok(())
    };
    for ch in query.chars() {
        if (ch == '+' || ch == '-') && prev_space {
            flush(&current, sign, &mut terms)?;
            current.clear();
            sign = if ch == '+' { 1.0 } else { -1.0 };
            prev_space = true;
            continue;
        }
        prev_space = ch.is_whitespace();
        current.push(ch);
    }
    flush(&current, sign, &mut terms)?;
    if terms.is_empty() {
        return Err("the query is empty".into());
    }
    if terms.iter().all(|t| t.weight <= 0.0) {
        return Err("a query needs at least one positive term (only `-` terms were given)".into());
    }
    Ok(terms)
}

/// `Σ wᵢ·vᵢ`, normalised. Every `vᵢ` must already be normalised.
pub fn combine(terms: &[(f32, Vec<f32>)]) -> Vec<f32> {
    let dim = terms.first().map_or(0, |t| t.1.len());
    let mut sum = vec![0f32; dim];
    for (w, v) in terms {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += w * x;
        }
    }
    crate::model::encoders::normalized(&sum)
}

/// The minimum score of a relevant result for a query, from its scores over the background sample.
pub fn relevance_cutoff(background: &[f32]) -> Option<f32> {
    if background.len() < MIN_BACKGROUND {
        return None;
    }
    let median = |v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let mut scores = background.to_vec();
    let m = median(&mut scores);
    let mut deviations: Vec<f32> = scores.iter().map(|s| (s - m).abs()).collect();
    let spread = 1.4826 * median(&mut deviations);
    let cutoff = m + CUTOFF_SPREADS * spread;
    // The sample holds the library's own photos. When many of them match (half of a small
    // library), they widen the spread until the cutoff passes every score, theirs too. If the
    // scores then fall into two clearly separated groups, the upper group is the answer.
    match scores.last() {
        Some(&top) if cutoff > top => Some(separated_upper_group(&scores).unwrap_or(cutoff)),
        _ => Some(cutoff),
    }
}

/// Where two clearly separated groups of `sorted` scores part (the middle of the widest gap
/// between neighbours), if that gap is at least twice the two groups' standard deviations
/// together: a gap, not a slope of evenly spread scores.
fn separated_upper_group(sorted: &[f32]) -> Option<f32> {
    let (at, gap) = sorted
        .windows(2)
        .enumerate()
        .map(|(i, w)| (i + 1, w[1] - w[0]))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let sd = |group: &[f32]| {
        let mean = group.iter().sum::<f32>() / group.len() as f32;
        (group.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / group.len() as f32).sqrt()
    };
    let (low, high) = sorted.split_at(at);
    (gap > 0.0 && gap >= 2.0 * (sd(low) + sd(high))).then(|| (low[low.len() - 1] + high[0]) / 2.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Relevance,
    /// Newest first; photos without a date last.
    DateTaken,
}

pub use crate::store::facts::Filters;

/// A search as the user asked for it.
#[derive(Debug, Clone)]
pub struct Request {
    pub query: String,
    pub limit: usize,
    /// Show every result, ignoring the relevance cutoff.
    pub all: bool,
    pub filters: Filters,
    pub sort: Sort,
    /// A term naming an image file on disk searches by that image. Only the command line sets
    /// this: the app's query box never names a file (the webview is not given file access).
    pub image_paths: bool,
}

impl Request {
    pub fn new(query: impl Into<String>, limit: usize) -> Self {
        Self {
            query: query.into(),
            limit,
            all: false,
            filters: Filters::default(),
            sort: Sort::Relevance,
            image_paths: false,
        }
    }
}

/// One result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: i64,
    #[serde(serialize_with = "crate::store::catalog::lossy_path")]
    pub path: PathBuf,
    pub score: f32,
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub size: u64,
    pub taken_at: Option<i64>,
    /// The camera RAW shot with this JPEG (or HEIC…): same folder, same name. The pair is one
    /// photo in results; this is the other file.
    pub twin: Option<Twin>,
    /// Its folder or drive is not connected: found by its stored embedding, shown by its
    /// thumbnail, but it cannot be opened now.
    pub offline: bool,
    /// Found by the words in it: the lines that matched the query, with their boxes (fractions
    /// of the upright photo's sides). Empty when found by look alone.
    pub text: Vec<crate::store::catalog::TextLine>,
}

/// The other file of a RAW + JPEG pair.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Twin {
    pub id: i64,
    #[serde(serialize_with = "crate::store::catalog::lossy_path")]
    pub path: PathBuf,
    pub format: String,
}

/// Fold each camera RAW and the developed photo of the same name in the same folder (a camera's
/// RAW + JPEG) into one hit: the developed photo, with the RAW as its twin and the better score.
/// `hits` arrive best first; the order is kept.
pub fn fold_raw_twins(hits: Vec<Hit>) -> Vec<Hit> {
    let mut out: Vec<Hit> = Vec::with_capacity(hits.len());
    let mut by_name: std::collections::HashMap<PathBuf, usize> = Default::default();
    for hit in hits {
        let name = hit.path.with_extension("");
        if let Some(&i) = by_name.get(&name) {
            let first = &mut out[i];
            if first.twin.is_none() && (first.format == "raw") != (hit.format == "raw") {
                let score = first.score.max(hit.score);
                let raw = if first.format == "raw" {
                    std::mem::replace(first, hit)
                } else {
                    hit
                };
                first.score = score;
                first.twin = Some(Twin {
                    id: raw.id,
                    path: raw.path,
                    format: raw.format,
                });
                continue;
            }
        }
        by_name.insert(name, out.len());
        out.push(hit);
    }
    out
}
impl Hit {
    /// Catalogued image `row` as a result scoring `score`.
    pub fn of(row: &ImageRow, score: f32) -> Self {
        Hit {
            id: row.id,
            path: row.path.clone(),
            score,
            format: row.format.clone(),
            width: row.width,
            height: row.height,
            size: row.size,
            taken_at: row.taken_at,
            twin: None,
            offline: false,
            text: Vec::new(),
        }
    }
}

/// Mark the hits that lie in an offline part of a library folder (see [`crate::ingest::offline`]).
pub fn mark_offline(hits: &mut [Hit], offline: &[crate::store::catalog::OfflinePart]) {
    if offline.is_empty() {
        return;
    }
    for hit in hits {
        hit.offline = offline.iter().any(|part| hit.path.starts_with(&part.path));
    }
}

/// Where a page of [`crate::Library::list`] starts: after this image, the previous page's last.
/// Its sort key, not a position, so images added or removed between pages shift nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCursor {
    pub taken_at: Option<i64>,
    pub id: i64,
}

impl ListCursor {
    /// Browsing order, as a key sorted descending: dated photos newest first, then undated ones,
    /// most recently indexed first.
    pub fn key(self) -> (bool, i64, i64) {
        (self.taken_at.is_some(), self.taken_at.unwrap_or(0), self.id)
    }
}

/// One page of the library, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// Scores are 0: nothing was searched.
    pub images: Vec<Hit>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<ListCursor>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub hits: Vec<Hit>,
    /// The score below which results were hidden (None: no cutoff applied).
    pub cutoff: Option<f32>,
    /// How many of the nearest results the cutoff hid.
    pub hidden: usize,
    /// The search found as many neighbours as it was asked for: a larger limit may find more
    /// (the app asks for a first screenful, then for the rest as the reader scrolls).
    pub more: bool,
}

/// Order hits as requested (they arrive best first).
pub fn sort_hits(hits: &mut [Hit], sort: Sort) {
    if sort == Sort::DateTaken {
        hits.sort_by(|a, b| {
            b.taken_at
                .cmp(&a.taken_at)
                .then(b.score.total_cmp(&a.score))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn t(text: &str, weight: f32) -> Term {
        Term {
            text: text.into(),
            weight,
        }
    }

    #[test]
    fn parses_combined_queries() {
        assert_eq!(
            parse_query("dog on a beach").expect("ok"),
            vec![t("dog on a beach", 1.0)]
        );
        assert_eq!(
            parse_query("beach + sunset - people").expect("ok"),
            vec![t("beach", 1.0), t("sunset", 1.0), t("people", -1.0)]
        );
        assert_eq!(
            parse_query("2:beach + 0.5:sunset").expect("ok"),
            vec![t("beach", 2.0), t("sunset", 0.5)]
        );
        assert_eq!(
            parse_query("red t-shirt -logo").expect("ok"),
            vec![t("red t-shirt", 1.0), t("logo", -1.0)]
        );
        assert_eq!(
            parse_query("time: 10:30").expect("ok"),
            vec![t("time: 10:30", 1.0)]
        );
    }

    #[test]
    fn rejects_empty_and_only_negative_queries() {
        assert!(parse_query("   ").is_err());
        assert!(parse_query("- people").is_err());
        assert!(parse_query("2: + cat").is_err());
    }

    #[test]
    fn combine_normalises_the_weighted_sum() {
        let v = combine(&[(1.0, vec![1.0, 0.0]), (-1.0, vec![0.0, 1.0])]);
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!((v[0] - s).abs() < 1e-6 && (v[1] + s).abs() < 1e-6);
    }

    #[test]
    fn a_library_half_of_which_matches_still_shows_its_matches() {
        // 12 shapes, six of them red circles, asked "a red circle" (the test model's scores).
        let scores = [
            0.686, 0.680, 0.679, 0.678, 0.674, 0.636, 0.082, -0.019, -0.040, -0.068, -0.199, -0.259,
        ];
        let cutoff = relevance_cutoff(&scores).expect("enough samples");
        assert!(cutoff > 0.082 && cutoff < 0.636, "{cutoff}");
        // Evenly spread scores are no two groups: the cutoff stays above them all.
        let even: Vec<f32> = (0..12).map(|i| 0.05 * i as f32).collect();
        assert!(relevance_cutoff(&even).expect("enough samples") > 0.55);
    }

    #[test]
    fn cutoff_sits_above_the_background() {
        let mut scores: Vec<f32> = (0..100).map(|i| 0.2 + 0.001 * (i % 10) as f32).collect();
        let cutoff = relevance_cutoff(&scores).expect("enough samples");
        assert!(cutoff > 0.205 && cutoff < 0.22, "{cutoff}");
        scores.truncate(5);
        assert_eq!(relevance_cutoff(&scores), None);
    }

    fn hit(id: i64, path: &str, format: &str, score: f32) -> Hit {
        Hit {
            id,
            path: path.into(),
            score,
            format: format.into(),
            width: 1,
            height: 1,
            size: 1,
            taken_at: None,
            twin: None,
            offline: false,
            text: Vec::new(),
        }
    }

    #[test]
    fn a_raw_and_its_jpeg_are_one_hit() {
        let folded = fold_raw_twins(vec![
            hit(1, "/p/IMG_1.CR3", "raw", 0.9),
            hit(2, "/p/other.jpg", "jpeg", 0.8),
            hit(3, "/p/IMG_1.JPG", "jpeg", 0.7),
            hit(4, "/q/IMG_1.JPG", "jpeg", 0.6),
            hit(5, "/p/IMG_2.jpg", "jpeg", 0.5),
            hit(6, "/p/IMG_2.png", "png", 0.4),
        ]);
        let ids: Vec<i64> = folded.iter().map(|h| h.id).collect();
        // The JPEG takes the RAW's place and score; another folder's IMG_1 and two developed
        // files of one name are not twins.
        assert_eq!(ids, [3, 2, 4, 5, 6]);
        assert_eq!(folded[0].score, 0.9);
        assert_eq!(folded[0].twin.as_ref().map(|t| t.id), Some(1));
        assert!(folded[1..].iter().all(|h| h.twin.is_none()));
    }

    #[test]
    fn days_are_read_once_for_everyone_to_inclusive_until_exclusive() {
        let day = 86_400;
        let jan_2 = crate::date::day_start("2024-01-02").expect("a day");
        let f = Filters::default()
            .taken(Some("2024-01-02"), Some("2024-01-03"), None)
            .expect("days");
        assert_eq!((f.taken_from, f.taken_until), (Some(jan_2), Some(jan_2 + 2 * day)));
        let f = Filters::default()
            .taken(None, None, Some("2024-01-02"))
            .expect("days");
        assert_eq!((f.taken_from, f.taken_until), (None, Some(jan_2)));
        let f = Filters::default().taken(Some(""), Some(" "), None).expect("empty");
        assert_eq!((f.taken_from, f.taken_until), (None, None), "empty is not given");
        let e = Filters::default()
            .taken(Some("2024-02-31"), None, None)
            .expect_err("no such day");
        assert!(matches!(e, Error::Query(ref m) if m.contains("2024-02-31")), "{e}");
    }

    #[test]
    fn filters_keep_what_they_say() {
        let row = crate::store::facts::PhotoFacts {
            id: 1,
            folder_id: 1,
            taken_at: Some(100),
            format: "jpeg".into(),
        };
        assert!(Filters::default().keeps(&row));
        assert!(
            Filters {
                folder_ids: vec![1, 3],
                ..Filters::default()
            }
            .keeps(&row)
        );
        assert!(
            !Filters {
                folder_ids: vec![2],
                ..Filters::default()
            }
            .keeps(&row)
        );
        assert!(
            Filters {
                taken_from: Some(100),
                taken_until: Some(101),
                ..Filters::default()
            }
            .keeps(&row)
        );
        assert!(
            !Filters {
                taken_until: Some(100),
                ..Filters::default()
            }
            .keeps(&row)
        );
        assert!(
            !Filters {
                formats: vec!["png".into()],
                ..Filters::default()
            }
            .keeps(&row)
        );
    }
}

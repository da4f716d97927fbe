//! Duplicates and near-duplicates (removing them is [`Library::trash`], in `actions`).
//!
//! Identical content is the same BLAKE3 hash under several paths. Near-identical photos (bursts,
//! resized or re-encoded copies) are contents whose embeddings' nearest neighbours score at or
//! above a threshold, joined transitively. Every image is in at most one group: a group whose
//! members all share one content is "identical", any other "similar" (copies of its members
//! included). A RAW and the JPEG of the same name beside it are one photo, never duplicates.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::store::catalog::ImageRow;
use crate::library::Library;
use crate::store::vectors::Vectors;
use crate::{Error, Result};

/// Cosine similarity at which two different files count as the same photo by default: resized and
/// re-encoded copies score above it with CLIP ViT-B/32, different shots of a scene mostly below.
pub const DEFAULT_THRESHOLD: f32 = 0.95;

/// Neighbours looked at per content: a group larger than this is still joined through its members.
const NEIGHBOURS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Identical,
    Similar,
}

/// One image of a group, with what a person compares to choose.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: i64,
    #[serde(serialize_with = "crate::store::catalog::lossy_path")]
    pub path: PathBuf,
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub size: u64,
    pub taken_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub kind: Kind,
    /// The suggested photo to keep first.
    pub images: Vec<Member>,
    /// Why the first is suggested.
    pub keep_because: &'static str,
    /// Bytes freed by removing all but the first.
    pub reclaimable: u64,
}

impl Library {
    /// Groups of identical and near-identical images (see the module), largest saving first.
    pub fn duplicates(&self, threshold: f32) -> Result<Vec<Group>> {
        self.refresh()?;
        // Rows are read for this (a pass over the whole library), not held in memory.
        let all = self.catalog().all_images()?;
        let state = self.state();
        let rows: Vec<&ImageRow> = all.iter().collect();
        let rows_by_id: HashMap<i64, &ImageRow> = rows.iter().map(|r| (r.id, *r)).collect();
        // One representative per content; similarity is between contents.
        let mut contents: HashMap<[u8; 32], Vec<&ImageRow>> = HashMap::new();
        for r in &rows {
            contents.entry(r.hash).or_default().push(r);
        }
        let hashes: Vec<[u8; 32]> = contents.keys().copied().collect();
        let index_of: HashMap<[u8; 32], usize> =
            hashes.iter().enumerate().map(|(i, h)| (*h, i)).collect();
        let hash_of_id: HashMap<i64, [u8; 32]> = rows.iter().map(|r| (r.id, r.hash)).collect();
        let mut sets = DisjointSets::new(hashes.len());
        if let Some(build) = state.vectors.as_ref().and_then(Vectors::build) {
            // Near duplicates are each photo's nearest neighbours: exact search over every one
            // would take minutes, so they wait for the index.
            let status = build.status();
            return Err(Error::IndexBuilding {
                done: status.done,
                total: status.total,
            });
        }
        if let Some(vindex) = state.vectors.as_ref().and_then(Vectors::index) {
            let representatives: Vec<&ImageRow> = hashes
                .iter()
                .map(|h| contents[h].iter().min_by_key(|r| r.id).copied())
                .collect::<Option<_>>()
                .ok_or_else(|| Error::Internal("a content without images".into()))?;
            let threads = self.options.threads.max(1);
            let chunk = representatives.len().div_ceil(threads).max(1);
            let pairs: Vec<(usize, usize)> = std::thread::scope(|scope| {
                let workers: Vec<_> = representatives
                    .chunks(chunk)
                    .map(|part| {
                        let (index_of, hash_of_id, rows_by_id) =
                            (&index_of, &hash_of_id, &rows_by_id);
                        scope.spawn(move || -> Result<Vec<(usize, usize)>> {
                            let mut pairs = Vec::new();
                            for r in part {
                                let Some(vector) = vindex.get(r.id) else {
                                    continue;
                                };
                                for n in vindex.search(&vector, NEIGHBOURS, None)? {
                                    let Some(other) = hash_of_id.get(&n.id) else {
                                        continue;
                                    };
                                    if n.score < threshold || *other == r.hash {
                                        continue;
                                    }
                                    if rows_by_id.get(&n.id).is_some_and(|o| are_raw_twins(r, o)) {
                                        continue;
                                    }
                                    pairs.push((index_of[&r.hash], index_of[other]));
                                }
                            }
                            Ok(pairs)
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| {
                        w.join().unwrap_or_else(|_| {
                            Err(Error::Internal("a duplicate search thread panicked".into()))
                        })
                    })
                    .collect::<Result<Vec<_>>>()
                    .map(|v| v.concat())
            })?;
            for (a, b) in pairs {
                sets.join(a, b);
            }
        }
        let mut clusters: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..hashes.len() {
            clusters.entry(sets.root(i)).or_default().push(i);
        }
        let mut groups: Vec<Group> = clusters
            .into_values()
            .filter_map(|members| {
                let images: Vec<&ImageRow> = members
                    .iter()
                    .flat_map(|&i| contents[&hashes[i]].iter().copied())
                    .collect();
                (images.len() > 1).then(|| group(members.len() == 1, images))
            })
            .collect();
        groups.sort_by(|a, b| {
            b.reclaimable
                .cmp(&a.reclaimable)
                .then(a.images[0].id.cmp(&b.images[0].id))
        });
        Ok(groups)
    }
}

/// A group of `images` with the suggested keeper first: for identical copies the first the
/// library saw; for similar photos the most pixels, then the original format, then the oldest
/// date taken, then the largest file (least compressed).
fn group(identical: bool, mut images: Vec<&ImageRow>) -> Group {
    let keep_because = if identical {
        images.sort_by_key(|r| r.id);
        "the first copy the library found"
    } else {
        images.sort_by(|a, b| {
            let pixels = |r: &ImageRow| u64::from(r.width) * u64::from(r.height);
            pixels(b)
                .cmp(&pixels(a))
                .then(format_rank(&a.format).cmp(&format_rank(&b.format)))
                .then(
                    a.taken_at
                        .unwrap_or(i64::MAX)
                        .cmp(&b.taken_at.unwrap_or(i64::MAX)),
                )
                .then(b.size.cmp(&a.size))
                .then(a.id.cmp(&b.id))
        });
        "the most pixels, then the original format (RAW, lossless, then lossy), then the oldest"
    };
    let reclaimable = images.iter().skip(1).map(|r| r.size).sum();
    Group {
        kind: if identical {
            Kind::Identical
        } else {
            Kind::Similar
        },
        images: images
            .into_iter()
            .map(|r| Member {
                id: r.id,
                path: r.path.clone(),
                format: r.format.clone(),
                width: r.width,
                height: r.height,
                size: r.size,
                taken_at: r.taken_at,
            })
            .collect(),
        keep_because,
        reclaimable,
    }
}

/// Which of two equally large copies is likelier the original: a RAW, then lossless formats,
/// then the cameras' own lossy ones; re-encodes are most often JPEG or WebP.
fn format_rank(format: &str) -> usize {
    const ORDER: [&str; 10] = [
        "raw", "tiff", "png", "heic", "avif", "jxl", "jpeg", "webp", "bmp", "gif",
    ];
    ORDER
        .iter()
        .position(|f| *f == format)
        .unwrap_or(ORDER.len())
}

/// A camera RAW and the JPEG (or other) of the same name in the same folder: one photo.
fn are_raw_twins(a: &ImageRow, b: &ImageRow) -> bool {
    (a.format == "raw") != (b.format == "raw")
        && a.path.with_extension("") == b.path.with_extension("")
}

/// Union-find over content indices.
struct DisjointSets {
    parent: Vec<usize>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
        }
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.root(a), self.root(b));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_sets_are_transitive_and_separate_ones_stay_apart() {
        let mut sets = DisjointSets::new(5);
        sets.join(0, 1);
        sets.join(3, 1);
        assert_eq!(sets.root(3), sets.root(0));
        assert_ne!(sets.root(2), sets.root(0));
        assert_ne!(sets.root(4), sets.root(2));
    }
}

//! A search end to end, in one place: the query's terms → their embeddings (the text model, or an
//! image file's embedding from the catalog or the vision model) → one query vector → the nearest
//! images that pass the filters (the vector index) → the relevance cutoff against the library's
//! own background → rows → hits, marked offline, RAW twins folded, sorted. Browsing (`list`) and
//! "similar" are the same path from another start.

use std::collections::HashMap;
use std::path::Path;

use crate::Error;
use crate::Result;
use crate::ingest::decode;
use crate::library::Library;
use crate::model::encoders;
use crate::query::search::{self, Filters, Hit, ListCursor, Page, Request, Results, Sort};
use crate::query::text::{self, TextHit, TextQuery};
use crate::store::catalog::TextLine;
use crate::store::vectors;

impl Library {
    /// The normalised embedding of one query term: text, or an image file where the request
    /// allows terms to name files.
    fn term_embedding(&self, term: &str, image_paths: bool) -> Result<Vec<f32>> {
        let path = Path::new(term);
        if image_paths && crate::ingest::scan::kind_of(path).is_some() && path.is_file() {
            return self.image_embedding(path);
        }
        self.encoders()?.text()?.encode(term)
    }

    /// The embedding of an image file: from the catalog if indexed, else decoded and encoded now.
    pub fn image_embedding(&self, path: &Path) -> Result<Vec<f32>> {
        Ok(self.image_query(path)?.0)
    }

    /// An image file's embedding and, when it is in the catalog, its id.
    fn image_query(&self, path: &Path) -> Result<(Vec<f32>, Option<i64>)> {
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let catalog = self.catalog();
        if let Some(row) = catalog.image_by_path(&abs)?
            && let Some(v) = catalog.embedding(row.id)?
        {
            return Ok((v, Some(row.id)));
        }
        drop(catalog);
        let enc = self.encoders()?;
        let bytes = self.read_file(path)?;
        let decoded = decode::decode(&bytes, enc.vision.short_side(), self.options.max_pixels)
            .map_err(|e| Error::Io {
                path: path.to_path_buf(),
                reason: e.0,
            })?;
        let pixels = encoders::preprocess(&decoded.image, enc.vision.preprocess());
        let vector = enc
            .vision
            .encode_batch(&[pixels])?
            .pop()
            .ok_or_else(|| Error::Internal("the vision model returned no embedding".into()))?;
        Ok((vector, None))
    }

    /// Text (or combined) search: by look (the image model), and by the words read in photos,
    /// fused into one ranking ([`crate::query::text`]).
    pub fn search(&self, request: &Request) -> Result<Results> {
        let terms = search::parse_query(&request.query).map_err(Error::Query)?;
        let mut weighted = Vec::with_capacity(terms.len());
        for t in &terms {
            // Quotes ask for exact words in the photo; the image model reads the words alone.
            let term = t.text.replace('"', " ");
            let term = if term.trim().is_empty() { t.text.clone() } else { term };
            weighted.push((t.weight, self.term_embedding(term.trim(), request.image_paths)?));
        }
        let query = search::combine(&weighted);
        let mut results = self.nearest(
            &query,
            request.limit,
            request.all,
            &request.filters,
            Sort::Relevance,
            None,
        )?;
        let words = text::text_query(&request.query);
        if !words.is_empty() {
            let found = self.text_search(&words, &request.filters)?;
            results = self.fused(results, found, &query, request.limit)?;
        }
        search::sort_hits(&mut results.hits, request.sort);
        Ok(results)
    }

    /// The photos whose words match `query` and pass `filters`, best first.
    pub fn text_search(&self, query: &TextQuery, filters: &Filters) -> Result<Vec<TextHit>> {
        let catalog = self.catalog();
        let lines = |t: &str| {
            if t.chars().count() >= 3 {
                catalog.text_matches(&text::fts_string(t), text::LINES_PER_WORD)
            } else {
                catalog.text_scan(t, text::LINES_PER_WORD)
            }
        };
        let by_word = query.words.iter().map(|w| lines(w)).collect::<Result<Vec<_>>>()?;
        let by_phrase = query.phrases.iter().map(|p| lines(p)).collect::<Result<Vec<_>>>()?;
        drop(catalog);
        let mut hits = text::text_hits(query, &by_word, &by_phrase);
        if !filters.is_empty() {
            self.refresh()?;
            let state = self.state();
            let facts = state.facts(&self.catalog())?;
            hits.retain(|h| facts.keeps(filters, h.id));
        }
        Ok(hits)
    }

    /// The look's results and the text's, fused (Reciprocal Rank Fusion), at most `limit`.
    fn fused(&self, mut by_look: Results, by_text: Vec<TextHit>, query: &[f32], limit: usize) -> Result<Results> {
        let look_ids: Vec<i64> = by_look.hits.iter().map(|h| h.id).collect();
        let text_ids: Vec<(i64, f32)> = by_text.iter().map(|h| (h.id, h.weight())).collect();
        let more = by_look.more || (limit > 0 && by_text.len() > limit);
        let mut lines: HashMap<i64, Vec<TextLine>> =
            by_text.into_iter().map(|h| (h.id, h.lines)).collect();
        let mut looked: HashMap<i64, Hit> = by_look.hits.drain(..).map(|h| (h.id, h)).collect();
        let mut hits = Vec::new();
        let catalog = self.catalog();
        for (id, _) in text::fuse(&look_ids, &text_ids) {
            if limit > 0 && hits.len() >= limit {
                break;
            }
            let mut hit = match looked.remove(&id) {
                Some(hit) => hit,
                // A photo found by its words alone still shows how well it matches by look.
                None => match (catalog.image(id)?, catalog.embedding(id)?) {
                    (Some(row), Some(v)) => Hit::of(&row, vectors::dot(query, &v)),
                    _ => continue,
                },
            };
            hit.text = lines.remove(&id).unwrap_or_default();
            hits.push(hit);
        }
        drop(catalog);
        search::mark_offline(&mut hits, &self.offline_parts()?);
        Ok(Results {
            hits,
            cutoff: by_look.cutoff,
            hidden: by_look.hidden,
            more,
        })
    }

    /// A page of the library's images (those `filters` keep), newest first (date taken; undated
    /// ones last, most recently indexed first), starting after `after`: keyset pagination over
    /// the catalog's date index, so a page reads its own rows, never the whole library.
    pub fn list(&self, filters: &Filters, after: Option<ListCursor>, limit: usize) -> Result<Page> {
        let after = after.map(|a| (a.taken_at, a.id));
        let mut rows = self.catalog().page(filters, after, limit.saturating_add(1))?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = more
            .then(|| rows.last().map(|r| ListCursor { taken_at: r.taken_at, id: r.id }))
            .flatten();
        let mut images: Vec<Hit> = rows.iter().map(|r| Hit::of(r, 0.0)).collect();
        search::mark_offline(&mut images, &self.offline_parts()?);
        Ok(Page {
            images: search::fold_raw_twins(images),
            next,
        })
    }

    /// Images that look like the image at `path` (which need not be in the library).
    pub fn similar(
        &self,
        path: &Path,
        limit: usize,
        all: bool,
        filters: &Filters,
    ) -> Result<Results> {
        let (query, own) = self.image_query(path)?;
        self.nearest(&query, limit, all, filters, Sort::Relevance, own)
    }

    /// Images that look like the catalogued image `id`.
    pub fn similar_to_id(
        &self,
        id: i64,
        limit: usize,
        all: bool,
        filters: &Filters,
    ) -> Result<Results> {
        let query = self
            .catalog()
            .embedding(id)?
            .ok_or(Error::UnknownImage { id })?;
        self.nearest(&query, limit, all, filters, Sort::Relevance, Some(id))
    }

    fn nearest(
        &self,
        query: &[f32],
        limit: usize,
        all: bool,
        filters: &Filters,
        sort: Sort,
        exclude: Option<i64>,
    ) -> Result<Results> {
        self.refresh()?;
        let state = self.state();
        let Some(vectors) = &state.vectors else {
            return Ok(Results {
                hits: Vec::new(),
                cutoff: None,
                hidden: 0,
                more: false,
            });
        };
        let cutoff = if all {
            None
        } else {
            let scores: Vec<f32> = state
                .background
                .iter()
                .map(|s| vectors::dot(query, &s.embedding))
                .collect();
            search::relevance_cutoff(&scores)
        };
        let facts = if filters.is_empty() {
            None
        } else {
            Some(state.facts(&self.catalog())?)
        };
        let keep = |id: i64| {
            Some(id) != exclude && facts.is_none_or(|facts| facts.keeps(filters, id))
        };
        let needs_filter = exclude.is_some() || !filters.is_empty();
        let neighbors = vectors.search(
            query,
            limit,
            needs_filter.then_some(&keep as &dyn Fn(i64) -> bool),
        )?;
        let more = limit > 0 && neighbors.len() >= limit;
        let neighbors_len = neighbors.len();
        drop(state);
        let shown: Vec<_> = neighbors
            .into_iter()
            .filter(|n| cutoff.is_none_or(|c| n.score >= c))
            .collect();
        let hidden = neighbors_len - shown.len();
        // The rows of the results shown; an image deleted since the search is left out.
        let catalog = self.catalog();
        let mut hits = Vec::with_capacity(shown.len());
        for n in &shown {
            if let Some(row) = catalog.image(n.id)? {
                hits.push(Hit::of(&row, n.score));
            }
        }
        drop(catalog);
        search::mark_offline(&mut hits, &self.offline_parts()?);
        let mut hits = search::fold_raw_twins(hits);
        search::sort_hits(&mut hits, sort);
        Ok(Results {
            hits,
            cutoff,
            hidden,
            more,
        })
    }
}

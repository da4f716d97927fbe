//! The words of a query matched against the words read in photos ([`crate::ingest::reading`]),
//! and the two rankings (by meaning, by text) fused into one.
//!
//! **What matches.** A quoted part of the query (`"wifi password"`) must appear as it is in one
//! line of a photo (ignoring case). Each other word of the positive terms is looked for as a
//! substring of the photo's lines ("passw" finds "password"; Chinese has no spaces, so a
//! substring is the only fair match), in any script; words shorter than three characters,
//! except in scripts written without spaces, and a short list of English stop words are left to
//! the image model. A photo is a text hit when it holds every quoted part and at least half of
//! the words (rounded up): "dog on a beach at sunset" needs two of dog, beach, sunset.
//!
//! **Ranking.** Text hits rank by how many of the words they hold, then by how many of those
//! begin a word in the photo ("pass" in "password" before "pass" in "bypass"), then by FTS5's
//! BM25 for the best line.
//!
//! **Fusion.** The image model's scores (cosines) and BM25 are on scales that cannot be compared,
//! and neither is calibrated: Reciprocal Rank Fusion (Cormack et al., 2009) needs neither. Each
//! photo scores Σ 1/(60 + rank) over the lists it is in, so a photo found both by its look and by
//! its words comes first, and the best of each list come next, interleaved; a text hit whose
//! words all sit inside other words ("cat" in "education") counts half, so a fragment's chance
//! matches do not crowd out what the photos show. Text hits are not
//! subject to the image model's relevance cutoff: a photo that holds the words asked for is
//! relevant whatever it looks like.

use std::collections::HashMap;

use crate::store::catalog::TextLine;

/// Reciprocal Rank Fusion's constant (the paper's; it damps the weight of the very first ranks).
pub const RRF_K: f32 = 60.0;
/// Lines fetched per word: enough for any page of results, bounded for very common words.
pub const LINES_PER_WORD: usize = 2000;

/// English words too common to say anything about a photo's text.
const STOP_WORDS: &[&str] = &[
    "the", "and", "for", "with", "from", "that", "this", "are", "was", "were", "its", "into",
    "onto", "over", "under", "near", "some", "photo", "picture", "image", "of", "on", "at", "in",
];

/// The text side of a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextQuery {
    /// Quoted parts: each must be in one line, as written (case aside).
    pub phrases: Vec<String>,
    /// Words looked for as substrings, lower-cased, without repeats.
    pub words: Vec<String>,
}

impl TextQuery {
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty() && self.words.is_empty()
    }

    /// How many of the words a photo must hold to be a hit.
    pub fn needed(&self) -> usize {
        self.words.len().div_ceil(2)
    }
}

/// Whether the trigram index can look for `text`: three characters at least.
fn searchable(text: &str) -> bool {
    text.chars().count() >= 3
}

/// Scripts written without spaces between words (CJK, Thai…): a short run of them is a word.
fn unspaced(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(c as u32,
            0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0x0E00..=0x0E7F | 0xF900..=0xFAFF)
    })
}

/// The text side of `query` (the search box's text): its quoted parts, and the words of its
/// positive terms (a `-term` excludes by look only; a `2:` weight is dropped).
pub fn text_query(query: &str) -> TextQuery {
    let mut out = TextQuery::default();
    let mut rest = String::new();
    for (i, part) in query.split('"').enumerate() {
        if i % 2 == 1 {
            let phrase = part.trim().to_lowercase();
            if !phrase.is_empty() && !out.phrases.contains(&phrase) {
                out.phrases.push(phrase);
            }
        } else {
            rest.push(' ');
            rest.push_str(part);
        }
    }
    let mut negative = false;
    for token in rest.split_whitespace() {
        let token = match token.strip_prefix('-') {
            Some(t) => {
                negative = true;
                t
            }
            None => {
                if let Some(t) = token.strip_prefix('+') {
                    negative = false;
                    t
                } else {
                    token
                }
            }
        };
        if negative {
            continue;
        }
        // A weight ("2:beach") is the image model's business.
        let token = match token.split_once(':') {
            Some((w, t)) if w.parse::<f32>().is_ok() => t,
            _ => token,
        };
        for word in token
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let word = word.to_lowercase();
            let keep = (searchable(&word) || (unspaced(&word) && word.chars().count() >= 2))
                && !STOP_WORDS.contains(&word.as_str());
            if keep && !out.words.contains(&word) {
                out.words.push(word);
            }
        }
    }
    out
}

/// One photo found by its text: the lines that matched, how many words it holds, its best rank.
#[derive(Debug, Clone)]
pub struct TextHit {
    pub id: i64,
    pub lines: Vec<TextLine>,
    pub words: usize,
    /// Of those, the words found at the start of a word in the photo.
    pub starts: usize,
    /// The best (lowest) BM25 of its matching lines.
    pub best: f64,
}

/// Text hits from each word's and phrase's matching lines (`(image id, line, bm25)`, per word and
/// per phrase, in that order), best first.
pub fn text_hits(
    query: &TextQuery,
    by_word: &[Vec<(i64, TextLine, f64)>],
    by_phrase: &[Vec<(i64, TextLine, f64)>],
) -> Vec<TextHit> {
    let mut hits: HashMap<i64, TextHit> = HashMap::new();
    let mut phrases_held: HashMap<i64, usize> = HashMap::new();
    let add = |hits: &mut HashMap<i64, TextHit>, id: i64, line: &TextLine, rank: f64| {
        let hit = hits.entry(id).or_insert_with(|| TextHit {
            id,
            lines: Vec::new(),
            words: 0,
            starts: 0,
            best: f64::MAX,
        });
        hit.best = hit.best.min(rank);
        if !hit.lines.contains(line) {
            hit.lines.push(line.clone());
        }
    };
    for (word, lines) in query.words.iter().zip(by_word) {
        let mut counted: Vec<i64> = Vec::new();
        let mut started: Vec<i64> = Vec::new();
        for (id, line, rank) in lines {
            add(&mut hits, *id, line, *rank);
            let Some(h) = hits.get_mut(id) else { continue };
            if !counted.contains(id) {
                counted.push(*id);
                h.words += 1;
            }
            if !started.contains(id) && starts_a_word(&line.text, word) {
                started.push(*id);
                h.starts += 1;
            }
        }
    }
    for (phrase, lines) in query.phrases.iter().zip(by_phrase) {
        let mut counted: Vec<i64> = Vec::new();
        for (id, line, rank) in lines {
            // The index finds the trigrams; the phrase itself must be there.
            if !line.text.to_lowercase().contains(phrase.as_str()) {
                continue;
            }
            add(&mut hits, *id, line, *rank);
            if !counted.contains(id) {
                counted.push(*id);
                *phrases_held.entry(*id).or_default() += 1;
            }
        }
    }
    let mut out: Vec<TextHit> = hits
        .into_values()
        .filter(|h| {
            h.words >= query.needed()
                && phrases_held.get(&h.id).copied().unwrap_or(0) == query.phrases.len()
        })
        .collect();
    out.sort_by(|a, b| {
        b.words
            .cmp(&a.words)
            .then(b.starts.cmp(&a.starts))
            .then(a.best.total_cmp(&b.best))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// Whether `word` (lower-case) begins a word somewhere in `line`: at its start or after a
/// character that is not a letter or digit. In scripts without spaces every place counts.
fn starts_a_word(line: &str, word: &str) -> bool {
    if unspaced(word) {
        return true;
    }
    let line = line.to_lowercase();
    line.match_indices(word).any(|(at, _)| {
        line[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

impl TextHit {
    /// Its weight in the fusion: half when every word it holds sits inside another word.
    pub fn weight(&self) -> f32 {
        if self.starts == 0 && self.words > 0 { 0.5 } else { 1.0 }
    }
}

/// The FTS5 query for a word or phrase: one quoted string (a substring, with trigrams).
pub fn fts_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Reciprocal Rank Fusion of two rankings of ids (best first; the text's with each hit's
/// weight): fused scores, best first; ties keep the order in which the lists name them.
pub fn fuse(by_look: &[i64], by_text: &[(i64, f32)]) -> Vec<(i64, f32)> {
    let mut score: HashMap<i64, f32> = HashMap::new();
    let mut order: Vec<i64> = Vec::new();
    let look = by_look.iter().map(|&id| (id, 1.0));
    for list in [look.collect::<Vec<_>>(), by_text.to_vec()] {
        for (rank, (id, weight)) in list.into_iter().enumerate() {
            let s = score.entry(id).or_insert_with(|| {
                order.push(id);
                0.0
            });
            *s += weight / (RRF_K + rank as f32 + 1.0);
        }
    }
    let mut fused: Vec<(usize, i64, f32)> = order
        .into_iter()
        .enumerate()
        .map(|(first_seen, id)| (first_seen, id, score[&id]))
        .collect();
    fused.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    fused.into_iter().map(|(_, id, s)| (id, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_parts_are_phrases_and_the_rest_words_of_positive_terms() {
        let q = text_query(r#"router "WiFi Password" + 2:receipt on a beach -cat"#);
        assert_eq!(q.phrases, vec!["wifi password"]);
        assert_eq!(q.words, vec!["router", "receipt", "beach"]);
        // As the image side reads it: a `-` term runs to the next `+`.
        let q = text_query("beach - people with dogs + sunset");
        assert_eq!(q.words, vec!["beach", "sunset"]);
        let q = text_query("你好 世界 a 42 密码");
        assert_eq!(q.words, vec!["你好", "世界", "密码"], "short CJK words count; 42 does not");
    }

    #[test]
    fn half_the_words_are_needed_and_every_phrase() {
        let line = |t: &str| TextLine {
            text: t.into(),
            quad: [(0.0, 0.0); 4],
            score: 1.0,
        };
        let q = text_query(r#"router password "ax1500""#);
        assert_eq!(q.needed(), 1);
        let by_word = vec![
            vec![(1, line("AirBridge AX1500 Router"), -3.0)],
            vec![(1, line("WiFi password: x"), -2.0), (2, line("password"), -5.0)],
        ];
        let by_phrase = vec![vec![(1, line("AirBridge AX1500 Router"), -3.0), (2, line("AX 1500"), -1.0)]];
        let hits = text_hits(&q, &by_word, &by_phrase);
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![1], "2 lacks the phrase");
        assert_eq!(hits[0].words, 2);
        assert_eq!(hits[0].lines.len(), 2);
    }

    #[test]
    fn a_photo_in_both_lists_comes_first() {
        let fused = fuse(&[10, 11, 12], &[(12, 1.0), (20, 1.0)]);
        assert_eq!(fused[0].0, 12);
        assert_eq!(fused.iter().map(|f| f.0).collect::<Vec<_>>(), vec![12, 10, 11, 20]);
        // A hit by a fragment inside other words counts half: after the look's second.
        let fused = fuse(&[10, 11], &[(20, 0.5)]);
        assert_eq!(fused.iter().map(|f| f.0).collect::<Vec<_>>(), vec![10, 11, 20]);
    }

    #[test]
    fn a_word_found_at_a_words_start_ranks_before_one_inside_a_word() {
        assert!(starts_a_word("WiFi password: x", "pass"));
        assert!(!starts_a_word("bypass", "pass"));
        assert!(starts_a_word("(pass)", "pass"));
        assert!(starts_a_word("你好世界", "世界"));
        let line = |t: &str| TextLine {
            text: t.into(),
            quad: [(0.0, 0.0); 4],
            score: 1.0,
        };
        let q = text_query("pass");
        let hits = text_hits(&q, &[vec![(1, line("bypass"), -9.0), (2, line("passport"), -1.0)]], &[]);
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!((hits[0].weight(), hits[1].weight()), (1.0, 0.5));
    }
}

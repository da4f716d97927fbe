//! Searching the words read in photos: `Library::text_search` (the text side of a search) and the
//! whole `Library::search` (the image model's side, the text side, fused) over a copy of the search
//! benchmark's library in which a share of the photos were given words: synthetic OCR lines,
//! made the same way every time, written with `Catalog::store_words` as the reading stage writes
//! them (eight photos a commit).
//!
//! The lines: a vocabulary of 3,000 English-like words (60 real words seen on signs, receipts and
//! screens first, then made-up ones from syllables), drawn with Zipf's law (s = 1, so common words
//! are in thousands of lines, as "total" is); 1 to 20 lines a photo (mostly few), 1 to 6 words a
//! line, some capitalised, some numbers (prices, times); 15% of lines Chinese (400 words of 2 to 4
//! characters, also Zipf-drawn). The queries: 60 different ones, 12 of each kind (a word, two
//! words, a fragment of a word, a quoted phrase from a real line, a Chinese word: half of them
//! two characters, which the trigram index cannot look up).

use std::path::Path;
use std::time::Instant;

use clipstream_core::query::text::{LINES_PER_WORD, fts_string, text_query};
use clipstream_core::store::catalog::{Catalog, DATABASE, TextLine};
use clipstream_core::{Filters, Library, Model, Options, Request};
use serde_json::json;

use crate::measure::{ms_since, percentiles};
use crate::synthetic::Rng;

/// Recorded in the copy's catalog (`meta`) once its words are written: a copy with another tag,
/// share or count is made again.
const TAG: &str = "clipstream-bench synthetic words v1";
/// The reader name the catalog records for the synthetic lines.
const READER: &str = "synthetic lines (clipstream-bench)";
/// Photos whose lines are committed together, as the reading stage commits them.
const COMMIT_EVERY: usize = 8;

/// Words seen on signs, receipts and screens: the most common of the vocabulary, in this order.
const REAL_WORDS: &[&str] = &[
    "total",
    "open",
    "exit",
    "price",
    "sale",
    "menu",
    "coffee",
    "street",
    "receipt",
    "station",
    "password",
    "wifi",
    "parking",
    "entrance",
    "ticket",
    "platform",
    "train",
    "cash",
    "card",
    "change",
    "invoice",
    "thank",
    "welcome",
    "order",
    "table",
    "pizza",
    "bakery",
    "pharmacy",
    "hotel",
    "airport",
    "gate",
    "boarding",
    "passport",
    "name",
    "address",
    "phone",
    "email",
    "account",
    "login",
    "settings",
    "battery",
    "download",
    "message",
    "delete",
    "cancel",
    "confirm",
    "router",
    "network",
    "speed",
    "limit",
    "stop",
    "warning",
    "danger",
    "museum",
    "library",
    "closed",
    "floor",
    "room",
    "breakfast",
    "discount",
];

/// Chinese words seen on signs and receipts: the most common of the Chinese vocabulary.
const REAL_CHINESE: &[&str] = &[
    "出口",
    "欢迎光临",
    "密码",
    "发票",
    "合计",
    "营业时间",
    "停车场",
    "电话",
    "地址",
    "价格",
    "收银台",
    "地铁站",
    "医院",
    "银行",
    "超市",
    "饭店",
    "咖啡",
    "车站",
    "入口",
    "禁止吸烟",
    "洗手间",
    "无线网络",
    "会员卡",
    "找零",
];
/// Characters the made-up Chinese words are drawn from.
const HANZI: &str = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品";

const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
    "cl", "dr", "fl", "gr", "pl", "st", "tr", "sh", "ch", "th", "qu",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou", "io", "y"];
const CODAS: &[&str] = &[
    "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck", "ng", "x",
];

/// Words drawn by Zipf's law over their rank.
struct Zipf {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(words: Vec<String>) -> Self {
        let mut sum = 0.0;
        let cumulative = (0..words.len())
            .map(|r| {
                sum += 1.0 / (r as f64 + 1.0);
                sum
            })
            .collect();
        Self { words, cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.unit_f64() * total;
        let i = self
            .cumulative
            .partition_point(|&c| c < x)
            .min(self.words.len() - 1);
        &self.words[i]
    }
}

/// The English-like and Chinese vocabularies, most common first.
fn vocabularies() -> (Zipf, Zipf) {
    let mut rng = Rng(26);
    let mut english: Vec<String> = REAL_WORDS.iter().map(|w| w.to_string()).collect();
    let mut seen: std::collections::HashSet<String> = english.iter().cloned().collect();
    while english.len() < 3000 {
        let syllables = 1 + rng.below(3);
        let word: String = (0..syllables)
            .map(|_| {
                format!(
                    "{}{}{}",
                    rng.pick(ONSETS),
                    rng.pick(VOWELS),
                    rng.pick(CODAS)
                )
            })
            .collect();
        // What a query keeps (three letters or more, not a stop word) and only once.
        if word.len() >= 3 && !text_query(&word).words.is_empty() && seen.insert(word.clone()) {
            english.push(word);
        }
    }
    let hanzi: Vec<char> = HANZI.chars().collect();
    let mut chinese: Vec<String> = REAL_CHINESE.iter().map(|w| w.to_string()).collect();
    let mut seen: std::collections::HashSet<String> = chinese.iter().cloned().collect();
    while chinese.len() < 400 {
        let len = [2, 2, 2, 3, 4][rng.below(5)];
        let word: String = (0..len).map(|_| hanzi[rng.below(hanzi.len())]).collect();
        if seen.insert(word.clone()) {
            chinese.push(word);
        }
    }
    (Zipf::new(english), Zipf::new(chinese))
}

/// One line of synthetic OCR text.
fn line(rng: &mut Rng, english: &Zipf, chinese: &Zipf) -> String {
    if rng.unit_f64() < 0.15 {
        let mut text: String = (0..1 + rng.below(3))
            .map(|_| chinese.draw(rng).to_string())
            .collect();
        if rng.unit_f64() < 0.3 {
            text.push_str(&format!("：{}", rng.below(10_000)));
        }
        return text;
    }
    (0..1 + rng.below(6))
        .map(|_| {
            let u = rng.unit_f64();
            if u < 0.04 {
                format!("{}.{:02}", rng.below(200), rng.below(100))
            } else if u < 0.08 {
                format!("{:02}:{:02}", rng.below(24), rng.below(60))
            } else if u < 0.12 {
                format!("{}", 1000 + rng.below(99_000))
            } else {
                let w = english.draw(rng);
                let c = rng.unit_f64();
                if c < 0.25 {
                    let mut chars = w.chars();
                    chars.next().map_or(String::new(), |f| {
                        f.to_uppercase().collect::<String>() + chars.as_str()
                    })
                } else if c < 0.35 {
                    w.to_uppercase()
                } else {
                    w.to_string()
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A photo's lines: 1 to 20 (mostly few), each with a box (fractions of the photo) and a score.
fn photo_lines(rng: &mut Rng, english: &Zipf, chinese: &Zipf) -> Vec<TextLine> {
    let n = 1 + (19.0 * rng.unit_f64().powi(2)) as usize;
    (0..n)
        .map(|_| {
            let text = line(rng, english, chinese);
            let (x, y) = (rng.unit_f64() as f32 * 0.5, rng.unit_f64() as f32 * 0.9);
            let (w, h) = (
                0.1 + rng.unit_f64() as f32 * 0.4,
                0.02 + rng.unit_f64() as f32 * 0.06,
            );
            TextLine {
                text,
                quad: [(x, y), (x + w, y), (x + w, y + h), (x, y + h)],
                score: 0.7 + rng.unit_f64() as f32 * 0.3,
            }
        })
        .collect()
}

/// What the copy holds: photos, photos with words, lines.
#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
struct Made {
    tag: String,
    share: f64,
    photos: u64,
    photos_with_words: u64,
    lines: u64,
    /// Phrases from real lines, for the quoted queries.
    phrases: Vec<String>,
    write_s: f64,
}

/// A copy of `template` (catalog and vector index) in `dir` with words for `share` of its photos,
/// made once and reused.
fn words_library(template: &Path, dir: &Path, share: f64) -> anyhow::Result<Made> {
    let template_catalog = Catalog::open(&template.join(DATABASE))?;
    let photos = template_catalog.count_images()?;
    drop(template_catalog);
    let db = dir.join(DATABASE);
    if db.is_file() {
        let catalog = Catalog::open(&db)?;
        if let Some(made) = catalog
            .meta("bench_words")?
            .and_then(|m| serde_json::from_str::<Made>(&m).ok())
            && made.tag == TAG
            && made.share == share
            && made.photos == photos
            && catalog.count_images()? == photos
        {
            return Ok(made);
        }
    }
    eprintln!(
        "ocr: copying {} to {} and giving {:.0}% of its photos words",
        template.display(),
        dir.display(),
        share * 100.0
    );
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    crate::synthetic::copy_library(template, dir)?;
    let started = Instant::now();
    let mut catalog = Catalog::open(&db)?;
    let mut hashes = Vec::with_capacity(photos as usize);
    let mut after = 0;
    loop {
        let page = catalog.words_unread(after, 10_000)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        hashes.extend(page.into_iter().map(|u| u.hash));
    }
    let (english, chinese) = vocabularies();
    let mut rng = Rng(2026);
    let (mut with, mut blank) = (Vec::new(), Vec::new());
    let (mut lines, mut photos_with_words) = (0u64, 0u64);
    let mut phrases = Vec::new();
    for hash in hashes {
        if rng.unit_f64() < share {
            let read = photo_lines(&mut rng, &english, &chinese);
            lines += read.len() as u64;
            photos_with_words += 1;
            // Two neighbouring words of a line (not numbers), now and then, for the phrases.
            if phrases.len() < 12 && photos_with_words % 97 == 0 {
                let tokens: Vec<&str> = read[0].text.split(' ').collect();
                if let Some(pair) = tokens
                    .windows(2)
                    .find(|p| p.iter().all(|t| t.chars().all(char::is_alphabetic)))
                {
                    phrases.push(pair.join(" "));
                }
            }
            with.push((hash, Some(read)));
            if with.len() == COMMIT_EVERY {
                catalog.store_words(READER, &std::mem::take(&mut with))?;
            }
        } else {
            blank.push((hash, Some(Vec::new())));
            if blank.len() == 1000 {
                catalog.store_words(READER, &std::mem::take(&mut blank))?;
            }
        }
    }
    catalog.store_words(READER, &with)?;
    catalog.store_words(READER, &blank)?;
    let made = Made {
        tag: TAG.into(),
        share,
        photos,
        photos_with_words,
        lines,
        phrases,
        write_s: started.elapsed().as_secs_f64(),
    };
    catalog.set_meta("bench_words", &serde_json::to_string(&made)?)?;
    Ok(made)
}

/// The 60 queries, 12 of each kind, and the warm-up's 5 others.
fn queries(phrases: &[String]) -> (Vec<(&'static str, String)>, Vec<String>) {
    let (english, chinese) = vocabularies();
    let word = |rank: usize| english.words[rank].clone();
    let title = |w: String| {
        let mut c = w.chars();
        c.next().map_or(String::new(), |f| {
            f.to_uppercase().collect::<String>() + c.as_str()
        })
    };
    let mut out: Vec<(&str, String)> = Vec::new();
    for (i, rank) in [0, 1, 3, 6, 10, 20, 40, 80, 150, 300, 700, 1500]
        .into_iter()
        .enumerate()
    {
        out.push((
            "word",
            if i % 3 == 0 {
                title(word(rank))
            } else {
                word(rank)
            },
        ));
    }
    for (a, b) in [
        (0, 5),
        (2, 30),
        (4, 100),
        (8, 9),
        (12, 400),
        (25, 60),
        (50, 1000),
        (90, 200),
        (120, 2500),
        (250, 260),
        (500, 800),
        (1200, 2000),
    ] {
        out.push(("two words", format!("{} {}", word(a), word(b))));
    }
    // A fragment: the first four letters, or four from the middle, of a word of six or more.
    for (i, from) in [15, 22, 33, 50, 75, 110, 170, 250, 380, 570, 850, 1300]
        .into_iter()
        .enumerate()
    {
        let Some(w) = english.words[from..]
            .iter()
            .find(|w| w.chars().count() >= 6)
        else {
            continue;
        };
        let w: Vec<char> = w.chars().collect();
        let start = if i % 2 == 0 { 0 } else { (w.len() - 4) / 2 };
        out.push(("fragment", w[start..start + 4].iter().collect()));
    }
    for i in 0..12 {
        let phrase = phrases
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("{} {}", word(i), word(i + 1)));
        out.push(("phrase", format!("\"{phrase}\"")));
    }
    // Chinese words: six of two characters (a scan: too short for trigrams), six longer.
    let (mut two, mut longer) = (Vec::new(), Vec::new());
    for w in &chinese.words {
        let list = if w.chars().count() == 2 {
            &mut two
        } else {
            &mut longer
        };
        if list.len() < 6
            && (list.len() < 3 || chinese.words.iter().position(|x| x == w).unwrap_or(0) > 40)
        {
            list.push(w.clone());
        }
    }
    out.extend(two.into_iter().chain(longer).map(|w| ("chinese", w)));
    let warm = [7, 13, 27, 55, 110].iter().map(|&r| word(r)).collect();
    (out, warm)
}

/// `Library::text_search` (with the query's parse) for each query, `rounds` times, and the whole
/// `Library::search` once each (a query asked for the first time: its text encode included).
pub fn run(
    model_dir: &Path,
    template: &Path,
    dir: &Path,
    share: f64,
    threads: usize,
    rounds: usize,
) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(
        template.join("vectors.usearch.json").is_file(),
        "{} has no vector index: make it with `clipstream-bench search --rebuild`",
        template.display()
    );
    let made = words_library(template, dir, share)?;
    let model = Model::open(model_dir)?;
    let options = Options {
        threads,
        ..Options::default()
    };
    let library = Library::open(dir, Some(&model), options)?;
    let (queries, warm) = queries(&made.phrases);
    let filters = Filters::default();
    for q in &warm {
        library.text_search(&text_query(q), &filters)?;
    }
    let rounds = rounds.max(1);
    let mut all = Vec::new();
    let mut by_kind: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let mut per_query = Vec::new();
    let mut times_of: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
    let mut hits_of = vec![0; queries.len()];
    for _ in 0..rounds {
        for (i, (kind, q)) in queries.iter().enumerate() {
            let t = Instant::now();
            let hits = library.text_search(&text_query(q), &filters)?;
            let ms = ms_since(t);
            hits_of[i] = hits.len();
            times_of[i].push(ms);
            all.push(ms);
            by_kind.entry(kind).or_default().push(ms);
        }
    }
    // The whole search, each query asked once (first time: the text model encodes it), then
    // again at once (its embedding one of the encoder's recent ones: the search without the
    // encode). And the catalog's lookups alone (what `text_search` asks SQLite), for where the
    // time goes.
    let catalog = Catalog::open(&dir.join(DATABASE))?;
    let (mut search_ms, mut repeated_ms) = (Vec::new(), Vec::new());
    for (i, (kind, q)) in queries.iter().enumerate() {
        let t = Instant::now();
        let results = library.search(&Request::new(q.as_str(), 20))?;
        let ms = ms_since(t);
        search_ms.push(ms);
        let t = Instant::now();
        library.search(&Request::new(q.as_str(), 20))?;
        let repeated = ms_since(t);
        repeated_ms.push(repeated);
        let parsed = text_query(q);
        let t = Instant::now();
        let mut lines = 0;
        for w in parsed.words.iter().chain(&parsed.phrases) {
            lines += if w.chars().count() >= 3 {
                catalog.text_matches(&fts_string(w), LINES_PER_WORD)?.len()
            } else {
                catalog.text_scan(w, LINES_PER_WORD)?.len()
            };
        }
        let sql_ms = ms_since(t);
        let (p50, _) = percentiles(&mut times_of[i]);
        per_query.push(json!({
            "kind": kind, "query": q, "text_hits": hits_of[i], "lines_fetched": lines,
            "text_search_ms_p50": p50, "catalog_lookups_ms": sql_ms,
            "search_ms": ms, "search_repeated_ms": repeated, "results": results.hits.len(),
            "results_with_words": results.hits.iter().filter(|h| !h.text.is_empty()).count(),
        }));
    }
    let (p50, p99) = percentiles(&mut all);
    let (search_p50, search_p99) = percentiles(&mut search_ms);
    let (repeated_p50, repeated_p99) = percentiles(&mut repeated_ms);
    let kinds: serde_json::Map<String, serde_json::Value> = by_kind
        .into_iter()
        .map(|(k, mut v)| {
            let (p50, p99) = percentiles(&mut v);
            (
                k.to_string(),
                json!({"p50": p50, "p99": p99, "max": v.last()}),
            )
        })
        .collect();
    let db_mib =
        std::fs::metadata(dir.join(DATABASE)).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0));
    Ok(json!({
        "n": library.status()?.images,
        "p50": p50,
        "p99": p99,
        "queries": queries.len(),
        "rounds": rounds,
        "by_kind": kinds,
        "mean_text_hits": hits_of.iter().sum::<usize>() as f64 / queries.len() as f64,
        "search_e2e_ms": {"p50": search_p50, "p99": search_p99, "limit": 20,
                          "repeated_query_p50": repeated_p50, "repeated_query_p99": repeated_p99},
        "photos_with_words": made.photos_with_words,
        "share_with_words": share,
        "lines": made.lines,
        "words_write_s": made.write_s,
        "catalog_mib": db_mib,
        "library": dir,
        "per_query": per_query,
    }))
}

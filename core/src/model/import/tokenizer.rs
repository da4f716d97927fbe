//! The checkpoint's BPE vocabulary and merges as the `tokenizer.json` the runtime loads: the same
//! tokenizer `models/clipstream_models/tokenizer.py` builds (OpenAI's text cleaning that a
//! normalizer can express, OpenAI's split pattern without its special-token alternatives, no
//! padding or truncation: the context length is applied from the manifest).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::{Lowercase, NFC, Replace, Sequence, Strip};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{NormalizerWrapper, SplitDelimiterBehavior, Tokenizer};
use unicode_normalization::UnicodeNormalization;

pub const START_OF_TEXT: &str = "<|startoftext|>";
pub const END_OF_TEXT: &str = "<|endoftext|>";
const SPLIT_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

/// ftfy's fixes that are plain substitutions (uncurl_quotes, fix_latin_ligatures), in tokenizer.py's
/// order; the full- and half-width forms follow them.
const CHARACTER_FIXES: &[(&str, &str)] = &[
    ("\u{2018}", "'"),
    ("\u{2019}", "'"),
    ("\u{201a}", "'"),
    ("\u{201b}", "'"),
    ("\u{2032}", "'"),
    ("\u{201c}", "\""),
    ("\u{201d}", "\""),
    ("\u{201e}", "\""),
    ("\u{201f}", "\""),
    ("\u{2033}", "\""),
    ("\u{fb00}", "ff"),
    ("\u{fb01}", "fi"),
    ("\u{fb02}", "fl"),
    ("\u{fb03}", "ffi"),
    ("\u{fb04}", "ffl"),
    ("\u{fb05}", "st"),
    ("\u{fb06}", "st"),
    ("\u{0132}", "IJ"),
    ("\u{0133}", "ij"),
    ("\u{0149}", "\u{02bc}n"),
    ("\u{01c4}", "D\u{017d}"),
    ("\u{01c5}", "D\u{017e}"),
    ("\u{01c6}", "d\u{017e}"),
    ("\u{01c7}", "LJ"),
    ("\u{01c8}", "Lj"),
    ("\u{01c9}", "lj"),
    ("\u{01ca}", "NJ"),
    ("\u{01cb}", "Nj"),
    ("\u{01cc}", "nj"),
];

pub struct Vocabulary {
    pub tokens: HashMap<String, u32>,
    pub merges: Vec<(String, String)>,
}

impl Vocabulary {
    pub fn id(&self, token: &str) -> Option<u32> {
        self.tokens.get(token).copied()
    }
}

/// Reads `vocab.json` + `merges.txt`, or else the model section of a `tokenizer.json`.
pub fn read(dir: &Path) -> Result<Vocabulary, String> {
    let (vocab, merges) = (dir.join("vocab.json"), dir.join("merges.txt"));
    if vocab.is_file() && merges.is_file() {
        let text = std::fs::read_to_string(&vocab).map_err(|e| format!("vocab.json: {e}"))?;
        let tokens: HashMap<String, u32> =
            serde_json::from_str(&text).map_err(|e| format!("vocab.json: {e}"))?;
        let text = std::fs::read_to_string(&merges).map_err(|e| format!("merges.txt: {e}"))?;
        let mut pairs = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.is_empty() || (n == 0 && line.starts_with("#version")) {
                continue;
            }
            let mut parts = line.split(' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(a), Some(b), None) => pairs.push((a.to_string(), b.to_string())),
                _ => return Err(format!("merges.txt line {}: {line:?} is not a pair", n + 1)),
            }
        }
        return Ok(Vocabulary {
            tokens,
            merges: pairs,
        });
    }
    let path = dir.join("tokenizer.json");
    if !path.is_file() {
        return Err("no tokenizer: it needs vocab.json and merges.txt, or tokenizer.json".into());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("tokenizer.json: {e}"))?;
    let root: Value = serde_json::from_str(&text).map_err(|e| format!("tokenizer.json: {e}"))?;
    let model = &root["model"];
    if model["type"].as_str() != Some("BPE") {
        return Err("tokenizer.json holds no BPE model (CLIP's tokenizer is BPE)".into());
    }
    let tokens: HashMap<String, u32> = serde_json::from_value(model["vocab"].clone())
        .map_err(|e| format!("tokenizer.json model.vocab: {e}"))?;
    let mut merges = Vec::new();
    for m in model["merges"].as_array().into_iter().flatten() {
        // Older files write a merge as "a b", newer ones as ["a", "b"].
        let pair = match m {
            Value::String(s) => s
                .split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string())),
            Value::Array(v) => match (
                v.first().and_then(Value::as_str),
                v.get(1).and_then(Value::as_str),
            ) {
                (Some(a), Some(b)) if v.len() == 2 => Some((a.to_string(), b.to_string())),
                _ => None,
            },
            _ => None,
        };
        merges.push(pair.ok_or_else(|| format!("tokenizer.json: merge {m} is not a pair"))?);
    }
    Ok(Vocabulary { tokens, merges })
}

/// The tokenizer, ready to save as `tokenizer.json`.
pub fn build(vocab: &Vocabulary) -> Result<Tokenizer, String> {
    let sot = vocab
        .id(START_OF_TEXT)
        .ok_or("the vocabulary has no <|startoftext|> token")?;
    let eot = vocab
        .id(END_OF_TEXT)
        .ok_or("the vocabulary has no <|endoftext|> token")?;
    let bpe = BPE::builder()
        .vocab_and_merges(
            vocab
                .tokens
                .iter()
                .map(|(t, id)| (t.clone(), *id))
                .collect::<tokenizers::models::bpe::Vocab>(),
            vocab.merges.clone(),
        )
        .unk_token(END_OF_TEXT.into())
        .continuing_subword_prefix(String::new())
        .end_of_word_suffix("</w>".into())
        .fuse_unk(false)
        .build()
        .map_err(|e| format!("the BPE vocabulary and merges do not fit together: {e}"))?;
    let mut normalizers: Vec<NormalizerWrapper> = Vec::new();
    for (from, to) in character_fixes() {
        normalizers.push(replace(from.as_str(), to)?.into());
    }
    normalizers.push(NFC.into());
    normalizers.push(
        Replace::new(
            tokenizers::normalizers::replace::ReplacePattern::Regex(r"\s+".into()),
            " ",
        )
        .map_err(|e| e.to_string())?
        .into(),
    );
    normalizers.push(Strip::new(true, true).into());
    normalizers.push(Lowercase.into());
    let split = Split::new(
        SplitPattern::Regex(SPLIT_PATTERN.into()),
        SplitDelimiterBehavior::Removed,
        true,
    )
    .map_err(|e| e.to_string())?;
    let post = TemplateProcessing::builder()
        .try_single(format!("{START_OF_TEXT} $A {END_OF_TEXT}"))
        .map_err(|e| e.to_string())?
        .special_tokens(vec![(START_OF_TEXT, sot), (END_OF_TEXT, eot)])
        .build()
        .map_err(|e| e.to_string())?;
    let mut tok = Tokenizer::new(bpe);
    tok.with_normalizer(Some(Sequence::new(normalizers)))
        .with_pre_tokenizer(Some(PreSequence::new(vec![
            split.into(),
            ByteLevel::new(false, true, false).into(),
        ])))
        .with_post_processor(Some(post))
        .with_decoder(Some(ByteLevelDecoder::default()));
    Ok(tok)
}

fn replace(from: &str, to: String) -> Result<Replace, String> {
    Replace::new(from, to).map_err(|e| e.to_string())
}

/// The substitutions, then every full/half-width form that NFKC folds (fix_character_width).
fn character_fixes() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = CHARACTER_FIXES
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    for code in 0xFF01..0xFFEF_u32 {
        let Some(c) = char::from_u32(code) else {
            continue;
        };
        let folded: String = c.to_string().nfkc().collect();
        if folded != c.to_string() {
            out.push((c.to_string(), folded));
        }
    }
    out
}

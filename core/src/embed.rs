//! Query text → embedding: CLIP BPE tokenizer + the ONNX text tower, fed the query's real length.
//!
//! No padding: attention is causal and the tower reads out the end-of-text position, so padding
//! cannot change the result; it only costs time (77 positions instead of ~8 for a typical query).

use std::sync::Mutex;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use tokenizers::Tokenizer;
use tokenizers::utils::truncation::{TruncationDirection, TruncationParams, TruncationStrategy};

use crate::model::Model;
use crate::{Error, Result, runtime};

/// Threads ONNX Runtime may use inside one model run; the default is every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// One ONNX session, created once and reused. `Session::run` needs `&mut`, hence the mutex.
pub(crate) fn open_session(model: &Model, file: &str, threads: usize) -> Result<Mutex<Session>> {
    let path = model.file(file);
    let fail = |e: ort::Error| Error::Inference {
        path: path.clone(),
        reason: e.to_string(),
    };
    let env = runtime::environment()?;
    let session = Session::builder(env)
        .map_err(fail)?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| fail(e.into()))?
        .with_intra_threads(threads)
        .map_err(|e| fail(e.into()))?
        .with_inter_threads(1)
        .map_err(|e| fail(e.into()))?
        .commit_from_file(&path)
        .map_err(fail)?;
    Ok(Mutex::new(session))
}

/// Encodes search queries with the model's tokenizer and text tower.
pub struct TextEncoder {
    model: Model,
    tokenizer: Tokenizer,
    session: Mutex<Session>,
}

impl TextEncoder {
    pub fn new(model: &Model, threads: usize) -> Result<Self> {
        let m = &model.manifest;
        let tok_path = model.file(&m.tokenizer.file);
        let tok_err = |reason: String| Error::Tokenizer {
            path: tok_path.clone(),
            reason,
        };
        let mut tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| tok_err(e.to_string()))?;
        // Truncate to the context length, both special tokens included: EOT stays last.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: m.context_length,
                strategy: TruncationStrategy::LongestFirst,
                direction: TruncationDirection::Right,
                stride: 0,
            }))
            .map_err(|e| tok_err(e.to_string()))?;
        tokenizer.with_padding(None);
        let session = open_session(model, &m.text.file, threads)?;
        Ok(Self {
            model: model.clone(),
            tokenizer,
            session,
        })
    }

    /// Token ids of `text` as the model sees them: `<|startoftext|> … <|endoftext|>`, unpadded.
    pub fn token_ids(&self, text: &str) -> Result<Vec<i64>> {
        let path = self.model.file(&self.model.manifest.tokenizer.file);
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| Error::Tokenizer {
                path,
                reason: e.to_string(),
            })?;
        Ok(encoding.get_ids().iter().map(|&id| i64::from(id)).collect())
    }

    /// The L2-normalised embedding of `text`.
    pub fn encode(&self, text: &str) -> Result<Vec<f32>> {
        let ids = self.token_ids(text)?;
        let spec = &self.model.manifest.text;
        let path = self.model.file(&spec.file);
        let fail = |e: ort::Error| Error::Inference {
            path: path.clone(),
            reason: e.to_string(),
        };
        let input = Tensor::from_array(([1usize, ids.len()], ids)).map_err(fail)?;
        // A poisoned lock only means another thread panicked mid-run; the session itself is intact.
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session
            .run(ort::inputs![spec.input.as_str() => input])
            .map_err(fail)?;
        let (_, values) = outputs[spec.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(fail)?;
        Ok(normalized(values))
    }
}

/// `v / |v|` (a zero vector stays zero).
pub fn normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        v.to_vec()
    } else {
        v.iter().map(|x| x / norm).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_has_unit_length() {
        let n = normalized(&[3.0, 4.0]);
        assert!((n[0] - 0.6).abs() < 1e-6 && (n[1] - 0.8).abs() < 1e-6);
        assert_eq!(normalized(&[0.0, 0.0]), vec![0.0, 0.0]);
    }
}

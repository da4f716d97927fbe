//! From a question to ranked answers.
//!
//! - [`search`]: requests and answers (filters, hits), query parsing, scoring and the relevance
//!   cutoff; pure.
//! - [`pipeline`]: a search end to end: terms → embeddings → nearest images → cutoff → hits.
//! - [`text`]: the query's words against the words read in photos, and rank fusion.
//! - [`duplicates`]: identical and near-identical photos.

pub mod duplicates;
pub mod pipeline;
pub mod search;
pub mod text;

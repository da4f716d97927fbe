//! The one error that crosses to the UI: `{code, message}`. The UI switches on `code` and shows
//! `message`; it never matches message text.

use clipstream_core::Error;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::RuntimeMissing { .. } | Error::RuntimeLoad { .. } => "runtime_missing",
            Error::ModelMissing { .. } | Error::ModelNotFound { .. } | Error::NoModel => "no_model",
            Error::Manifest { .. } | Error::ModelFile { .. } | Error::Tokenizer { .. } => {
                "model_invalid"
            }
            Error::ModelMismatch { .. } => "model_mismatch",
            Error::UnknownImage { .. } | Error::UnknownFolder { .. } => "not_found",
            // The UI says the drive is not connected (and keeps the photo's thumbnail).
            Error::Offline { .. } => "offline",
            Error::Busy { .. } | Error::IndexBuilding { .. } => "busy",
            Error::Query(_) => "bad_query",
            Error::Io { .. } => "io",
            Error::Catalog { .. } | Error::VectorIndex { .. } => "library",
            Error::DiskFull { .. } => "disk_full",
            Error::Inference { .. } => "inference",
            Error::Internal(_) => "internal",
            Error::Import { .. } => "import",
            Error::Download { .. } | Error::Repository { .. } => "download",
            Error::Cancelled => "cancelled",
        };
        Self::new(code, e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

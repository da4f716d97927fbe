//! The `thumb:` and `preview:` URI schemes. The webview names an image by its catalog id and
//! nothing else: the request's path must be a plain decimal id, which is looked up in the catalog.
//! No part of the request ever becomes a file path, so traversal, absolute paths, encoded
//! separators and symlinks out of the folders have nothing to act on.

use std::sync::Arc;

use clipstream_core::Library;
use tauri::http::{Method, Request, Response, StatusCode, header};

use crate::error::ApiResult;

/// Longest side of a full-size preview; larger photos are scaled down for the screen.
pub const PREVIEW_MAX_SIDE: u32 = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Thumbnail,
    Preview,
}

impl Kind {
    pub const fn scheme(self) -> &'static str {
        match self {
            Kind::Thumbnail => "thumb",
            Kind::Preview => "preview",
        }
    }
}

/// The catalog id in a request path: `/` followed by decimal digits only.
pub fn parse_id(path: &str) -> Option<i64> {
    let digits = path.strip_prefix('/')?;
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&id| id > 0)
}

/// Answer one request: 200 with a JPEG, 404 for anything that is not a catalogued image.
pub fn respond(
    library: ApiResult<Arc<Library>>,
    kind: Kind,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    if request.method() != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "only GET");
    }
    let Some(id) = parse_id(request.uri().path()) else {
        return plain(StatusCode::NOT_FOUND, "not a catalogued image");
    };
    let library = match library {
        Ok(lib) => lib,
        Err(e) => return plain(StatusCode::SERVICE_UNAVAILABLE, &e.message),
    };
    let bytes = match kind {
        Kind::Thumbnail => library.thumbnail(id),
        Kind::Preview => library.preview(id, PREVIEW_MAX_SIDE),
    };
    match bytes {
        Ok(bytes) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "image/jpeg")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            // An id names fixed content: a changed file is catalogued under a new id.
            .header(header::CACHE_CONTROL, "private, max-age=86400")
            .body(bytes)
            .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "response")),
        Err(clipstream_core::Error::UnknownImage { .. }) => {
            plain(StatusCode::NOT_FOUND, "not a catalogued image")
        }
        // Catalogued but unreadable now (file deleted, drive unplugged).
        Err(e) => plain(StatusCode::GONE, &e.to_string()),
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(text.as_bytes().to_vec())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_decimal_ids_parse() {
        assert_eq!(parse_id("/1"), Some(1));
        assert_eq!(parse_id("/123456"), Some(123_456));
        for bad in [
            "",
            "/",
            "1",
            "/0",
            "/-1",
            "/+1",
            "/0x10",
            "/1e3",
            "/ 1",
            "/1 ",
            "/1/",
            "//1",
            "/1/2",
            "/../1",
            "/1/..",
            "/%2e%2e%2f1",
            "/..%2f..%2fetc%2fpasswd",
            "/etc/passwd",
            "/home/user/photo.jpg",
            "/C:%5Cphoto.jpg",
            "/1%00",
            "/１",
            "/9999999999999999999",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?} must not parse");
        }
    }
}

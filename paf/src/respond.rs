//! Ready-made responses for the usual cases.
//!
//! ```
//! use paf::respond;
//!
//! let hello = respond::text("Hello, world!");
//! assert_eq!(hello.status(), 200);
//! let gone = respond::not_found();
//! assert_eq!(gone.status(), 404);
//! let moved = respond::redirect(http::StatusCode::MOVED_PERMANENTLY, "/new")?;
//! assert_eq!(moved.headers()["location"], "/new");
//! # Ok::<(), http::header::InvalidHeaderValue>(())
//! ```

use std::io;
use std::path::Path;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Response, StatusCode};

use crate::body::Body;

const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

fn with_type(status: StatusCode, body: Body, content_type: HeaderValue) -> Response<Body> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, content_type);
    res
}

/// `200 OK` with a UTF-8 text body.
pub fn text(body: impl Into<String>) -> Response<Body> {
    with_type(StatusCode::OK, Body::full(body.into()), TEXT)
}

/// `200 OK` with a binary body.
pub fn bytes(body: impl Into<Bytes>) -> Response<Body> {
    with_type(
        StatusCode::OK,
        Body::full(body.into()),
        HeaderValue::from_static("application/octet-stream"),
    )
}

/// A status with a short text body saying what it is.
pub fn status(status: StatusCode) -> Response<Body> {
    let reason = status.canonical_reason().unwrap_or("");
    let body = if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        Body::empty()
    } else {
        Body::full(format!("{} {reason}\n", status.as_u16()))
    };
    with_type(status, body, TEXT)
}

/// `404 Not Found`.
pub fn not_found() -> Response<Body> {
    status(StatusCode::NOT_FOUND)
}

/// An error status (`500` if `status` is not an error) with `message` as
/// the text body.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    let status = if status.is_client_error() || status.is_server_error() {
        status
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let mut message = message.into();
    if !message.ends_with('\n') {
        message.push('\n');
    }
    with_type(status, Body::full(message), TEXT)
}

/// A redirection to `location` with a 3xx `status` (`302 Found` if `status`
/// is not a redirection). Fails if `location` is not a valid header value.
pub fn redirect(
    status: StatusCode,
    location: &str,
) -> Result<Response<Body>, http::header::InvalidHeaderValue> {
    let status = if status.is_redirection() {
        status
    } else {
        StatusCode::FOUND
    };
    let location = HeaderValue::from_str(location)?;
    let mut res = self::status(status);
    res.headers_mut().insert(LOCATION, location);
    Ok(res)
}

/// `200 OK` with the contents of a file, streamed from disk, its length
/// and a content type guessed from its extension.
///
/// Fails as opening the file fails: map
/// [`io::ErrorKind::NotFound`] to [`not_found`] and so on.
pub async fn file(path: impl AsRef<Path>) -> io::Result<Response<Body>> {
    let path = path.as_ref();
    let file = tokio::fs::File::open(path).await?;
    let metadata = file.metadata().await?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024);
    let mut res = with_type(
        StatusCode::OK,
        Body::from_stream(stream),
        content_type(path),
    );
    res.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(metadata.len()));
    Ok(res)
}

/// The content type for a file name's extension (from the `mime_guess`
/// table), with `charset=utf-8` for text; `application/octet-stream` when
/// the extension is unknown.
pub fn content_type(path: &Path) -> HeaderValue {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let value = if mime.type_() == mime_guess::mime::TEXT && mime.get_param("charset").is_none() {
        HeaderValue::from_str(&format!("{mime}; charset=utf-8"))
    } else {
        HeaderValue::from_str(mime.as_ref())
    };
    value.unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_set_status_and_type() {
        assert_eq!(
            text("hi").headers()[CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(error(StatusCode::OK, "x").status(), 500);
        assert_eq!(error(StatusCode::BAD_GATEWAY, "x").status(), 502);
        let r = redirect(StatusCode::OK, "/x").expect("a valid location");
        assert_eq!(r.status(), StatusCode::FOUND);
        assert!(redirect(StatusCode::FOUND, "bad\nvalue").is_err());
        assert_eq!(
            content_type(Path::new("a/INDEX.HTML")),
            "text/html; charset=utf-8"
        );
    }

    #[tokio::test]
    async fn file_streams_with_its_length() {
        let dir = std::env::temp_dir().join(format!("paf-respond-{}", std::process::id()));
        tokio::fs::create_dir_all(&dir).await.expect("temp dir");
        let path = dir.join("data.json");
        tokio::fs::write(&path, b"{\"a\":1}").await.expect("write");
        let res = file(&path).await.expect("file opens");
        assert_eq!(res.headers()[CONTENT_LENGTH], "7");
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
        let body = res.into_body().bytes().await.expect("body");
        assert_eq!(body, "{\"a\":1}");
        assert!(
            file(dir.join("missing"))
                .await
                .is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
        );
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }
}

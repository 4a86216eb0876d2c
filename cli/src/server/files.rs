//! Static files: resolving a request to a file or directory under the
//! served root, and answering it.
//!
//! - Only `GET` and `HEAD` are allowed (`405` with `Allow: GET, HEAD`).
//! - A path with a `..` segment, an encoded `/`, a `\` or a NUL byte is
//!   refused with `400` before the file system is touched (see `path.rs`).
//! - The resolved path is canonicalized and must lie under the (canonical)
//!   root: a symbolic link leading outside is refused with `403`, unless
//!   symbolic links are followed.
//! - What the canonical path names is then opened as `open.rs` says, and
//!   checked again by the open handle: a component swapped for a link or a
//!   FIFO in the meantime is refused.
//! - A directory is answered with its `index.html` when it has one, with a
//!   listing otherwise; asked for without a trailing `/`, it is redirected
//!   (`301`) to the form with one, so relative links work. The `Location`
//!   is made from the checked path's segments, re-encoded: it always starts
//!   with a single `/`, so it never names another host (`//evil.com`).
//! - A file is answered with its validators (`ETag`, `Last-Modified`),
//!   preconditions evaluated (`304`, `412`), and `Range` honoured: one range
//!   gives a `206`, several a `multipart/byteranges` `206` (up to
//!   [`MAX_RANGES`], and only if they do not add up to more than the file;
//!   otherwise the whole file), none satisfiable a `416`.
//! - Anything else (sockets, FIFOs, devices) is `404`: never read.
//!
//! The lookup (canonical path, checks, opening) runs on the blocking pool
//! in one hop. A small file read whole is then kept by `cache/`, and a
//! request for the same URL path is answered from it, on the connection's
//! thread, for as long as the file system says the file is unchanged.

use std::hash::{BuildHasher, Hasher};
use std::io;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{ACCEPT_RANGES, ALLOW, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use paf::body::FileRegion;
use paf::{Body, respond};

use super::cache::{self, Cache, Identity, Keep, Trust};
use super::conditional::Precondition;
use super::file_body::{self, FileBody, Part, Source};
use super::listing;
use super::open::{self, Kind};
use super::path;
use super::range::{self, MAX_RANGES, Ranges};
use super::representation::Representation;

/// The static file handler for one root directory.
#[derive(Debug)]
pub(crate) struct Files {
    /// Shared with the lookups on the blocking pool.
    lookup: Arc<Lookup>,
    cache: Cache,
}

/// What [`Files`] needs to look a request up on the blocking pool.
#[derive(Debug)]
struct Lookup {
    root: PathBuf,
    follow_symlinks: bool,
}

/// The answer to a request refused during a lookup, boxed: it travels back
/// from the blocking pool through every step.
type Refusal = Box<Response<Body>>;

/// What a request's path led to.
enum Found {
    /// A regular file, open; with what keeping it in the cache needs when
    /// it was read whole.
    File(Arc<Representation>, Option<Keep>),
    /// A directory asked for without a trailing `/`.
    Redirect,
    /// A directory without an index, at this canonical path.
    Listing(PathBuf),
}

impl Files {
    /// Serves `root`, which must be canonical (absolute, no symbolic link).
    pub(crate) fn new(root: PathBuf, follow_symlinks: bool) -> Files {
        Files {
            lookup: Arc::new(Lookup {
                root,
                follow_symlinks,
            }),
            cache: Cache::default(),
        }
    }

    /// The directory served.
    pub(crate) fn root(&self) -> &Path {
        &self.lookup.root
    }

    /// The answer to a request: from the cache when it still holds the
    /// file the request's path led to, else looked up on the blocking pool
    /// (one hop for the whole lookup).
    pub(crate) async fn respond(&self, req: &Parts) -> Response<Body> {
        let is_head = req.method == Method::HEAD;
        if req.method != Method::GET && !is_head {
            let mut res = respond::error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} is not allowed here; use GET or HEAD", req.method),
            );
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return res;
        }
        let url_path = req.uri.path();
        if let Some(representation) = self.cache.get(url_path) {
            return answer(req, &representation);
        }
        let relative = match path::relative(url_path) {
            Ok(relative) => relative,
            Err(why) => return respond::error(StatusCode::BAD_REQUEST, format!("{why}")),
        };
        let lookup = self.lookup.clone();
        let wants_directory = url_path.ends_with('/');
        let wanted = relative.clone();
        let found = tokio::task::spawn_blocking(move || lookup.find(&wanted, wants_directory));
        let found = match found.await {
            Ok(Ok(found)) => found,
            Ok(Err(res)) => return *res,
            Err(err) => {
                tracing::warn!(%err, "a file lookup failed");
                return respond::status(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        match found {
            Found::File(representation, keep) => {
                if let Some(keep) = keep {
                    self.cache.insert(url_path, keep, representation.clone());
                }
                answer(req, &representation)
            }
            Found::Redirect => to_directory(&relative, req.uri.query()),
            Found::Listing(path) => {
                let (root, follow) = (&self.lookup.root, self.lookup.follow_symlinks);
                match listing::render(&path, url_path, root, follow).await {
                    Ok(page) => html(page, is_head),
                    Err(err) => io_error(&err, &path),
                }
            }
        }
    }
}

impl Lookup {
    /// What `relative` leads to under the root, on the calling (blocking)
    /// thread; `wants_directory` when the URL ended with `/`.
    fn find(&self, relative: &Path, wants_directory: bool) -> Result<Found, Refusal> {
        let joined = self.root.join(relative);
        let path = self.resolve(&joined)?;
        let metadata = std::fs::metadata(&path).map_err(|err| refusal(&err, &path))?;
        if metadata.is_dir() {
            if !wants_directory {
                return Ok(Found::Redirect);
            }
            if let Ok(index) = self.resolve(&path.join("index.html"))
                && std::fs::metadata(&index).is_ok_and(|m| m.is_file())
            {
                return self.file(index, joined.join("index.html"));
            }
            return Ok(Found::Listing(path));
        }
        if metadata.is_file() && !wants_directory {
            return self.file(path, joined);
        }
        Err(Box::new(respond::not_found()))
    }

    /// The canonical form of `path`, if it lies under the root (or
    /// symbolic links are followed).
    fn resolve(&self, path: &Path) -> Result<PathBuf, Refusal> {
        let real = std::fs::canonicalize(path).map_err(|err| refusal(&err, path))?;
        if !self.follow_symlinks && !real.starts_with(&self.root) {
            tracing::debug!(path = %path.display(), real = %real.display(), "refused: outside the root");
            return Err(Box::new(respond::error(
                StatusCode::FORBIDDEN,
                "a symbolic link leads outside the served directory",
            )));
        }
        Ok(real)
    }

    /// The regular file at `path` (canonical), found at `checked_by`,
    /// opened; read whole when it is small and settled, so that the cache
    /// can keep it.
    fn file(&self, path: PathBuf, checked_by: PathBuf) -> Result<Found, Refusal> {
        let (file, metadata) = open::open(&path, Kind::File, &self.root, self.follow_symlinks)
            .map_err(|err| refusal(&err, &path))?;
        let identity = Identity::of(&metadata);
        let trust = cache::trust(&file);
        if metadata.len() <= cache::MAX_FILE
            && identity.settled(SystemTime::now())
            && trust != Trust::Nothing
            && let Ok(contents) = file_body::read_exact_at(&file, 0, metadata.len())
            // Unchanged while it was read: these are the contents of this
            // version.
            && file.metadata().is_ok_and(|m| Identity::of(&m) == identity)
        {
            let source = Source::Memory(contents);
            let representation = Arc::new(Representation::new(&path, &metadata, source));
            let keep = Keep {
                // No symbolic link on the way: what is watched is what the
                // URL path leads to.
                watchable: trust == Trust::Events && checked_by == path,
                checked_by,
                identity,
            };
            return Ok(Found::File(representation, Some(keep)));
        }
        let source = Source::File(Arc::new(file));
        let mut representation = Representation::new(&path, &metadata, source);
        representation.sendfile = trust != Trust::Nothing;
        Ok(Found::File(Arc::new(representation), None))
    }
}

/// `301` to the directory's path with a trailing `/`, query kept.
fn to_directory(relative: &Path, query: Option<&str>) -> Response<Body> {
    respond::redirect(
        StatusCode::MOVED_PERMANENTLY,
        &directory_location(relative, query),
    )
    .unwrap_or_else(|_| respond::status(StatusCode::BAD_REQUEST))
}

/// `/` and the segments of `relative` (normal components only), each
/// percent-encoded as a listing encodes links, each followed by `/`; then
/// `?query`. Never `//...`: the first segment is never empty.
pub(super) fn directory_location(relative: &Path, query: Option<&str>) -> String {
    let mut location = String::from("/");
    for component in relative.components() {
        if let Component::Normal(segment) = component {
            location.extend(percent_encoding::percent_encode(
                segment.as_bytes(),
                crate::util::SEGMENT,
            ));
            location.push('/');
        }
    }
    if let Some(query) = query {
        location.push('?');
        location.push_str(query);
    }
    location
}

/// A listing page (its headers only for `HEAD`).
fn html(page: String, is_head: bool) -> Response<Body> {
    let length = page.len();
    let body = if is_head {
        Body::empty()
    } else {
        Body::full(page)
    };
    let mut res = Response::new(body);
    let headers = res.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    res
}

/// The answer for a regular file.
fn answer(req: &Parts, file: &Representation) -> Response<Body> {
    match file.validators.evaluate(&req.method, &req.headers) {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::NOT_MODIFIED;
            return with_headers(res, file.validator_fields.clone());
        }
        Precondition::Failed => {
            let res = respond::status(StatusCode::PRECONDITION_FAILED);
            return with_headers(res, file.validator_fields.clone());
        }
    }
    let len = file.len;
    // The whole representation's fields; a partial answer changes some.
    let mut headers = file.fields.clone();
    let (status, parts) = match ranges(req, file) {
        Ranges::Unsatisfiable => {
            let mut res = respond::status(StatusCode::RANGE_NOT_SATISFIABLE);
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                res.headers_mut().insert(CONTENT_RANGE, value);
            }
            let mut fields = file.validator_fields.clone();
            fields.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return with_headers(res, fields);
        }
        Ranges::Satisfiable(ranges) if ranges.len() == 1 => {
            let range = &ranges[0];
            if let Ok(value) = HeaderValue::from_str(&range::content_range(range, len)) {
                headers.insert(CONTENT_RANGE, value);
            }
            (StatusCode::PARTIAL_CONTENT, vec![file_part(range)])
        }
        Ranges::Satisfiable(ranges)
            if ranges.len() <= MAX_RANGES
                && ranges.iter().map(|r| r.end - r.start).sum::<u64>() <= len =>
        {
            let (boundary, parts) = multipart(&ranges, len, &file.content_type);
            if let Ok(value) =
                HeaderValue::from_str(&format!("multipart/byteranges; boundary={boundary}"))
            {
                headers.insert(CONTENT_TYPE, value);
            }
            (StatusCode::PARTIAL_CONTENT, parts)
        }
        Ranges::Whole | Ranges::Satisfiable(_) => {
            if let Source::Memory(contents) = &file.source {
                // Served as it is: no parts to walk through.
                let body = body_for(req, || Body::full(contents.clone()));
                return with_headers(Response::new(body), headers);
            }
            (StatusCode::OK, vec![file_part(&(0..len))])
        }
    };
    let mut res = file_response(req, file, parts, &mut headers);
    *res.status_mut() = status;
    with_headers(res, headers)
}

/// The ranges a request asks for. They apply to GET only (RFC 9110,
/// section 14.2): a HEAD gets the headers of the whole representation.
fn ranges(req: &Parts, file: &Representation) -> Ranges {
    match req.headers.get(RANGE) {
        Some(value)
            if req.method == Method::GET
                && file
                    .validators
                    .if_range_holds(&req.headers, SystemTime::now()) =>
        {
            value
                .to_str()
                .map_or(Ranges::Whole, |value| range::parse(value, file.len))
        }
        _ => Ranges::Whole,
    }
}

/// The response carrying `parts` of `file`, its `content-length` set in
/// `headers`; a body that is one part of an open file on a local file
/// system can go by `sendfile(2)`.
fn file_response(
    req: &Parts,
    file: &Representation,
    parts: Vec<Part>,
    headers: &mut HeaderMap,
) -> Response<Body> {
    let region = match (&file.source, parts.as_slice()) {
        (Source::File(open), [Part::File { offset, len }])
            if req.method == Method::GET && file.sendfile =>
        {
            Some(FileRegion::new(open.clone(), *offset, *len))
        }
        _ => None,
    };
    let body = FileBody::new(file.source.clone(), parts);
    let length = http_body::Body::size_hint(&body).exact().unwrap_or(0);
    if length != file.len {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
    let mut res = Response::new(body_for(req, || Body::new(body)));
    if let Some(region) = region {
        res.extensions_mut().insert(region);
    }
    res
}

/// The body `make` makes, or nothing for a `HEAD`.
fn body_for(req: &Parts, make: impl FnOnce() -> Body) -> Body {
    if req.method == Method::HEAD {
        Body::empty()
    } else {
        make()
    }
}

fn file_part(range: &Range<u64>) -> Part {
    Part::File {
        offset: range.start,
        len: range.end - range.start,
    }
}

/// The parts of a `multipart/byteranges` body (RFC 9110, section 14.6)
/// and its boundary.
fn multipart(ranges: &[Range<u64>], len: u64, content_type: &HeaderValue) -> (String, Vec<Part>) {
    // Random enough that a file is most unlikely to contain it.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let boundary = format!("paf-{random:016x}");
    let content_type = String::from_utf8_lossy(content_type.as_bytes());
    let mut parts = Vec::with_capacity(ranges.len() * 2 + 1);
    for (i, range) in ranges.iter().enumerate() {
        let separator = if i == 0 { "" } else { "\r\n" };
        let head = format!(
            "{separator}--{boundary}\r\ncontent-type: {content_type}\r\ncontent-range: {}\r\n\r\n",
            range::content_range(range, len)
        );
        parts.push(Part::Bytes(Bytes::from(head)));
        parts.push(file_part(range));
    }
    parts.push(Part::Bytes(Bytes::from(format!("\r\n--{boundary}--\r\n"))));
    (boundary, parts)
}

fn with_headers(mut res: Response<Body>, headers: HeaderMap) -> Response<Body> {
    if res.headers().is_empty() {
        // Moved whole rather than rehashed field by field.
        *res.headers_mut() = headers;
    } else {
        res.headers_mut().extend(headers);
    }
    res
}

fn refusal(err: &io::Error, path: &Path) -> Refusal {
    Box::new(io_error(err, path))
}

/// The answer for a failed file system operation on `path`. A loop of
/// symbolic links, or a link met where `O_NOFOLLOW` refuses one, is
/// `404`.
fn io_error(err: &io::Error, path: &Path) -> Response<Body> {
    if err.raw_os_error() == Some(libc::ELOOP) {
        return respond::not_found();
    }
    match err.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::InvalidFilename => {
            respond::not_found()
        }
        io::ErrorKind::PermissionDenied => respond::status(StatusCode::FORBIDDEN),
        _ => {
            tracing::warn!(path = %path.display(), %err, "cannot serve");
            respond::status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_redirects_stay_on_the_server() {
        let cases = [
            ("//evil.com", None, "/evil.com/"),
            ("///evil.com//x", Some("a=1"), "/evil.com/x/?a=1"),
            ("/%2Fevil.com", None, ""),
            ("/sub", Some("x=//evil.com"), "/sub/?x=//evil.com"),
            ("/a%20b/%3Cc%3E", None, "/a%20b/%3Cc%3E/"),
            ("/caf%C3%A9/%FF", None, "/caf%C3%A9/%FF/"),
            ("/.", None, "/"),
            ("//", None, "/"),
            ("/\\evil.com", None, ""),
        ];
        for (url_path, query, want) in cases {
            match path::relative(url_path) {
                Ok(relative) => {
                    let location = directory_location(&relative, query);
                    assert_eq!(location, want, "{url_path}");
                    assert!(!location.starts_with("//"), "{url_path}: {location}");
                }
                // Refused before any redirect.
                Err(_) => assert_eq!(want, "", "{url_path}"),
            }
        }
    }

    #[test]
    fn multipart_parts_frame_each_range() {
        let ct = HeaderValue::from_static("text/plain");
        let (boundary, parts) = multipart(&[0..2, 5..6], 10, &ct);
        let texts: Vec<String> = parts
            .iter()
            .map(|part| match part {
                Part::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                Part::File { offset, len } => format!("<{offset}+{len}>"),
            })
            .collect();
        assert_eq!(
            texts.concat(),
            format!(
                "--{boundary}\r\ncontent-type: text/plain\r\ncontent-range: bytes 0-1/10\r\n\r\n<0+2>\
                 \r\n--{boundary}\r\ncontent-type: text/plain\r\ncontent-range: bytes 5-5/10\r\n\r\n<5+1>\
                 \r\n--{boundary}--\r\n"
            )
        );
    }
}

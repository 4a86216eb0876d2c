//! [`Representation`]: what a file's answers are made from: the values of
//! its headers, computed once, and where its bytes are.

use std::fs::Metadata;
use std::path::Path;

use http::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_TYPE, ETAG, LAST_MODIFIED, SERVER};
use http::{HeaderMap, HeaderValue};
use paf::respond;

use super::conditional::Validators;
use super::file_body::Source;

/// A file as answers present it.
#[derive(Debug)]
pub(crate) struct Representation {
    /// Where its bytes are.
    pub(crate) source: Source,
    /// Whether an open file may go by `sendfile(2)`: it lies on a file
    /// system whose reads do not wait on the network (`cache::Trust`).
    pub(crate) sendfile: bool,
    /// Its length.
    pub(crate) len: u64,
    /// Its validators.
    pub(crate) validators: Validators,
    /// `Content-Type`, from the name of its (canonical) `path`.
    pub(crate) content_type: HeaderValue,
    /// `etag` and `last-modified`: what a `304` or `412` carries (with
    /// `server`).
    pub(crate) validator_fields: HeaderMap,
    /// The fields of an answer with the whole file: the validators',
    /// `accept-ranges`, `content-type`, `content-length` and `server`.
    /// Cloned for each answer, cheaper than making them again.
    pub(crate) fields: HeaderMap,
}

impl Representation {
    /// The file at `path` described by `metadata`, read from `source`.
    pub(crate) fn new(path: &Path, metadata: &Metadata, source: Source) -> Representation {
        let validators = Validators::of(metadata);
        // Every answer has `server` (`app.rs`): made here, it costs nothing
        // per answer, where adding it to a clone of the map regrows it.
        let mut validator_fields = HeaderMap::with_capacity(3);
        validator_fields.insert(SERVER, server());
        if let Some(etag) = validators.etag_value() {
            validator_fields.insert(ETAG, etag);
        }
        if let Some(date) = validators.last_modified_value() {
            validator_fields.insert(LAST_MODIFIED, date);
        }
        let content_type = respond::content_type(path);
        let mut fields = validator_fields.clone();
        fields.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        fields.insert(CONTENT_TYPE, content_type.clone());
        fields.insert(CONTENT_LENGTH, HeaderValue::from(metadata.len()));
        Representation {
            source,
            sendfile: false,
            len: metadata.len(),
            validators,
            content_type,
            validator_fields,
            fields,
        }
    }
}

/// The `server` field of every answer.
pub(crate) fn server() -> HeaderValue {
    HeaderValue::from_static(concat!("paf-server/", env!("CARGO_PKG_VERSION")))
}

//! [`Representation`]: what a file's answers are made from: the values of
//! its headers, computed once, and where its bytes are.

use std::fs::Metadata;
use std::path::Path;

use http::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use http::{HeaderMap, HeaderValue};
use paf::respond;

use super::conditional::Validators;
use super::file_body::Source;

/// A file as answers present it.
#[derive(Debug)]
pub(crate) struct Representation {
    /// Where its bytes are.
    pub(crate) source: Source,
    /// Its length.
    pub(crate) len: u64,
    /// Its validators.
    pub(crate) validators: Validators,
    /// `ETag`.
    pub(crate) etag: Option<HeaderValue>,
    /// `Last-Modified`.
    pub(crate) last_modified: Option<HeaderValue>,
    /// `Content-Type`, from the name of its (canonical) `path`.
    pub(crate) content_type: HeaderValue,
    /// The fields of an answer with the whole file: the validators',
    /// `accept-ranges`, `content-type` and `content-length`. Cloned for
    /// each answer, cheaper than making them again.
    pub(crate) fields: HeaderMap,
}

impl Representation {
    /// The file at `path` described by `metadata`, read from `source`.
    pub(crate) fn new(path: &Path, metadata: &Metadata, source: Source) -> Representation {
        let validators = Validators::of(metadata);
        let mut file = Representation {
            source,
            len: metadata.len(),
            etag: validators.etag_value(),
            last_modified: validators.last_modified_value(),
            validators,
            content_type: respond::content_type(path),
            fields: HeaderMap::new(),
        };
        let mut fields = file.validator_fields();
        fields.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        fields.insert(CONTENT_TYPE, file.content_type.clone());
        fields.insert(CONTENT_LENGTH, HeaderValue::from(file.len));
        file.fields = fields;
        file
    }

    /// `etag` and `last-modified`: what a `304` or `412` carries.
    pub(crate) fn validator_fields(&self) -> HeaderMap {
        let mut fields = HeaderMap::with_capacity(2);
        if let Some(etag) = &self.etag {
            fields.insert(ETAG, etag.clone());
        }
        if let Some(date) = &self.last_modified {
            fields.insert(LAST_MODIFIED, date.clone());
        }
        fields
    }
}

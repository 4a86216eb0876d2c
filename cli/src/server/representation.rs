//! [`Representation`]: what a file's answers are made from: the values of
//! its headers, computed once, and where its bytes are.

use std::fs::Metadata;
use std::path::Path;

use http::HeaderValue;
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
}

impl Representation {
    /// The file at `path` described by `metadata`, read from `source`.
    pub(crate) fn new(path: &Path, metadata: &Metadata, source: Source) -> Representation {
        let validators = Validators::of(metadata);
        Representation {
            source,
            len: metadata.len(),
            etag: validators.etag_value(),
            last_modified: validators.last_modified_value(),
            validators,
            content_type: respond::content_type(path),
        }
    }
}

//! The servers' hook for protocol errors: what a user function is told of a
//! request the server refused on its own, and the answer it may shape.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode, Version};

use crate::error::Error;

/// A protocol error a server met, as its
/// [`on_protocol_error`](crate::server::Http1::on_protocol_error) hook sees it.
///
/// With a [`status`](ProtocolError::status), the server is about to answer
/// a request it will not give the handler: a malformed head (`400`), a
/// head or body too slow (`408`), a body too large (`413`), a target too
/// long (`414`), too many or too large fields (`431`), an unsupported
/// `expect`, coding or version (`417`, `501`, `505`), or a handler's panic
/// (`500`). Without one, the connection ended on the error and there is
/// nobody to answer (an HTTP/2 peer that broke the protocol).
#[derive(Debug)]
#[non_exhaustive]
pub struct ProtocolError<'a> {
    /// The status the server answers with, if it can answer.
    pub status: Option<StatusCode>,
    /// The connection's protocol: `HTTP/1.1` or `HTTP/2.0`.
    pub version: Version,
    /// What went wrong; `{:#}` gives the whole chain.
    pub error: &'a Error,
}

/// The user's function: the answer to give (its status is kept, its fields
/// and body replace the default plain-text ones), or `None` for the
/// default.
pub(crate) type Hook = dyn Fn(&ProtocolError<'_>) -> Option<Response<Bytes>> + Send + Sync;

/// A server's hook, if it has one.
#[derive(Clone, Default)]
pub(crate) struct OnProtocolError(Option<Arc<Hook>>);

impl fmt::Debug for OnProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

impl OnProtocolError {
    pub(crate) fn new(hook: Arc<Hook>) -> OnProtocolError {
        OnProtocolError(Some(hook))
    }

    /// Tells the hook of an error that has no answer.
    pub(crate) fn notify(&self, version: Version, error: &Error) {
        if let Some(hook) = &self.0 {
            let seen = ProtocolError {
                status: None,
                version,
                error,
            };
            let _ = hook(&seen);
        }
    }

    /// The hook's fields and body answering `status`, or `None` when there
    /// is no hook or it keeps the default. Framing and connection fields are
    /// the server's to set, and are dropped from the hook's.
    pub(crate) fn shaped(
        &self,
        status: StatusCode,
        version: Version,
        error: &Error,
    ) -> Option<(HeaderMap, Bytes)> {
        let seen = ProtocolError {
            status: Some(status),
            version,
            error,
        };
        let (mut parts, body) = self.0.as_ref().and_then(|hook| hook(&seen))?.into_parts();
        for name in [
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::CONNECTION,
        ] {
            parts.headers.remove(name);
        }
        Some((parts.headers, body))
    }
}

/// The default answer: a line of plain text naming the status.
pub(crate) fn plain(status: StatusCode) -> (HeaderMap, Bytes) {
    let reason = status.canonical_reason().unwrap_or("error");
    let text = format!("{}\n", reason.to_ascii_lowercase());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    (headers, Bytes::from(text))
}

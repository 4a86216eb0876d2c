//! HTTP/2, on the `h2` crate.
//!
//! # Organization
//! - `settings.rs`: the settings client and server share.
//! - `server/`: the server connection loop and the answer to each stream.
//! - `client.rs`: the client connection.
//! - `send.rs`: sending a body on a stream, with flow control (received
//!   bodies are in `body/h2_stream.rs`).
//! - `ping.rs`: keep-alive PINGs.

pub(crate) mod client;
mod ping;
mod send;
pub(crate) mod server;
mod settings;

pub(crate) use self::settings::Settings;

use http::header::{self, HeaderMap, HeaderName};

/// The declared body length, when there is a valid one.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The fields HTTP/2 forbids (RFC 9113, section 8.2.2), `te` aside.
const CONNECTION_SPECIFIC: [HeaderName; 5] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
];

/// Drops the fields HTTP/2 forbids: `h2` refuses messages carrying them,
/// and code written for HTTP/1.1 sets them. `te` may only say `trailers`.
pub(crate) fn strip_connection_fields(headers: &mut HeaderMap) {
    // Usually there are none: one pass over the names is cheaper than a
    // hashed removal of each.
    let forbidden = |name: &HeaderName| name == header::TE || CONNECTION_SPECIFIC.contains(name);
    if !headers.keys().any(forbidden) {
        return;
    }
    for name in &CONNECTION_SPECIFIC {
        headers.remove(name);
    }
    if headers
        .get(header::TE)
        .is_some_and(|te| !te.as_bytes().eq_ignore_ascii_case(b"trailers"))
    {
        headers.remove(header::TE);
    }
}

//! How the end of a message body is found.

/// The framing of a message body (RFC 9112 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body at all.
    Empty,
    /// Exactly this many bytes (`content-length`).
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
    /// Everything until the connection closes; responses only.
    CloseDelimited,
}

//! Why a head or a body could not be parsed or encoded.

use std::fmt;

use http::StatusCode;

/// A message head that is refused; each maps to the status to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The head is larger than [`Limits::max_head_bytes`](super::Limits).
    HeadTooLarge,
    /// More field lines than [`Limits::max_headers`](super::Limits).
    TooManyHeaders,
    /// The request target (or the unfinished request line) is too long.
    UriTooLong,
    /// The head is malformed or ambiguous; the reason names what was wrong.
    BadRequest(&'static str),
    /// A transfer coding other than `chunked`.
    UnknownTransferCoding,
    /// An `Expect` value other than `100-continue`.
    ExpectationFailed,
    /// An HTTP version other than 1.0 and 1.1.
    VersionNotSupported,
}

impl HeadError {
    /// The status a server answers this error with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::HeadTooLarge | Self::TooManyHeaders => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnknownTransferCoding => StatusCode::NOT_IMPLEMENTED,
            Self::ExpectationFailed => StatusCode::EXPECTATION_FAILED,
            Self::VersionNotSupported => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeadTooLarge => f.write_str("message head too large"),
            Self::TooManyHeaders => f.write_str("too many header fields"),
            Self::UriTooLong => f.write_str("request target too long"),
            Self::BadRequest(reason) => write!(f, "malformed message head: {reason}"),
            Self::UnknownTransferCoding => f.write_str("unsupported transfer coding"),
            Self::ExpectationFailed => f.write_str("unsupported expectation"),
            Self::VersionNotSupported => f.write_str("unsupported http version"),
        }
    }
}

impl std::error::Error for HeadError {}

/// A malformed body, or a body that does not match its framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// The chunk size is not 1 to 16 hex digits.
    BadChunkSize,
    /// A chunk extension is not `;name[=value]`.
    BadChunkExtension,
    /// The extensions of one chunk line exceed the limit.
    ChunkExtensionTooLong,
    /// A line or a chunk's data does not end with CRLF.
    MissingCrlf,
    /// The trailer section is malformed.
    BadTrailers,
    /// The trailer section exceeds the limit.
    TrailersTooLarge,
    /// The peer closed the connection before the body was complete.
    Incomplete,
    /// The body written does not match the declared length; `written` counts
    /// the bytes offered so far, including the ones refused.
    LengthMismatch {
        /// The declared length.
        expected: u64,
        /// The length offered.
        written: u64,
    },
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadChunkSize => f.write_str("invalid chunk size"),
            Self::BadChunkExtension => f.write_str("invalid chunk extension"),
            Self::ChunkExtensionTooLong => f.write_str("chunk extension too long"),
            Self::MissingCrlf => f.write_str("missing crlf in chunked body"),
            Self::BadTrailers => f.write_str("invalid trailer section"),
            Self::TrailersTooLarge => f.write_str("trailer section too large"),
            Self::Incomplete => f.write_str("connection closed before the body was complete"),
            Self::LengthMismatch { expected, written } => {
                write!(
                    f,
                    "body of {written} bytes does not match content-length {expected}"
                )
            }
        }
    }
}

impl std::error::Error for BodyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let cases = [
            (HeadError::HeadTooLarge, 431),
            (HeadError::TooManyHeaders, 431),
            (HeadError::UriTooLong, 414),
            (HeadError::BadRequest("x"), 400),
            (HeadError::UnknownTransferCoding, 501),
            (HeadError::ExpectationFailed, 417),
            (HeadError::VersionNotSupported, 505),
        ];
        for (error, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{error}");
        }
    }

    #[test]
    fn messages_are_lowercase_and_specific() {
        assert_eq!(
            HeadError::BadRequest("missing host").to_string(),
            "malformed message head: missing host"
        );
        assert_eq!(
            BodyError::LengthMismatch {
                expected: 5,
                written: 7
            }
            .to_string(),
            "body of 7 bytes does not match content-length 5"
        );
        for message in [
            HeadError::HeadTooLarge.to_string(),
            BodyError::Incomplete.to_string(),
            BodyError::BadChunkSize.to_string(),
        ] {
            assert_eq!(message, message.to_lowercase());
        }
    }
}

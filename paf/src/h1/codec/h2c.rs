//! Recognising clear-text HTTP/2 (RFC 9113 §3): the connection preface of
//! a client with prior knowledge, and an HTTP/1.1 request asking
//! `Upgrade: h2c` (RFC 7540 §3.2). Carrying out the switch is the server's.

use http::Version;
use http::header::{self, HeaderMap, HeaderName};

use super::framing::Framing;
use super::request::RequestHead;
use super::syntax::connection_has;

/// What every HTTP/2 connection starts with (RFC 9113, section 3.4).
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The answer that accepts an h2c upgrade.
pub(crate) const SWITCHING: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n";

/// What the first bytes of a connection say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Preface {
    /// The whole HTTP/2 preface.
    Http2,
    /// Not the preface: HTTP/1.1, or nothing valid.
    Other,
    /// The preface's request line, then something else: an HTTP/2 client
    /// that broke the protocol, as no HTTP/1.1 request starts that way.
    Invalid,
    /// A prefix of the preface: more bytes will tell.
    Partial,
}

/// Classifies the first bytes read from a connection.
pub(crate) fn preface(read: &[u8]) -> Preface {
    let n = read.len().min(PREFACE.len());
    if read[..n] != PREFACE[..n] {
        let line = b"PRI * HTTP/2.0\r\n".len();
        if n > line && read[..line] == PREFACE[..line] {
            Preface::Invalid
        } else {
            Preface::Other
        }
    } else if n == PREFACE.len() {
        Preface::Http2
    } else {
        Preface::Partial
    }
}

/// Whether a request asks for an h2c upgrade this server can grant: an
/// `Upgrade` offering `h2c`, one well-formed `HTTP2-Settings`, both named in
/// `Connection`, and no body (a body would have to be read whole first).
pub(crate) fn wants_upgrade(head: &RequestHead) -> bool {
    head.upgrade
        && head.version == Version::HTTP_11
        && head.framing == Framing::Empty
        && has_token(&head.headers, header::UPGRADE, "h2c")
        && connection_has(&head.headers, "http2-settings")
        && settings_are_valid(&head.headers)
}

fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Exactly one `HTTP2-Settings`, in base64url without padding, whose bytes
/// are whole six-byte settings (RFC 7540, section 3.2.1). Its values need
/// no decoding: the client's first SETTINGS frame repeats them.
fn settings_are_valid(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all("http2-settings").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let text = value.as_bytes();
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let alphabet = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_';
    if !text.iter().all(alphabet) || text.len() % 4 == 1 {
        return false;
    }
    (text.len() * 6 / 8) % 6 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefaces_are_told_from_the_first_bytes() {
        assert_eq!(preface(b""), Preface::Partial);
        assert_eq!(preface(&PREFACE[..10]), Preface::Partial);
        assert_eq!(preface(PREFACE), Preface::Http2);
        assert_eq!(preface(b"GET / HTTP/1.1\r\n"), Preface::Other);
        assert_eq!(preface(b"PRI * HTTP/1.1"), Preface::Other);
        assert_eq!(
            preface(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"),
            Preface::Invalid
        );
    }

    #[test]
    fn http2_settings_must_be_whole_settings_in_base64url() {
        let check = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("http2-settings", value.parse().expect("a header value"));
            settings_are_valid(&headers)
        };
        // curl's: three settings, 18 bytes.
        assert!(check("AAMAAABkAAQCAAAAAAIAAAAA"));
        // Empty is no settings at all, which is allowed.
        assert!(check(""));
        assert!(!check("AAMAAABk+AQCAAAAAAIAAAAA"));
        assert!(!check("AAMAAABkAAQ"));
        assert!(!check("A"));
        let mut twice = HeaderMap::new();
        twice.append(
            "http2-settings",
            "AAMAAABkAAQCAAAAAAIAAAAA".parse().expect("valid"),
        );
        twice.append(
            "http2-settings",
            "AAMAAABkAAQCAAAAAAIAAAAA".parse().expect("valid"),
        );
        assert!(!settings_are_valid(&twice));
    }
}

//! Parsing request heads (server side), with the request smuggling defences
//! of RFC 9112 §6.

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Uri, Version};

use super::error::HeadError;
use super::facts::{ContentLength, Expect, Facts};
use super::framing::Framing;
use super::limits::Limits;
use super::raw::{self, STACK_SLOTS, Slot, Spans};
use super::syntax::leading_empty_lines;

/// A parsed request head; field values share the received bytes.
#[derive(Debug)]
pub(crate) struct RequestHead {
    /// The request method.
    pub method: Method,
    /// The request target.
    pub uri: Uri,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The fields, in wire order per name.
    pub headers: HeaderMap,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection may serve another request afterwards.
    pub keep_alive: bool,
    /// `Expect: 100-continue` on HTTP/1.1.
    pub expect_continue: bool,
    /// A CONNECT request or an HTTP/1.1 upgrade request.
    pub upgrade: bool,
}

/// What was read from the request line.
struct Line {
    method: Method,
    version: Version,
    target: (usize, usize),
}

/// Parses one request head from the front of `buf`.
///
/// `Ok(None)` means the head is not complete yet. On success exactly the head
/// is removed from `buf`; whatever follows (a body, the next request) stays.
/// A later HTTP/1 minor version (`HTTP/1.2`) is read as HTTP/1.1, as RFC
/// 9110 §2.5 asks.
pub(crate) fn parse_request(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<RequestHead>, HeadError> {
    let mut stack: [Slot<'_>; STACK_SLOTS] = [const { MaybeUninit::uninit() }; STACK_SLOTS];
    let mut heap = Vec::new();
    let mut spans = Spans::new();
    let bytes: &[u8] = buf;
    let slots = raw::slots(&mut stack, &mut heap, limits.max_headers, bytes);
    let mut request = httparse::Request::new(&mut []);
    let (len, line) = match request.parse_with_uninit_headers(bytes, slots) {
        Ok(httparse::Status::Complete(len)) => {
            let target = request.path.unwrap_or_default();
            if target.len() > limits.max_target_len || line_too_long(bytes, target, limits) {
                return Err(HeadError::UriTooLong);
            }
            if len > limits.max_head_bytes {
                return Err(HeadError::HeadTooLarge);
            }
            spans.record(bytes, request.headers);
            let method = Method::from_bytes(request.method.unwrap_or_default().as_bytes())
                .map_err(|_| HeadError::BadRequest("invalid method"))?;
            let version = match request.version {
                Some(0) => Version::HTTP_10,
                _ => Version::HTTP_11,
            };
            let target = raw::offsets(bytes, target.as_bytes());
            (
                len,
                Line {
                    method,
                    version,
                    target,
                },
            )
        }
        Ok(httparse::Status::Partial) => return partial(&request, bytes, limits),
        Err(error) => {
            if let Some(at) = newer_minor(&error, &request, bytes) {
                buf[at] = b'1';
                return parse_request(buf, limits);
            }
            return Err(refused(error, &request, bytes));
        }
    };
    let head = buf.split_to(len).freeze();
    finish(head, line, &spans).map(Some)
}

/// Checks the limits on a head that is not complete yet.
fn partial(
    request: &httparse::Request<'_, '_>,
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<RequestHead>, HeadError> {
    // A long target gets 414 rather than 431, even before the line ends.
    let too_long = match request.path {
        Some(target) => target.len() > limits.max_target_len || line_too_long(buf, target, limits),
        None => buf.len() - leading_empty_lines(buf) > limits.max_target_len.saturating_add(32),
    };
    if too_long {
        Err(HeadError::UriTooLong)
    } else if buf.len() > limits.max_head_bytes {
        Err(HeadError::HeadTooLarge)
    } else {
        Ok(None)
    }
}

/// Whether the request line up to the end of `target` is longer than
/// `partial` lets an unfinished one grow: refused in pieces, it is
/// refused whole too (a long method, say).
fn line_too_long(buf: &[u8], target: &str, limits: &Limits) -> bool {
    let end = raw::offsets(buf, target.as_bytes()).1;
    end.saturating_sub(leading_empty_lines(buf)) > limits.max_target_len.saturating_add(32)
}

/// Where the minor digit of an `HTTP/1.x` version with x above 1 is,
/// which is then read as `HTTP/1.1`.
fn newer_minor(
    error: &httparse::Error,
    request: &httparse::Request<'_, '_>,
    buf: &[u8],
) -> Option<usize> {
    if *error != httparse::Error::Version {
        return None;
    }
    let at = version_at(request, buf);
    match raw::token_at(buf, at) {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'2'..=b'9'] => Some(at + "HTTP/1.".len()),
        _ => None,
    }
}

/// Where the version starts: after the target and its space.
fn version_at(request: &httparse::Request<'_, '_>, buf: &[u8]) -> usize {
    request.path.map_or(buf.len(), |target| {
        raw::offsets(buf, target.as_bytes()).1 + 1
    })
}

/// The error for a request head `httparse` refused.
fn refused(error: httparse::Error, request: &httparse::Request<'_, '_>, buf: &[u8]) -> HeadError {
    match error {
        httparse::Error::Token if request.method.is_none() => {
            HeadError::BadRequest("invalid method")
        }
        httparse::Error::Token => HeadError::BadRequest("invalid request target"),
        httparse::Error::Version => {
            raw::version_error(raw::token_at(buf, version_at(request, buf)))
        }
        _ => raw::field_error(error, buf),
    }
}

/// Builds the head from its own bytes and applies the semantic checks.
fn finish(head: Bytes, line: Line, spans: &Spans) -> Result<RequestHead, HeadError> {
    let Line {
        method,
        version,
        target,
    } = line;
    let target = head
        .get(target.0..target.1)
        .map(|target| head.slice_ref(target))
        .ok_or(HeadError::BadRequest("invalid request target"))?;
    let uri = request_target(target, &method)?;
    let mut facts = Facts::default();
    let headers = raw::field_map(&head, spans.as_slice(), |name, value| {
        facts.observe(name, value)
    })?;
    let framing = framing(&facts, version)?;
    if facts.bad_host {
        return Err(HeadError::BadRequest("invalid host"));
    }
    if version == Version::HTTP_11 {
        match facts.hosts {
            0 => return Err(HeadError::BadRequest("missing host")),
            1 => {}
            _ => return Err(HeadError::BadRequest("several host headers")),
        }
    }
    let expect_continue = match (version, facts.expect) {
        (Version::HTTP_11, Expect::Continue) => true,
        (Version::HTTP_11, Expect::Other) => return Err(HeadError::ExpectationFailed),
        _ => false,
    };
    let upgrade = method == Method::CONNECT
        || (version == Version::HTTP_11 && facts.upgrade_token && facts.upgrade);
    Ok(RequestHead {
        method,
        uri,
        version,
        headers,
        framing,
        keep_alive: facts.persistent(version),
        expect_continue,
        upgrade,
    })
}

/// The request target in the form its method allows (RFC 9112 §3.2):
/// authority-form for `CONNECT` and for nothing else, asterisk-form for
/// `OPTIONS` only, and no fragment, which is never sent.
fn request_target(target: Bytes, method: &Method) -> Result<Uri, HeadError> {
    if target.contains(&b'#') {
        return Err(HeadError::BadRequest("fragment in the request target"));
    }
    let asterisk = &target[..] == b"*";
    let uri = Uri::from_maybe_shared(target)
        .map_err(|_| HeadError::BadRequest("invalid request target"))?;
    let authority_form = uri.scheme().is_none() && uri.authority().is_some();
    if *method == Method::CONNECT {
        return match authority_form && uri.port().is_some() {
            true => Ok(uri),
            false => Err(HeadError::BadRequest("CONNECT needs a host:port target")),
        };
    }
    if authority_form {
        return Err(HeadError::BadRequest(
            "a host:port target is only for CONNECT",
        ));
    }
    if asterisk && *method != Method::OPTIONS {
        return Err(HeadError::BadRequest("the `*` target is only for OPTIONS"));
    }
    Ok(uri)
}

/// The body framing of a request (RFC 9112 §6.3); requests are never
/// close-delimited, and anything ambiguous is refused.
fn framing(facts: &Facts, version: Version) -> Result<Framing, HeadError> {
    if let Some(codings) = facts.transfer_encoding {
        return if version == Version::HTTP_10 {
            Err(HeadError::BadRequest(
                "transfer-encoding in an http/1.0 request",
            ))
        } else if facts.content_length != ContentLength::Absent {
            Err(HeadError::BadRequest(
                "content-length with transfer-encoding",
            ))
        } else if codings.chunked > 1 {
            Err(HeadError::BadRequest("chunked applied more than once"))
        } else if !codings.chunked_last {
            Err(HeadError::BadRequest(
                "transfer-encoding does not end with chunked",
            ))
        } else if codings.other {
            Err(HeadError::UnknownTransferCoding)
        } else {
            Ok(Framing::Chunked)
        };
    }
    match facts.content_length {
        ContentLength::Absent | ContentLength::Valid(0) => Ok(Framing::Empty),
        ContentLength::Valid(len) => Ok(Framing::Length(len)),
        ContentLength::Invalid(reason) => Err(HeadError::BadRequest(reason)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> Result<Option<RequestHead>, HeadError> {
        parse_request(&mut BytesMut::from(text), &Limits::default())
    }

    fn parsed(text: &[u8]) -> RequestHead {
        match parse(text) {
            Ok(Some(head)) => head,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(text)),
        }
    }

    #[test]
    fn a_simple_request() {
        let mut buf =
            BytesMut::from(&b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Y: z \r\n\r\n"[..]);
        let head = parse_request(&mut buf, &Limits::default())
            .unwrap()
            .unwrap();
        assert!(buf.is_empty());
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.uri, "/a?b=c");
        assert_eq!(head.version, Version::HTTP_11);
        assert_eq!(head.headers["host"], "example.com");
        assert_eq!(head.headers["x-y"], "z");
        assert_eq!(head.framing, Framing::Empty);
        assert!(head.keep_alive && !head.expect_continue && !head.upgrade);
    }

    #[test]
    fn values_share_the_received_bytes() {
        let mut buf = BytesMut::from(&b"GET /path HTTP/1.1\r\nHost: h\r\nX: value\r\n\r\n"[..]);
        let range = buf.as_ptr_range();
        let head = parse_request(&mut buf, &Limits::default())
            .unwrap()
            .unwrap();
        let value = head.headers["x"].as_bytes().as_ptr();
        assert!(range.contains(&value));
        let path = head.uri.path().as_ptr();
        assert!(range.contains(&path));
    }

    #[test]
    fn incomplete_heads_wait() {
        let full = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
        for end in 0..full.len() {
            assert_eq!(
                parse(&full[..end]).map(|head| head.is_some()),
                Ok(false),
                "{end}"
            );
        }
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let mut buf = BytesMut::from(&b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\nrest"[..]);
        let head = parse_request(&mut buf, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(head.uri, "/");
        assert_eq!(&buf[..], b"rest");
    }

    #[test]
    fn framing_keep_alive_expect_and_upgrade() {
        struct Case {
            text: &'static [u8],
            framing: Framing,
            keep_alive: bool,
            expect_continue: bool,
            upgrade: bool,
        }
        let case = |text, framing, keep_alive, expect_continue, upgrade| Case {
            text,
            framing,
            keep_alive,
            expect_continue,
            upgrade,
        };
        let cases = [
            case(
                b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
                Framing::Empty,
                true,
                false,
                false,
            ),
            case(
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
                Framing::Empty,
                true,
                false,
                false,
            ),
            case(
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n",
                Framing::Length(12),
                true,
                false,
                false,
            ),
            case(
                b"POST / HTTP/1.1\r\nHost: h\r\ncontent-length: 7, 7\r\ncontent-length: 7\r\n\r\n",
                Framing::Length(7),
                true,
                false,
                false,
            ),
            case(
                b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n",
                Framing::Chunked,
                true,
                false,
                false,
            ),
            case(
                b"GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n",
                Framing::Empty,
                false,
                false,
                false,
            ),
            case(
                b"GET / HTTP/1.0\r\n\r\n",
                Framing::Empty,
                false,
                false,
                false,
            ),
            case(
                b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                Framing::Empty,
                true,
                false,
                false,
            ),
            case(
                b"GET / HTTP/1.0\r\nExpect: whatever\r\n\r\n",
                Framing::Empty,
                false,
                false,
                false,
            ),
            case(
                b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
                Framing::Length(1),
                true,
                true,
                false,
            ),
            case(
                b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                Framing::Empty,
                true,
                false,
                true,
            ),
            case(
                b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",
                Framing::Empty,
                true,
                false,
                false,
            ),
            case(
                b"GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n",
                Framing::Empty,
                true,
                false,
                false,
            ),
            case(
                b"GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
                Framing::Empty,
                false,
                false,
                false,
            ),
            case(
                b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
                Framing::Empty,
                true,
                false,
                true,
            ),
        ];
        for case in cases {
            let head = parsed(case.text);
            let text = String::from_utf8_lossy(case.text);
            assert_eq!(head.framing, case.framing, "{text}");
            assert_eq!(head.keep_alive, case.keep_alive, "{text}");
            assert_eq!(head.expect_continue, case.expect_continue, "{text}");
            assert_eq!(head.upgrade, case.upgrade, "{text}");
        }
    }

    #[test]
    fn request_targets() {
        let cases: [(&[u8], &str); 4] = [
            (b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "*"),
            (
                b"GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
                "http://a.example/x",
            ),
            (
                b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
                "a.example:443",
            ),
            (b"OPTIONS /%7Euser HTTP/1.1\r\nHost: h\r\n\r\n", "/%7Euser"),
        ];
        for (text, uri) in cases {
            assert_eq!(parsed(text).uri, uri);
        }
    }

    #[test]
    fn refused_requests() {
        use HeadError::*;
        let cases: [(&[u8], HeadError); 38] = [
            // Framing ambiguity (request smuggling).
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest("content-length with transfer-encoding")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", BadRequest("content-length with transfer-encoding")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", BadRequest("conflicting content-length values")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\n", BadRequest("conflicting content-length values")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", BadRequest("invalid content-length")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -3\r\n\r\n", BadRequest("invalid content-length")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3 3\r\n\r\n", BadRequest("invalid content-length")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", BadRequest("invalid content-length")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", BadRequest("invalid content-length")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n", BadRequest("invalid content-length")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3,\r\n\r\n", BadRequest("invalid content-length")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", BadRequest("transfer-encoding does not end with chunked")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", BadRequest("transfer-encoding does not end with chunked")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", BadRequest("transfer-encoding does not end with chunked")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", BadRequest("transfer-encoding does not end with chunked")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", BadRequest("chunked applied more than once")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest("chunked applied more than once")),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", UnknownTransferCoding),
            (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: foo, chunked\r\n\r\n", UnknownTransferCoding),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest("transfer-encoding in an http/1.0 request")),
            // Field syntax.
            (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", BadRequest("obsolete line folding")),
            (b"GET / HTTP/1.1\r\nHost: h\r\n\tX: a\r\n\r\n", BadRequest("obsolete line folding")),
            (b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", BadRequest("whitespace before colon")),
            (b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", BadRequest("whitespace before colon")),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", BadRequest("invalid header value")),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fb\r\n\r\n", BadRequest("invalid header value")),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", BadRequest("invalid header value")),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX\x01: a\r\n\r\n", BadRequest("invalid header name")),
            (b"GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n", BadRequest("empty header name")),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX\r\n\r\n", BadRequest("header line without colon")),
            // Hosts.
            (b"GET / HTTP/1.1\r\n\r\n", BadRequest("missing host")),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", BadRequest("several host headers")),
            // Expectations.
            (b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", ExpectationFailed),
            // Request line.
            (b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", BadRequest("invalid method")),
            (b"GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", BadRequest("invalid request target")),
            (b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", BadRequest("invalid request target")),
            (b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", VersionNotSupported),
            (b"GET / HTTX/1.1\r\nHost: h\r\n\r\n", BadRequest("invalid http version")),
        ];
        for (text, error) in cases {
            let text_lossy = String::from_utf8_lossy(text);
            assert_eq!(parse(text).err(), Some(error.clone()), "{text_lossy}");
            assert_eq!(parse(text).err().map(|e| e.status()), Some(error.status()));
        }
    }

    #[test]
    fn later_http1_minor_versions_are_read_as_1_1() {
        for text in [
            &b"GET /x HTTP/1.2\r\nHost: h\r\n\r\n"[..],
            b"GET /x HTTP/1.9\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
        ] {
            let head = parsed(text);
            assert_eq!((head.version, head.uri.path()), (Version::HTTP_11, "/x"));
        }
    }

    #[test]
    fn more_refused_request_lines() {
        use HeadError::*;
        let cases: [(&[u8], HeadError); 11] = [
            (b"GET / HTTP/2\r\n", VersionNotSupported),
            (b"GET / HTTP/0.9\r\nHost: h\r\n\r\n", VersionNotSupported),
            (
                b"GET * HTTP/1.1\r\nHost: h\r\n\r\n",
                BadRequest("the `*` target is only for OPTIONS"),
            ),
            (
                b"GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n",
                BadRequest("a host:port target is only for CONNECT"),
            ),
            (
                b"CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n",
                BadRequest("CONNECT needs a host:port target"),
            ),
            (
                b"CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n",
                BadRequest("CONNECT needs a host:port target"),
            ),
            (
                b"GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n",
                BadRequest("fragment in the request target"),
            ),
            (
                b"GET / HTTP/1.1x\r\nHost: h\r\n\r\n",
                BadRequest("invalid line ending"),
            ),
            (b"GET /\r\n\r\n", BadRequest("invalid request target")),
            (
                b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
                BadRequest("invalid http version"),
            ),
            (
                b"GET http://[::1 HTTP/1.1\r\nHost: h\r\n\r\n",
                BadRequest("invalid request target"),
            ),
        ];
        for (text, error) in cases {
            assert_eq!(
                parse(text).err(),
                Some(error),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn size_limits() {
        let limits = Limits {
            max_head_bytes: 1024,
            max_headers: 4,
            max_target_len: 64,
            ..Limits::default()
        };
        let long_field = format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
            "a".repeat(2000)
        );
        let many_fields =
            "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n".to_string();
        let long_target = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(64));
        let exact_target = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(63));
        let cases: [(String, Result<bool, HeadError>); 8] = [
            (long_field.clone(), Err(HeadError::HeadTooLarge)),
            (long_field[..1100].to_string(), Err(HeadError::HeadTooLarge)),
            (long_field[..1000].to_string(), Ok(false)),
            (many_fields, Err(HeadError::TooManyHeaders)),
            (long_target.clone(), Err(HeadError::UriTooLong)),
            (long_target[..70].to_string(), Err(HeadError::UriTooLong)),
            (long_target[..90].to_string(), Err(HeadError::UriTooLong)),
            (exact_target, Ok(true)),
        ];
        for (text, expected) in cases {
            let mut buf = BytesMut::from(text.as_bytes());
            let result = parse_request(&mut buf, &limits).map(|head| head.is_some());
            assert_eq!(result, expected, "{text:.80}");
        }
        // An unfinished request line waits up to the target limit plus 32.
        let unfinished = format!("\r\nGET /{}", "a".repeat(91));
        assert_eq!(unfinished.len(), 2 + 64 + 32);
        let result = parse_request(&mut BytesMut::from(unfinished.as_bytes()), &limits);
        assert_eq!(result.map(|head| head.is_some()), Ok(false));
        let unfinished = format!("GET /{}", "a".repeat(92));
        let result = parse_request(&mut BytesMut::from(unfinished.as_bytes()), &limits);
        assert_eq!(result.err(), Some(HeadError::UriTooLong));
    }

    /// Found with the `h1_request_head` fuzz target's pieces-or-whole
    /// property (`fuzz/corpus/h1_request_head/long-method`): a method as
    /// long as the target limit was refused with 414 when the line arrived
    /// in pieces, and accepted when it arrived whole, or in pieces that cut
    /// it after the target
    /// (`fuzz/corpus/h1_request_head/long-method-head-unfinished`).
    #[test]
    fn a_long_method_is_refused_whole_as_in_pieces() {
        let limits = Limits {
            max_target_len: 64,
            ..Limits::default()
        };
        let text = format!("{} / HTTP/1.1\r\nHost: h\r\n\r\n", "A".repeat(96));
        // Within the method, after the target, within the fields, whole.
        for end in [97, 99, 110, text.len()] {
            let mut buf = BytesMut::from(&text.as_bytes()[..end]);
            let result = parse_request(&mut buf, &limits).map(|head| head.is_some());
            assert_eq!(result, Err(HeadError::UriTooLong), "{end} bytes");
        }
        let fits = format!("{} / HTTP/1.1\r\nHost: h\r\n\r\n", "A".repeat(94));
        let result = parse_request(&mut BytesMut::from(fits.as_bytes()), &limits);
        assert_eq!(result.map(|head| head.is_some()), Ok(true));
    }

    #[test]
    fn statuses_of_limit_errors() {
        let limits = Limits::default();
        let big = format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
            "a".repeat(70_000)
        );
        let error = parse_request(&mut BytesMut::from(big.as_bytes()), &limits).unwrap_err();
        assert_eq!(error.status(), 431);
        let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\nHost: h\r\n{many}\r\n");
        let error = parse_request(&mut BytesMut::from(many.as_bytes()), &limits).unwrap_err();
        assert_eq!(error.status(), 431);
        let long = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(9000));
        let error = parse_request(&mut BytesMut::from(long.as_bytes()), &limits).unwrap_err();
        assert_eq!(error.status(), 414);
        let error =
            parse_request(&mut BytesMut::from(&long.as_bytes()[..8300]), &limits).unwrap_err();
        assert_eq!(error.status(), 414);
    }

    #[test]
    fn header_limits_beyond_the_stack_slots() {
        let limits = Limits {
            max_headers: 300,
            ..Limits::default()
        };
        let fields: String = (0..299).map(|i| format!("X-{i}: v\r\n")).collect();
        let text = format!("GET / HTTP/1.1\r\nHost: h\r\n{fields}\r\n");
        let head = parse_request(&mut BytesMut::from(text.as_bytes()), &limits)
            .unwrap()
            .unwrap();
        assert_eq!(head.headers.len(), 300);
        let fields: String = (0..300).map(|i| format!("X-{i}: v\r\n")).collect();
        let text = format!("GET / HTTP/1.1\r\nHost: h\r\n{fields}\r\n");
        let error = parse_request(&mut BytesMut::from(text.as_bytes()), &limits).unwrap_err();
        assert_eq!(error, HeadError::TooManyHeaders);
    }

    #[test]
    fn pipelined_requests() {
        let mut buf = BytesMut::from(
            &b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: h\r\n\r\n"[..],
        );
        let limits = Limits::default();
        let first = parse_request(&mut buf, &limits).unwrap().unwrap();
        assert_eq!(
            (first.uri.path(), first.framing),
            ("/a", Framing::Length(5))
        );
        assert_eq!(&buf[..5], b"hello");
        let _ = buf.split_to(5);
        let second = parse_request(&mut buf, &limits).unwrap().unwrap();
        assert_eq!((second.uri.path(), second.framing), ("/b", Framing::Empty));
        assert!(buf.is_empty());
        assert!(matches!(parse_request(&mut buf, &limits), Ok(None)));
    }
}

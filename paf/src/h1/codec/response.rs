//! Parsing response heads (client side) and their framing (RFC 9112 §6.3).

use std::mem::MaybeUninit;

use bytes::BytesMut;
use http::{HeaderMap, Method, StatusCode, Version};

use super::error::HeadError;
use super::facts::{ContentLength, Facts};
use super::framing::Framing;
use super::limits::Limits;
use super::raw::{self, STACK_SLOTS, Slot, Spans};
use super::syntax::leading_empty_lines;

/// A parsed response head; field values share the received bytes.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    /// The status code.
    pub status: StatusCode,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The fields, in wire order per name.
    pub headers: HeaderMap,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection may carry another request afterwards.
    pub keep_alive: bool,
}

/// Parses one response head from the front of `buf`; `method` is the one of
/// the request it answers, which decides whether a body follows.
///
/// `Ok(None)` means the head is not complete yet. On success exactly the head
/// is removed from `buf`. Interim (1xx) responses are returned like any other.
pub(crate) fn parse_response(
    buf: &mut BytesMut,
    limits: &Limits,
    method: &Method,
) -> Result<Option<ResponseHead>, HeadError> {
    let mut stack: [Slot<'_>; STACK_SLOTS] = [const { MaybeUninit::uninit() }; STACK_SLOTS];
    let mut heap = Vec::new();
    let mut spans = Spans::new();
    let bytes: &[u8] = buf;
    let slots = raw::slots(&mut stack, &mut heap, limits.max_headers, bytes);
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        bytes,
        slots,
    );
    let (len, code, version) = match parsed {
        Ok(httparse::Status::Complete(len)) => {
            if len > limits.max_head_bytes {
                return Err(HeadError::HeadTooLarge);
            }
            spans.record(bytes, response.headers);
            let version = match response.version {
                Some(0) => Version::HTTP_10,
                _ => Version::HTTP_11,
            };
            (len, response.code.unwrap_or_default(), version)
        }
        Ok(httparse::Status::Partial) if bytes.len() > limits.max_head_bytes => {
            return Err(HeadError::HeadTooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::Version) => {
            return Err(raw::version_error(raw::token_at(
                bytes,
                leading_empty_lines(bytes),
            )));
        }
        Err(error) => return Err(raw::field_error(error, bytes)),
    };
    let status =
        StatusCode::from_u16(code).map_err(|_| HeadError::BadRequest("invalid status code"))?;
    let head = buf.split_to(len).freeze();
    let mut facts = Facts::default();
    let headers = raw::field_map(&head, spans.as_slice(), |name, value| {
        facts.observe(name, value)
    })?;
    let (framing, close) = framing(status, method, version, &facts)?;
    let keep_alive = facts.persistent(version) && !close && framing != Framing::CloseDelimited;
    Ok(Some(ResponseHead {
        status,
        version,
        headers,
        framing,
        keep_alive,
    }))
}

/// The body framing, and whether it forces the connection closed.
fn framing(
    status: StatusCode,
    method: &Method,
    version: Version,
    facts: &Facts,
) -> Result<(Framing, bool), HeadError> {
    let bodiless = *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || (*method == Method::CONNECT && status.is_success());
    if bodiless {
        return Ok((Framing::Empty, false));
    }
    if let Some(codings) = facts.transfer_encoding {
        if codings.chunked > 1 {
            return Err(HeadError::BadRequest("chunked applied more than once"));
        }
        let framing = if codings.chunked_last {
            Framing::Chunked
        } else {
            Framing::CloseDelimited
        };
        // Both length fields, or chunked in HTTP/1.0, hint at a framing
        // confusion: read this message, then drop the connection.
        let suspect = facts.content_length != ContentLength::Absent || version == Version::HTTP_10;
        return Ok((framing, suspect));
    }
    match facts.content_length {
        ContentLength::Valid(0) => Ok((Framing::Empty, false)),
        ContentLength::Valid(len) => Ok((Framing::Length(len), false)),
        ContentLength::Invalid(reason) => Err(HeadError::BadRequest(reason)),
        ContentLength::Absent => Ok((Framing::CloseDelimited, false)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &[u8], method: &Method) -> Result<Option<ResponseHead>, HeadError> {
        parse_response(&mut BytesMut::from(text), &Limits::default(), method)
    }

    #[test]
    fn a_simple_response() {
        let mut buf =
            BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello"[..]);
        let range = buf.as_ptr_range();
        let head = parse_response(&mut buf, &Limits::default(), &Method::GET)
            .unwrap()
            .unwrap();
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.version, Version::HTTP_11);
        assert_eq!(head.framing, Framing::Length(5));
        assert!(head.keep_alive);
        assert_eq!(head.headers["x"], "y");
        assert!(range.contains(&head.headers["x"].as_bytes().as_ptr()));
        assert_eq!(&buf[..], b"hello");
    }

    #[test]
    fn framing_and_keep_alive() {
        let get = Method::GET;
        let cases: [(&[u8], &Method, Framing, bool); 16] = [
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                &get,
                Framing::Empty,
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
                &Method::HEAD,
                Framing::Empty,
                true,
            ),
            (b"HTTP/1.1 100 Continue\r\n\r\n", &get, Framing::Empty, true),
            (
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n",
                &get,
                Framing::Empty,
                true,
            ),
            (
                b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
                &get,
                Framing::Empty,
                true,
            ),
            (
                b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
                &get,
                Framing::Empty,
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\n\r\n",
                &Method::CONNECT,
                Framing::Empty,
                true,
            ),
            (
                b"HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\n",
                &Method::CONNECT,
                Framing::Length(2),
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                &get,
                Framing::Chunked,
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                &get,
                Framing::Chunked,
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                &get,
                Framing::CloseDelimited,
                false,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                &get,
                Framing::Chunked,
                false,
            ),
            (
                b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
                &get,
                Framing::Chunked,
                false,
            ),
            (
                b"HTTP/1.1 200 OK\r\n\r\n",
                &get,
                Framing::CloseDelimited,
                false,
            ),
            (
                b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n",
                &get,
                Framing::Length(3),
                true,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n",
                &get,
                Framing::Length(3),
                false,
            ),
        ];
        for (text, method, framing, keep_alive) in cases {
            let head = parse(text, method).unwrap().unwrap();
            let text = String::from_utf8_lossy(text);
            assert_eq!(head.framing, framing, "{text}");
            assert_eq!(head.keep_alive, keep_alive, "{text}");
        }
    }

    #[test]
    fn refused_responses() {
        use HeadError::*;
        let cases: [(&[u8], HeadError); 11] = [
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                BadRequest("conflicting content-length values"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                BadRequest("invalid content-length"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
                BadRequest("chunked applied more than once"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
                BadRequest("obsolete line folding"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
                BadRequest("whitespace before colon"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n",
                BadRequest("invalid header value"),
            ),
            (
                b"HTTP/1.1 2000 OK\r\n\r\n",
                BadRequest("invalid status line"),
            ),
            (
                b"HTTP/1.1 099 Low\r\n\r\n",
                BadRequest("invalid status code"),
            ),
            (b"HTTP/1.1 OK\r\n\r\n", BadRequest("invalid status line")),
            (b"HTTP/2.0 200 OK\r\n\r\n", VersionNotSupported),
            (
                b"HTTPS/1.1 200 OK\r\n\r\n",
                BadRequest("invalid http version"),
            ),
        ];
        for (text, error) in cases {
            let text_lossy = String::from_utf8_lossy(text);
            assert_eq!(parse(text, &Method::GET).err(), Some(error), "{text_lossy}");
        }
    }

    #[test]
    fn limits() {
        let limits = Limits {
            max_head_bytes: 256,
            max_headers: 2,
            ..Limits::default()
        };
        let big = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(300));
        let cases: [(&str, Result<bool, HeadError>); 4] = [
            (&big, Err(HeadError::HeadTooLarge)),
            (&big[..200], Ok(false)),
            (&big[..257], Err(HeadError::HeadTooLarge)),
            (
                "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                Err(HeadError::TooManyHeaders),
            ),
        ];
        for (text, expected) in cases {
            let mut buf = BytesMut::from(text.as_bytes());
            let result = parse_response(&mut buf, &limits, &Method::GET).map(|head| head.is_some());
            assert_eq!(result, expected, "{text:.40}");
        }
    }

    #[test]
    fn responses_one_after_the_other() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"[..],
        );
        let limits = Limits::default();
        let interim = parse_response(&mut buf, &limits, &Method::POST)
            .unwrap()
            .unwrap();
        assert_eq!(interim.status, StatusCode::CONTINUE);
        let last = parse_response(&mut buf, &limits, &Method::POST)
            .unwrap()
            .unwrap();
        assert_eq!(
            (last.status, last.framing),
            (StatusCode::OK, Framing::Length(2))
        );
        assert_eq!(&buf[..], b"hi");
    }
}

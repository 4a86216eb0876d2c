//! Writing response and request heads.
//!
//! The size of a head is computed first so that one reservation suffices.

use bytes::BytesMut;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, Method, StatusCode, Version};

use super::digits::{decimal_len, put_decimal};
use super::framing::Framing;

/// A response head to write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResponseHeadOut<'a> {
    /// `HTTP_10` or `HTTP_11`; anything else is written as HTTP/1.1.
    pub version: Version,
    /// The status; its canonical reason phrase is written after it.
    pub status: StatusCode,
    /// The fields; `content-length` and `transfer-encoding` are replaced by
    /// the ones `framing` calls for.
    pub headers: &'a HeaderMap,
    /// How the body is delimited.
    pub framing: Framing,
    /// A `connection` value, written unless `headers` has one.
    pub connection: Option<&'static str>,
    /// A `date` value, written unless `headers` has one.
    pub date: Option<&'a [u8]>,
}

/// A request head to write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestHeadOut<'a> {
    /// The method.
    pub method: &'a Method,
    /// The request target, in the form the caller chose.
    pub target: &'a [u8],
    /// `HTTP_10` or `HTTP_11`; anything else is written as HTTP/1.1.
    pub version: Version,
    /// The fields; `content-length` and `transfer-encoding` are replaced by
    /// the ones `framing` calls for.
    pub headers: &'a HeaderMap,
    /// A `host` value, written first unless `headers` has one.
    pub host: Option<&'a [u8]>,
    /// How the body is delimited; never close-delimited for requests.
    pub framing: Framing,
}

/// The framing field a head carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FramingField {
    Length(u64),
    Chunked,
}

impl FramingField {
    fn len(self) -> usize {
        match self {
            Self::Length(n) => b"content-length: \r\n".len() + decimal_len(n),
            Self::Chunked => b"transfer-encoding: chunked\r\n".len(),
        }
    }

    fn put(self, dst: &mut BytesMut) {
        match self {
            Self::Length(n) => {
                dst.extend_from_slice(b"content-length: ");
                put_decimal(n, dst);
                dst.extend_from_slice(b"\r\n");
            }
            Self::Chunked => dst.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        }
    }
}

/// The user fields to write, their total size and which notable ones exist.
struct Fields {
    size: usize,
    connection: bool,
    date: bool,
    host: bool,
}

/// Whether the user's field is written; `keep_length` passes `content-length` through.
fn kept(name: &HeaderName, keep_length: bool) -> bool {
    *name != TRANSFER_ENCODING && (*name != CONTENT_LENGTH || keep_length)
}

fn measure(headers: &HeaderMap, keep_length: bool) -> Fields {
    let mut fields = Fields {
        size: 0,
        connection: false,
        date: false,
        host: false,
    };
    for (name, value) in headers {
        if kept(name, keep_length) {
            fields.size += field_len(name.as_str().as_bytes(), value.as_bytes());
            fields.connection |= *name == CONNECTION;
            fields.date |= *name == DATE;
            fields.host |= *name == HOST;
        }
    }
    fields
}

fn field_len(name: &[u8], value: &[u8]) -> usize {
    name.len() + value.len() + 4
}

fn put_field(name: &[u8], value: &[u8], dst: &mut BytesMut) {
    dst.extend_from_slice(name);
    dst.extend_from_slice(b": ");
    dst.extend_from_slice(value);
    dst.extend_from_slice(b"\r\n");
}

fn put_fields(headers: &HeaderMap, keep_length: bool, dst: &mut BytesMut) {
    for (name, value) in headers {
        if kept(name, keep_length) {
            put_field(name.as_str().as_bytes(), value.as_bytes(), dst);
        }
    }
}

fn version_text(version: Version) -> &'static [u8] {
    if version == Version::HTTP_10 {
        b"HTTP/1.0"
    } else {
        b"HTTP/1.1"
    }
}

/// The parts of a response head besides the user's fields.
struct ResponsePlan<'a> {
    reason: &'static str,
    keep_length: bool,
    framing: Option<FramingField>,
    connection: Option<&'static str>,
    date: Option<&'a [u8]>,
    size: usize,
}

fn plan_response<'a>(head: &ResponseHeadOut<'a>) -> ResponsePlan<'a> {
    let status = head.status;
    let reason = status.canonical_reason().unwrap_or("");
    // 1xx and 204 never carry framing fields (RFC 9110 §8.6); a 304 keeps
    // the length of the representation it stands for.
    let bodiless = status.is_informational() || status == StatusCode::NO_CONTENT;
    let keep_length = status == StatusCode::NOT_MODIFIED && head.framing == Framing::Empty;
    let framing = match head.framing {
        _ if bodiless => None,
        Framing::Empty if keep_length => None,
        Framing::Empty => Some(FramingField::Length(0)),
        Framing::Length(n) => Some(FramingField::Length(n)),
        Framing::Chunked => Some(FramingField::Chunked),
        Framing::CloseDelimited => None,
    };
    let fields = measure(head.headers, keep_length);
    let connection = head.connection.filter(|_| !fields.connection);
    let date = head.date.filter(|_| !fields.date);
    // "HTTP/1.1 200 " + reason + CRLF, the fields, CRLF.
    let mut size = 13 + reason.len() + 2 + fields.size + 2;
    size += framing.map_or(0, FramingField::len);
    size += connection.map_or(0, |value| field_len(b"connection", value.as_bytes()));
    size += date.map_or(0, |value| field_len(b"date", value));
    ResponsePlan {
        reason,
        keep_length,
        framing,
        connection,
        date,
        size,
    }
}

/// Appends a response head to `dst`, reserving its exact size first.
pub(crate) fn encode_response_head(head: &ResponseHeadOut<'_>, dst: &mut BytesMut) {
    let plan = plan_response(head);
    dst.reserve(plan.size);
    dst.extend_from_slice(version_text(head.version));
    dst.extend_from_slice(b" ");
    dst.extend_from_slice(head.status.as_str().as_bytes());
    dst.extend_from_slice(b" ");
    dst.extend_from_slice(plan.reason.as_bytes());
    dst.extend_from_slice(b"\r\n");
    put_fields(head.headers, plan.keep_length, dst);
    if let Some(framing) = plan.framing {
        framing.put(dst);
    }
    if let Some(connection) = plan.connection {
        put_field(b"connection", connection.as_bytes(), dst);
    }
    if let Some(date) = plan.date {
        put_field(b"date", date, dst);
    }
    dst.extend_from_slice(b"\r\n");
}

/// Appends a request head to `dst`, reserving its exact size first.
pub(crate) fn encode_request_head(head: &RequestHeadOut<'_>, dst: &mut BytesMut) {
    let framing = match head.framing {
        Framing::Length(n) => Some(FramingField::Length(n)),
        Framing::Chunked => Some(FramingField::Chunked),
        Framing::Empty | Framing::CloseDelimited => None,
    };
    let fields = measure(head.headers, false);
    let host = head.host.filter(|_| !fields.host);
    let method = head.method.as_str().as_bytes();
    // method SP target SP version CRLF, the fields, CRLF.
    let size = method.len()
        + 1
        + head.target.len()
        + 1
        + 8
        + 2
        + fields.size
        + 2
        + host.map_or(0, |host| field_len(b"host", host))
        + framing.map_or(0, FramingField::len);
    dst.reserve(size);
    dst.extend_from_slice(method);
    dst.extend_from_slice(b" ");
    dst.extend_from_slice(head.target);
    dst.extend_from_slice(b" ");
    dst.extend_from_slice(version_text(head.version));
    dst.extend_from_slice(b"\r\n");
    // Host goes first (RFC 9112 §3.2).
    if let Some(host) = host {
        put_field(b"host", host, dst);
    }
    put_fields(head.headers, false, dst);
    if let Some(framing) = framing {
        framing.put(dst);
    }
    dst.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn response(status: u16, headers: &HeaderMap, framing: Framing) -> String {
        let head = ResponseHeadOut {
            version: Version::HTTP_11,
            status: StatusCode::from_u16(status).unwrap_or_default(),
            headers,
            framing,
            connection: None,
            date: None,
        };
        let mut dst = BytesMut::new();
        encode_response_head(&head, &mut dst);
        assert_eq!(dst.len(), plan_response(&head).size);
        String::from_utf8_lossy(&dst).into_owned()
    }

    fn map(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn hello_world_in_one_reservation() {
        let headers = map(&[("content-type", "text/plain")]);
        let head = ResponseHeadOut {
            version: Version::HTTP_11,
            status: StatusCode::OK,
            headers: &headers,
            framing: Framing::Length(13),
            connection: Some("keep-alive"),
            date: Some(b"Sun, 06 Nov 1994 08:49:37 GMT"),
        };
        let mut dst = BytesMut::new();
        encode_response_head(&head, &mut dst);
        let capacity = dst.capacity();
        assert_eq!(dst.len(), plan_response(&head).size);
        assert_eq!(
            &dst[..],
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\
              connection: keep-alive\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
        );
        dst.clear();
        encode_response_head(&head, &mut dst);
        assert_eq!(dst.capacity(), capacity, "a reused buffer does not grow");
    }

    #[test]
    fn response_framing_fields() {
        let user = map(&[
            ("content-length", "99"),
            ("transfer-encoding", "gzip"),
            ("x", "y"),
        ]);
        let cases: [(u16, Framing, &str); 10] = [
            (
                200,
                Framing::Empty,
                "HTTP/1.1 200 OK\r\nx: y\r\ncontent-length: 0\r\n\r\n",
            ),
            (
                200,
                Framing::Length(5),
                "HTTP/1.1 200 OK\r\nx: y\r\ncontent-length: 5\r\n\r\n",
            ),
            (
                200,
                Framing::Chunked,
                "HTTP/1.1 200 OK\r\nx: y\r\ntransfer-encoding: chunked\r\n\r\n",
            ),
            (
                200,
                Framing::CloseDelimited,
                "HTTP/1.1 200 OK\r\nx: y\r\n\r\n",
            ),
            (
                204,
                Framing::Empty,
                "HTTP/1.1 204 No Content\r\nx: y\r\n\r\n",
            ),
            (
                204,
                Framing::Length(3),
                "HTTP/1.1 204 No Content\r\nx: y\r\n\r\n",
            ),
            (100, Framing::Empty, "HTTP/1.1 100 Continue\r\nx: y\r\n\r\n"),
            (
                304,
                Framing::Empty,
                "HTTP/1.1 304 Not Modified\r\ncontent-length: 99\r\nx: y\r\n\r\n",
            ),
            (
                304,
                Framing::Length(7),
                "HTTP/1.1 304 Not Modified\r\nx: y\r\ncontent-length: 7\r\n\r\n",
            ),
            (
                599,
                Framing::Empty,
                "HTTP/1.1 599 \r\nx: y\r\ncontent-length: 0\r\n\r\n",
            ),
        ];
        for (status, framing, text) in cases {
            assert_eq!(
                response(status, &user, framing),
                text,
                "{status} {framing:?}"
            );
        }
    }

    #[test]
    fn connection_and_date_defer_to_the_user() {
        let user = map(&[("connection", "close"), ("date", "yesterday")]);
        let head = ResponseHeadOut {
            version: Version::HTTP_10,
            status: StatusCode::NOT_FOUND,
            headers: &user,
            framing: Framing::Length(0),
            connection: Some("keep-alive"),
            date: Some(b"today"),
        };
        let mut dst = BytesMut::new();
        encode_response_head(&head, &mut dst);
        assert_eq!(
            &dst[..],
            b"HTTP/1.0 404 Not Found\r\nconnection: close\r\ndate: yesterday\r\ncontent-length: 0\r\n\r\n"
        );
    }

    #[test]
    fn requests() {
        let user = map(&[("accept", "*/*"), ("content-length", "1")]);
        let with_host = map(&[("host", "b.example")]);
        let cases: [(&HeaderMap, Framing, &str); 4] = [
            (
                &user,
                Framing::Empty,
                "POST /x HTTP/1.1\r\nhost: a.example\r\naccept: */*\r\n\r\n",
            ),
            (
                &user,
                Framing::Length(10),
                "POST /x HTTP/1.1\r\nhost: a.example\r\naccept: */*\r\ncontent-length: 10\r\n\r\n",
            ),
            (
                &user,
                Framing::Chunked,
                "POST /x HTTP/1.1\r\nhost: a.example\r\naccept: */*\r\ntransfer-encoding: chunked\r\n\r\n",
            ),
            (
                &with_host,
                Framing::Empty,
                "POST /x HTTP/1.1\r\nhost: b.example\r\n\r\n",
            ),
        ];
        for (headers, framing, text) in cases {
            let head = RequestHeadOut {
                method: &Method::POST,
                target: b"/x",
                version: Version::HTTP_11,
                headers,
                host: Some(b"a.example"),
                framing,
            };
            let mut dst = BytesMut::new();
            encode_request_head(&head, &mut dst);
            assert_eq!(String::from_utf8_lossy(&dst), text);
        }
    }
}

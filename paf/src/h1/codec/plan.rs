//! Framing decided by the codec, both ways (RFC 9112 §6): what a response
//! to a given request looks like on the wire, and how a request body is
//! delimited. The connection loops only carry out these plans.

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, Method, StatusCode, Version};

use super::framing::Framing;
use super::request::RequestHead;
use super::syntax::connection_has;
use crate::body::declares_length;

/// What the response plan needs to know of its request, kept once the
/// head has been handed to the handler.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exchange {
    /// The request's version.
    pub(crate) version: Version,
    /// `HEAD`: the response has no body, but its framing fields.
    pub(crate) is_head: bool,
    /// `CONNECT`: a 2xx answer switches to a tunnel.
    pub(crate) is_connect: bool,
    /// The request allows another one after it.
    pub(crate) keep_alive: bool,
    /// A CONNECT request or an HTTP/1.1 upgrade request.
    pub(crate) upgrade: bool,
}

impl Exchange {
    pub(crate) fn of(head: &RequestHead) -> Exchange {
        Exchange {
            version: head.version,
            is_head: head.method == Method::HEAD,
            is_connect: head.method == Method::CONNECT,
            keep_alive: head.keep_alive,
            upgrade: head.upgrade,
        }
    }
}

/// How a response goes on the wire, and what becomes of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResponsePlan {
    /// The body's framing, and the framing field written for it.
    pub(crate) framing: Framing,
    /// The `connection` field to write, if any.
    pub(crate) connection: Option<&'static str>,
    /// Whether the connection carries another request afterwards.
    pub(crate) keep_alive: bool,
    /// Whether the connection leaves HTTP after this response (`101`, or a
    /// 2xx to `CONNECT`).
    pub(crate) switching: bool,
    /// Whether body bytes follow the head.
    pub(crate) sends_body: bool,
}

/// Plans the response to `exchange` with `status` and `headers`, whose body
/// is `length` bytes when known. `reuse` is false when the server will not
/// keep the connection whatever the messages say (keep-alive off, shutting
/// down, a request body left unsent behind `Expect: 100-continue`).
pub(crate) fn plan_response(
    exchange: &Exchange,
    status: StatusCode,
    headers: &HeaderMap,
    length: Option<u64>,
    reuse: bool,
) -> ResponsePlan {
    let switching = exchange.upgrade
        && (status == StatusCode::SWITCHING_PROTOCOLS
            || (exchange.is_connect && status.is_success()));
    let framing = if switching {
        // The stream is not HTTP any more: no length, no chunking, and no
        // framing field (a `content-length: 0` would be wrong).
        Framing::CloseDelimited
    } else {
        response_framing(status, headers, length, exchange)
    };
    let keep_alive = exchange.keep_alive
        && reuse
        && !connection_has(headers, "close")
        && framing != Framing::CloseDelimited;
    let connection = match (keep_alive, exchange.version) {
        (false, _) if !switching => Some("close"),
        (true, Version::HTTP_10) => Some("keep-alive"),
        _ => None,
    };
    ResponsePlan {
        framing,
        connection,
        keep_alive,
        switching,
        sends_body: !(exchange.is_head || switching || framing == Framing::Empty),
    }
}

/// RFC 9112 §6.3 from the server's side: which framing the response gets.
fn response_framing(
    status: StatusCode,
    headers: &HeaderMap,
    length: Option<u64>,
    exchange: &Exchange,
) -> Framing {
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Framing::Empty;
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared.or(length) {
        Some(0) if !exchange.is_head => Framing::Empty,
        Some(n) => Framing::Length(n),
        // A HEAD response gets the framing field a GET would have (and no
        // body), so it never claims a length it does not know.
        None if exchange.version == Version::HTTP_10 => Framing::CloseDelimited,
        None => Framing::Chunked,
    }
}

/// A `content-length` set on a request that is not a length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidLength;

/// How a request body is delimited: the caller's `content-length` or
/// `transfer-encoding` if set, otherwise what the body's `length` tells.
pub(crate) fn plan_request(
    method: &Method,
    headers: &HeaderMap,
    length: Option<u64>,
) -> Result<Framing, InvalidLength> {
    if let Some(value) = headers.get(CONTENT_LENGTH) {
        let length = value.to_str().ok().and_then(|v| v.trim().parse().ok());
        return length.map(Framing::Length).ok_or(InvalidLength);
    }
    if headers.contains_key(TRANSFER_ENCODING) {
        return Ok(Framing::Chunked);
    }
    Ok(match length {
        Some(length) if declares_length(method, length) => Framing::Length(length),
        Some(_) => Framing::Empty,
        None => Framing::Chunked,
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn exchange(version: Version, method: Method) -> Exchange {
        Exchange {
            version,
            is_head: method == Method::HEAD,
            is_connect: method == Method::CONNECT,
            keep_alive: true,
            upgrade: method == Method::CONNECT,
        }
    }

    #[test]
    fn responses_are_framed_by_length_chunks_or_close() {
        let none = HeaderMap::new();
        let get11 = exchange(Version::HTTP_11, Method::GET);
        let get10 = exchange(Version::HTTP_10, Method::GET);
        let head = exchange(Version::HTTP_11, Method::HEAD);
        let cases = [
            (&get11, StatusCode::OK, Some(5), Framing::Length(5), true),
            (&get11, StatusCode::OK, Some(0), Framing::Empty, true),
            (&get11, StatusCode::OK, None, Framing::Chunked, true),
            (&get10, StatusCode::OK, None, Framing::CloseDelimited, false),
            (
                &get11,
                StatusCode::NO_CONTENT,
                Some(5),
                Framing::Empty,
                true,
            ),
            (&get11, StatusCode::NOT_MODIFIED, None, Framing::Empty, true),
            (&head, StatusCode::OK, Some(0), Framing::Length(0), true),
            (&head, StatusCode::OK, None, Framing::Chunked, true),
        ];
        for (exchange, status, length, framing, keep_alive) in cases {
            let plan = plan_response(exchange, status, &none, length, true);
            assert_eq!(plan.framing, framing, "{exchange:?} {status} {length:?}");
            assert_eq!(
                plan.keep_alive, keep_alive,
                "{exchange:?} {status} {length:?}"
            );
            let sends = framing != Framing::Empty && !exchange.is_head;
            assert_eq!(plan.sends_body, sends, "{exchange:?} {status} {length:?}");
        }
    }

    #[test]
    fn the_connection_field_follows_keep_alive_and_version() {
        let none = HeaderMap::new();
        let mut close = HeaderMap::new();
        close.insert("connection", HeaderValue::from_static("close"));
        let get11 = exchange(Version::HTTP_11, Method::GET);
        let get10 = exchange(Version::HTTP_10, Method::GET);
        let plan = |e, h, reuse| plan_response(e, StatusCode::OK, h, Some(1), reuse);
        assert_eq!(plan(&get11, &none, true).connection, None);
        assert_eq!(plan(&get11, &none, false).connection, Some("close"));
        assert_eq!(plan(&get11, &close, true).connection, Some("close"));
        assert_eq!(plan(&get10, &none, true).connection, Some("keep-alive"));
        assert!(!plan(&get11, &close, true).keep_alive);
    }

    #[test]
    fn switching_responses_have_no_framing() {
        let none = HeaderMap::new();
        let connect = exchange(Version::HTTP_11, Method::CONNECT);
        let plan = plan_response(&connect, StatusCode::OK, &none, Some(0), true);
        assert!(plan.switching && !plan.sends_body);
        assert_eq!(
            (plan.framing, plan.connection),
            (Framing::CloseDelimited, None)
        );
        let refused = plan_response(&connect, StatusCode::FORBIDDEN, &none, Some(0), true);
        assert!(!refused.switching);
        let mut upgrade = exchange(Version::HTTP_11, Method::GET);
        upgrade.upgrade = true;
        let plan = plan_response(&upgrade, StatusCode::SWITCHING_PROTOCOLS, &none, None, true);
        assert!(plan.switching);
    }

    #[test]
    fn request_bodies_are_framed_by_method_and_length() {
        let none = HeaderMap::new();
        let plan = |m: Method, length| plan_request(&m, &none, length);
        assert_eq!(plan(Method::GET, Some(0)), Ok(Framing::Empty));
        assert_eq!(plan(Method::POST, Some(0)), Ok(Framing::Length(0)));
        assert_eq!(plan(Method::PUT, None), Ok(Framing::Chunked));
        let mut bad = HeaderMap::new();
        bad.insert("content-length", HeaderValue::from_static("ten"));
        assert_eq!(
            plan_request(&Method::POST, &bad, Some(10)),
            Err(InvalidLength)
        );
    }
}

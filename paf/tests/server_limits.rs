#![allow(clippy::unwrap_used)]
//! The server's limits and defences, seen from a raw TCP client: requests
//! that are too large, ambiguous or malformed get the exact error status and
//! `connection: close`, the connection is closed, and the server goes on
//! serving other connections. Random bytes never bring it down.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use http::{Request, Response};
use paf::Body;
use paf::server::Http1;
use support::server::{TestServer, exchange, read_to_close, statuses, try_read_to_close};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The limits most tests run with.
const MAX_HEAD: usize = 1024;
const MAX_HEADERS: usize = 10;
const MAX_TARGET: usize = 128;
const MAX_BODY: u64 = 64;

fn limited() -> Http1 {
    Http1::new()
        .max_head_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .max_target_len(MAX_TARGET)
        .max_body_size(MAX_BODY)
}

// ---------------------------------------------------------------------------
// Handlers

/// Answers with the request body it read whole.
async fn echo(req: Request<Body>) -> Result<Response<Body>, paf::Error> {
    let body = req.into_body().bytes().await?;
    Ok(Response::new(Body::full(body)))
}

/// Reads the request body whole and answers with an empty `200`.
async fn swallow(req: Request<Body>) -> Result<Response<Body>, paf::Error> {
    req.into_body().drain().await?;
    Ok(Response::new(Body::empty()))
}

// ---------------------------------------------------------------------------
// Reading responses

/// One response as received.
#[derive(Debug)]
struct Reply {
    status: u16,
    /// Names lowercased.
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits `text` into the responses it holds, each framed by its
/// `content-length` (none means no body). Errors on anything else: a
/// malformed status line or field, a body cut short, bytes left over.
fn parse_replies(text: &str) -> Result<Vec<Reply>, String> {
    let mut rest = text;
    let mut replies = Vec::new();
    while !rest.is_empty() {
        let (head, after) = rest
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("unterminated response head: {rest:?}"))?;
        let mut lines = head.split("\r\n");
        let line = lines.next().unwrap_or_default();
        let status = line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|s| (100..600).contains(s))
            .ok_or_else(|| format!("bad status line: {line:?}"))?;
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("bad field line: {line:?}"))?;
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut reply = Reply {
            status,
            headers,
            body: String::new(),
        };
        let length = match reply.header("content-length") {
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| format!("bad length {v:?}"))?,
            None if reply.header("transfer-encoding").is_some() => {
                return Err("chunked responses are not expected here".into());
            }
            None => 0,
        };
        let body = after
            .get(..length)
            .ok_or_else(|| format!("body cut short: {length} bytes expected, got {after:?}"))?;
        reply.body = body.to_owned();
        replies.push(reply);
        rest = &after[length..];
    }
    Ok(replies)
}

fn replies(text: &str) -> Vec<Reply> {
    parse_replies(text).unwrap_or_else(|err| panic!("{err}\nin {text:?}"))
}

/// Checks that the last response is the error `status`, announces the close
/// and carries its whole body.
fn assert_error_reply(reply: &Reply, status: u16, case: &str) {
    assert_eq!(reply.status, status, "{case}");
    assert_eq!(reply.header("connection"), Some("close"), "{case}");
    assert!(!reply.body.is_empty(), "{case}: the error has a text body");
}

/// A new connection still gets `200` for a plain GET.
async fn assert_serves(addr: SocketAddr, case: &str) {
    let text = exchange(
        addr,
        b"GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&text), [200], "{case}: a GET afterwards\n{text}");
}

/// Sends `request` alone on a connection: it must be answered with `status`
/// and nothing else, with `connection: close`, and the connection closed;
/// the server must then still serve a new connection.
async fn assert_refused(addr: SocketAddr, case: &str, request: &[u8], status: u16) {
    let text = exchange(addr, request).await;
    assert_eq!(statuses(&text), [status], "{case}\n{text}");
    let replies = replies(&text);
    assert_eq!(replies.len(), 1, "{case}");
    assert_error_reply(&replies[0], status, case);
    assert_serves(addr, case).await;
}

/// Sends `request` (which asks for `connection: close`) and expects one `200`
/// whose body is `body`.
async fn assert_accepted(addr: SocketAddr, case: &str, request: &[u8], body: &str) {
    let text = exchange(addr, request).await;
    let replies = replies(&text);
    assert_eq!(replies.len(), 1, "{case}\n{text}");
    assert_eq!(replies[0].status, 200, "{case}\n{text}");
    assert_eq!(replies[0].body, body, "{case}");
}

/// `GET /` with `fields` (each ending in CRLF) after `host: x`.
fn get_with(fields: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: x\r\n{fields}\r\n").into_bytes()
}

// ---------------------------------------------------------------------------
// Head limits

#[tokio::test]
async fn oversized_heads_and_targets_are_refused() {
    let server = TestServer::start(limited(), paf::service_fn(support::server::hello));
    let big_value = "a".repeat(2 * MAX_HEAD);
    let fields = |n: usize| -> String { (0..n).map(|i| format!("x-{i}: v\r\n")).collect() };
    let long_target = "a".repeat(MAX_TARGET + 1);
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "head over max_head_size",
            get_with(&format!("x-big: {big_value}\r\n")),
            431,
        ),
        (
            "head over max_head_size, still unfinished",
            format!("GET / HTTP/1.1\r\nHost: x\r\nx-big: {big_value}").into_bytes(),
            431,
        ),
        (
            "one field more than max_headers (host is one)",
            get_with(&fields(MAX_HEADERS)),
            431,
        ),
        (
            "far more fields than max_headers, head unfinished",
            format!("GET / HTTP/1.1\r\nHost: x\r\n{}", fields(3 * MAX_HEADERS)).into_bytes(),
            431,
        ),
        (
            "target over max_target_len",
            format!("GET /{long_target} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
            414,
        ),
        (
            "target over max_target_len, head unfinished",
            format!("GET /{long_target} HTTP/1.1\r\nHost: x\r\n").into_bytes(),
            414,
        ),
        (
            "long request line without CRLF",
            format!("GET /{}", "a".repeat(4 * MAX_TARGET)).into_bytes(),
            414,
        ),
        (
            "request line without CRLF longer than max_head_size",
            format!("GET /{}", "a".repeat(8 * MAX_HEAD)).into_bytes(),
            414,
        ),
    ];
    for (case, request, status) in &cases {
        assert_refused(server.addr, case, request, *status).await;
    }
}

#[tokio::test]
async fn heads_at_the_limits_are_served() {
    let server = TestServer::start(limited(), paf::service_fn(support::server::hello));
    let close = "Connection: close\r\n";
    let fields: String = (0..MAX_HEADERS - 2)
        .map(|i| format!("x-{i}: v\r\n"))
        .collect();
    let at_max_headers = get_with(&format!("{fields}{close}"));
    let at_max_target = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\n{close}\r\n",
        "a".repeat(MAX_TARGET - 1)
    );
    // Padded to exactly `MAX_HEAD` bytes, final CRLF included.
    let unpadded = get_with(&format!("{close}x-pad: \r\n")).len();
    let at_max_head = get_with(&format!(
        "{close}x-pad: {}\r\n",
        "p".repeat(MAX_HEAD - unpadded)
    ));
    assert_eq!(at_max_head.len(), MAX_HEAD);
    let cases: [(&str, &[u8]); 3] = [
        ("exactly max_headers fields", &at_max_headers),
        ("target of exactly max_target_len", at_max_target.as_bytes()),
        ("head of exactly max_head_size", &at_max_head),
    ];
    for (case, request) in cases {
        assert_accepted(server.addr, case, request, "Hello, world!").await;
    }
}

#[tokio::test]
async fn default_head_limits() {
    let server = TestServer::hello();
    let many: String = (0..100).map(|i| format!("x-{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "a 70 KB field",
            get_with(&format!("x: {}\r\n", "a".repeat(70_000))),
            431,
        ),
        ("101 fields", get_with(&many), 431),
        (
            "a 9000-byte target",
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000)).into_bytes(),
            414,
        ),
        (
            "a 20000-byte request line without CRLF",
            format!("GET /{}", "a".repeat(20_000)).into_bytes(),
            414,
        ),
    ];
    for (case, request, status) in &cases {
        assert_refused(server.addr, case, request, *status).await;
    }
}

// ---------------------------------------------------------------------------
// Body limits

#[tokio::test]
async fn declared_length_over_the_limit_is_refused_before_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let counting = paf::service_fn(move |req: Request<Body>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            let body = req.into_body().bytes().await?;
            Ok::<_, paf::Error>(Response::new(Body::full(body)))
        }
    });
    let server = TestServer::start(limited(), counting);
    let over = MAX_BODY + 1;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "one byte over, body sent",
            format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {over}\r\n\r\n{}",
                "b".repeat(over as usize)
            )
            .into_bytes(),
        ),
        (
            "one byte over, body held back",
            format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {over}\r\n\r\n").into_bytes(),
        ),
        (
            "u64::MAX",
            format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                u64::MAX
            )
            .into_bytes(),
        ),
        (
            "over, waiting for 100-continue",
            format!(
                "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {over}\r\n\r\n"
            )
            .into_bytes(),
        ),
    ];
    for (case, request) in &cases {
        let text = exchange(server.addr, request).await;
        // No `100 Continue` either: the body is not wanted.
        assert_eq!(statuses(&text), [413], "{case}\n{text}");
        assert_error_reply(&replies(&text)[0], 413, case);
        assert_eq!(calls.load(Ordering::SeqCst), 0, "{case}: handler called");
    }

    let at_limit = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY}\r\nConnection: close\r\n\r\n{}",
        "b".repeat(MAX_BODY as usize)
    );
    assert_accepted(
        server.addr,
        "exactly max_body_size",
        at_limit.as_bytes(),
        &"b".repeat(MAX_BODY as usize),
    )
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_serves(server.addr, "after the refusals").await;
}

#[tokio::test]
async fn chunked_body_growing_past_the_limit_is_refused() {
    let server = TestServer::start(limited(), paf::service_fn(echo));
    let chunked = |chunks: &str| -> Vec<u8> {
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunks}"
        )
        .into_bytes()
    };
    let chunk = |n: usize| format!("{n:x}\r\n{}\r\n", "c".repeat(n));
    let max = MAX_BODY as usize;

    let exact = chunked(&format!("{}{}0\r\n\r\n", chunk(40), chunk(max - 40)));
    assert_accepted(server.addr, "exactly the limit", &exact, &"c".repeat(max)).await;

    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "one chunk one byte over",
            chunked(&format!("{}0\r\n\r\n", chunk(max + 1))),
        ),
        (
            "the second chunk crosses the limit",
            chunked(&format!("{}{}0\r\n\r\n", chunk(40), chunk(max - 39))),
        ),
        (
            "many small chunks",
            chunked(&format!("{}0\r\n\r\n", chunk(1).repeat(max + 1))),
        ),
        (
            "a huge chunk, cut short",
            chunked(&format!("ffffffff\r\n{}", "c".repeat(2 * max))),
        ),
    ];
    for (case, request) in &cases {
        assert_refused(server.addr, case, request, 413).await;
    }
}

#[tokio::test]
async fn error_response_survives_a_client_that_keeps_sending() {
    let server = TestServer::start(limited(), paf::service_fn(echo));
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n";
    tcp.write_all(head.as_bytes()).await.unwrap();
    let piece = vec![b'u'; 64 * 1024];
    let mut sent = 0;
    // The server stops reading at some point and closes; a failed or
    // blocked write just ends the upload.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while sent < 2 * 1024 * 1024 {
            if tcp.write_all(&piece).await.is_err() {
                break;
            }
            sent += piece.len();
        }
    })
    .await;
    let text = read_to_close(&mut tcp).await;
    let replies = parse_replies(&text).unwrap_or_else(|err| {
        panic!("the 413 response was lost or cut ({sent} body bytes sent): {err}\n{text:?}")
    });
    assert_eq!(replies.len(), 1, "{text}");
    assert_error_reply(&replies[0], 413, "10 MB declared, 2 MB streamed");
    assert_serves(server.addr, "after a streamed refusal").await;
}

// ---------------------------------------------------------------------------
// Request smuggling and malformed heads

#[tokio::test]
async fn ambiguous_framing_is_refused() {
    let server = TestServer::start(Http1::new(), paf::service_fn(echo));
    let cases: [(&str, &[u8], u16); 21] = [
        (
            "content-length with transfer-encoding",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            400,
        ),
        (
            "transfer-encoding with content-length",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            400,
        ),
        (
            "two differing content-length fields",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            400,
        ),
        (
            "content-length: 5, 6",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!",
            400,
        ),
        (
            "content-length: +5",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
            400,
        ),
        (
            "content-length: 0x5",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello",
            400,
        ),
        (
            "content-length: 5 5",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5 5\r\n\r\nhello",
            400,
        ),
        (
            "empty content-length",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\nhello",
            400,
        ),
        (
            "content-length: -1",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\nhello",
            400,
        ),
        (
            "content-length: 5,",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5,\r\n\r\nhello",
            400,
        ),
        (
            "content-length over u64",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\nhello",
            400,
        ),
        (
            "transfer-encoding: chunked, gzip",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            400,
        ),
        (
            "transfer-encoding: gzip",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello",
            400,
        ),
        (
            "chunked, then gzip in a second field",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\nhello",
            400,
        ),
        (
            "transfer-encoding: foo, chunked",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            501,
        ),
        (
            "transfer-encoding: chunked, chunked",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            400,
        ),
        (
            "chunked in two fields",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            400,
        ),
        (
            "empty transfer-encoding",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\nhello",
            400,
        ),
        (
            "transfer-encoding in HTTP/1.0",
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            400,
        ),
        (
            "content-length: with whitespace before the colon",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
            400,
        ),
        (
            "transfer-encoding folded onto a second line",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            400,
        ),
    ];
    for (case, request, status) in cases {
        assert_refused(server.addr, case, request, status).await;
    }
}

#[tokio::test]
async fn repeated_identical_content_lengths_are_accepted() {
    let server = TestServer::start(Http1::new(), paf::service_fn(echo));
    let cases: [(&str, &[u8]); 3] = [
        (
            "two identical fields",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        ),
        (
            "one field listing the same value twice",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\nConnection: close\r\n\r\nhello",
        ),
        (
            "leading zeros",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 005\r\ncontent-length: 5\r\nConnection: close\r\n\r\nhello",
        ),
    ];
    for (case, request) in cases {
        assert_accepted(server.addr, case, request, "hello").await;
    }
}

#[tokio::test]
async fn malformed_field_lines_are_refused() {
    let server = TestServer::start(Http1::new(), paf::service_fn(echo));
    let cases: [(&str, &[u8], u16); 17] = [
        (
            "obsolete line folding",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n",
            400,
        ),
        (
            "obsolete line folding with a tab",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n",
            400,
        ),
        (
            "whitespace before the colon of host",
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            400,
        ),
        (
            "a tab before the colon",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A\t: v\r\n\r\n",
            400,
        ),
        (
            "\\x01 in a field value",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
            400,
        ),
        (
            "\\x7f in a field value",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n",
            400,
        ),
        (
            "NUL in a field value",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
            400,
        ),
        (
            "a bare CR in a field value",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
            400,
        ),
        (
            "a control character in a field name",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-\x01A: v\r\n\r\n",
            400,
        ),
        (
            "a space inside a field name",
            b"GET / HTTP/1.1\r\nHost: x\r\nX A: v\r\n\r\n",
            400,
        ),
        (
            "an empty field name",
            b"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n",
            400,
        ),
        (
            "a field line without a colon",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n",
            400,
        ),
        ("HTTP/1.1 without host", b"GET / HTTP/1.1\r\n\r\n", 400),
        (
            "two host fields",
            b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
            400,
        ),
        (
            "an expectation other than 100-continue",
            b"GET / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n",
            417,
        ),
        (
            "an unsupported HTTP version",
            b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
            505,
        ),
        (
            "a control character in the target",
            b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
            400,
        ),
    ];
    for (case, request, status) in cases {
        assert_refused(server.addr, case, request, status).await;
    }
}

/// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status
/// code to any HTTP/1.1 request message that lacks a Host header field and
/// to any request message that contains more than one Host header field line
/// or a Host header field with an invalid field value."
#[tokio::test]
async fn invalid_host_values_are_refused() {
    let server = TestServer::start(Http1::new(), paf::service_fn(echo));
    // `connection: close` makes a wrong `200` fail fast instead of leaving
    // the connection open.
    let cases: [(&str, &[u8]); 4] = [
        (
            "a space inside the host",
            b"GET / HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
        ),
        (
            "a path in the host",
            b"GET / HTTP/1.1\r\nHost: x/y\r\nConnection: close\r\n\r\n",
        ),
        (
            "userinfo in the host",
            b"GET / HTTP/1.1\r\nHost: user@x\r\nConnection: close\r\n\r\n",
        ),
        (
            "a port that is not a number",
            b"GET / HTTP/1.1\r\nHost: x:port\r\nConnection: close\r\n\r\n",
        ),
    ];
    for (case, request) in cases {
        assert_refused(server.addr, case, request, 400).await;
    }
    let valid: [(&str, &[u8]); 3] = [
        (
            "name and port",
            b"GET / HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n",
        ),
        (
            "IPv6 literal",
            b"GET / HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n",
        ),
        (
            "empty (allowed when the target has no authority)",
            b"GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
        ),
    ];
    for (case, request) in valid {
        assert_accepted(server.addr, case, request, "").await;
    }
}

#[tokio::test]
async fn malformed_chunked_bodies_are_refused() {
    let server = TestServer::start(Http1::new(), paf::service_fn(echo));
    let chunked = |body: &[u8]| -> Vec<u8> {
        let mut request =
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(body);
        request
    };
    let cases: [(&str, &[u8]); 14] = [
        ("size zz", b"zz\r\nhello\r\n0\r\n\r\n"),
        ("size -1", b"-1\r\nhello\r\n0\r\n\r\n"),
        ("size 0x5", b"0x5\r\nhello\r\n0\r\n\r\n"),
        ("17 hex digits", b"00000000000000005\r\nhello\r\n0\r\n\r\n"),
        ("empty size", b"\r\nhello\r\n0\r\n\r\n"),
        ("size with a leading space", b" 5\r\nhello\r\n0\r\n\r\n"),
        ("extension without a name", b"5;=x\r\nhello\r\n0\r\n\r\n"),
        (
            "unterminated quoted extension value",
            b"5;a=\"unterminated\r\nhello\r\n0\r\n\r\n",
        ),
        (
            "control character in an extension",
            b"5;a=\x01\r\nhello\r\n0\r\n\r\n",
        ),
        (
            "control character in a quoted extension",
            b"5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n",
        ),
        ("bare LF after the size", b"5\nhello\r\n0\r\n\r\n"),
        ("data longer than its size", b"5\r\nhello!\r\n0\r\n\r\n"),
        ("no CRLF after the data", b"5\r\nhelloXX0\r\n\r\n"),
        (
            "malformed trailer",
            b"5\r\nhello\r\n0\r\nbad trailer\r\n\r\n",
        ),
    ];
    for (case, body) in cases {
        assert_refused(server.addr, case, &chunked(body), 400).await;
    }
    let good = b"5;a=b;c=\"d e\"\r\nhello\r\n0\r\n\r\n";
    let mut request =
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    request.extend_from_slice(good);
    assert_accepted(server.addr, "valid extensions", &request, "hello").await;
}

#[tokio::test]
async fn malformed_request_after_a_valid_one_in_the_same_write() {
    let server = TestServer::start(limited(), paf::service_fn(echo));
    let firsts: [(&str, &[u8]); 2] = [
        ("GET", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        (
            "POST with a body",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        ),
    ];
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(MAX_HEAD)
    );
    let many_fields = get_with(&"x: v\r\n".repeat(MAX_HEADERS));
    let long_target = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(MAX_TARGET)
    );
    let seconds: [(&str, &[u8], u16); 9] = [
        (
            "content-length with transfer-encoding",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            "bad content-length",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
            400,
        ),
        ("no host", b"GET / HTTP/1.1\r\n\r\n", 400),
        (
            "garbage",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            400,
        ),
        (
            "body over the limit",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
            413,
        ),
        (
            "bad chunk size",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
        ),
        ("head over max_head_size", big_head.as_bytes(), 431),
        ("too many fields", &many_fields, 431),
        ("target over max_target_len", long_target.as_bytes(), 414),
    ];
    for (first_case, first) in firsts {
        for (second_case, second, status) in seconds {
            let case = format!("{first_case} then {second_case}");
            let mut request = first.to_vec();
            request.extend_from_slice(second);
            let text = exchange(server.addr, &request).await;
            assert_eq!(statuses(&text), [200, status], "{case}\n{text}");
            let replies = replies(&text);
            assert_eq!(replies[0].header("connection"), None, "{case}");
            assert_eq!(
                replies[0].body,
                if first_case == "GET" { "" } else { "hello" },
                "{case}"
            );
            assert_error_reply(&replies[1], status, &case);
            assert_serves(server.addr, &case).await;
        }
    }
}

#[tokio::test]
async fn error_responses_follow_the_date_header_setting() {
    let server = TestServer::start(
        Http1::new().date_header(false),
        paf::service_fn(support::server::hello),
    );
    let text = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(replies(&text)[0].header("date"), None, "a normal response");
    let text = exchange(server.addr, b"GET / HTTP/1.1\r\n\r\n").await;
    let replies = replies(&text);
    assert_error_reply(&replies[0], 400, "missing host");
    assert_eq!(
        replies[0].header("date"),
        None,
        "date_header(false) also applies to error responses"
    );
}

// ---------------------------------------------------------------------------
// Random input

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Well-formed requests the random inputs start from.
const TEMPLATES: [&[u8]; 7] = [
    b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
    b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
    b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=\"v\"\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
    b"PUT /p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
];

/// Starts of requests that random bytes follow: in the fields, in a chunked
/// body, after a body.
const PREFIXES: [&[u8]; 3] = [
    b"POST / HTTP/1.1\r\nHost: x\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
];

/// Bytes that matter to the parser, favoured by the mutations.
const SPECIAL: &[u8] = b"\r\n :;,=\"\\\t0123456789abcdefABCDEF-+xX\x00\x01\x7f\x80\xff/?*%HTP.";

fn random_input(rng: &mut Rng) -> Vec<u8> {
    let byte = |rng: &mut Rng| -> u8 {
        if rng.below(2) == 0 {
            *rng.pick(SPECIAL)
        } else {
            rng.next() as u8
        }
    };
    match rng.below(4) {
        // Pure noise.
        0 => (0..rng.below(300)).map(|_| byte(rng)).collect(),
        // A request cut anywhere.
        1 => {
            let template = rng.pick(&TEMPLATES);
            template[..rng.below(template.len() + 1)].to_vec()
        }
        // The start of a request, then noise.
        2 => {
            let mut input = rng.pick(&PREFIXES).to_vec();
            input.extend((0..rng.below(200)).map(|_| byte(rng)));
            input
        }
        // A request with a few bytes replaced, inserted or removed.
        _ => {
            let mut input = rng.pick(&TEMPLATES).to_vec();
            for _ in 0..=rng.below(4) {
                let at = rng.below(input.len() + 1);
                match rng.below(3) {
                    0 if at < input.len() => input[at] = byte(rng),
                    1 => input.insert(at, byte(rng)),
                    _ if at < input.len() => {
                        input.remove(at);
                    }
                    _ => {}
                }
            }
            input
        }
    }
}

/// The names of the threads that panicked since the hook was installed.
fn panicked_threads() -> &'static Mutex<Vec<String>> {
    static PANICKED: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    PANICKED.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            if let Some(panicked) = PANICKED.get() {
                panicked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(name);
            }
            previous(info);
        }));
        Mutex::new(Vec::new())
    })
}

/// Sends `input`, ends the sending side, reads everything until the close;
/// `None` if the server did not close the connection.
async fn send_and_read(addr: SocketAddr, input: &[u8]) -> Option<String> {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // The server may refuse and close before reading it all.
    if tcp.write_all(input).await.is_ok() {
        let _ = tcp.shutdown().await;
    }
    try_read_to_close(&mut tcp).await.ok()
}

#[tokio::test]
async fn random_bytes_never_break_the_server() {
    // The server's tasks run on this thread (a current-thread runtime).
    let panicked = panicked_threads();
    let me = std::thread::current().name().unwrap_or("").to_owned();
    let http = Http1::new()
        .max_head_size(4096)
        .max_body_size(1024)
        .head_timeout(Some(Duration::from_secs(3)));
    let server = TestServer::start(http, paf::service_fn(swallow));
    let addr = server.addr;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let inputs: Vec<Vec<u8>> = (0..3000).map(|_| random_input(&mut rng)).collect();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for batch in inputs.chunks(50) {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, input) in batch.iter().enumerate() {
            let input = input.clone();
            tasks.spawn(async move { (i, send_and_read(addr, &input).await) });
        }
        while let Some(done) = tasks.join_next().await {
            let (i, text) = done.unwrap();
            let input = String::from_utf8_lossy(&batch[i]);
            let text = text.unwrap_or_else(|| panic!("not closed after input {input:?}"));
            let replies =
                parse_replies(&text).unwrap_or_else(|err| panic!("{err}\nfor input {input:?}"));
            for (n, reply) in replies.iter().enumerate() {
                let last = n + 1 == replies.len();
                let ok = matches!(reply.status, 100 | 200)
                    || (400..600).contains(&reply.status)
                        && last
                        && reply.header("connection") == Some("close");
                assert!(ok, "unexpected {reply:?}\nfor input {input:?}\n{text}");
            }
            let outcome = match replies.last() {
                None => "closed without a response".to_owned(),
                Some(reply) => reply.status.to_string(),
            };
            *seen.entry(outcome).or_default() += 1;
        }
    }
    let server_panics = panicked
        .lock()
        .unwrap()
        .iter()
        .filter(|name| **name == me)
        .count();
    assert_eq!(server_panics, 0, "the server panicked");
    // The inputs reach every part of the parser, not just one refusal.
    for outcome in ["200", "400", "closed without a response"] {
        assert!(seen.get(outcome).is_some_and(|&n| n >= 10), "{seen:?}");
    }
    assert_serves(addr, "after the random inputs").await;
}

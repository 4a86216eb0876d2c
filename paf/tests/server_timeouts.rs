#![allow(clippy::unwrap_used)]
//! The server's head and idle timeouts on real sockets, with short
//! configured timeouts: a slow head gets `408` and a close, a silent or idle
//! connection is closed without a word, and trickling bytes does not extend
//! the time a client has to send its head.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::join_all;
use paf::server::Http1;
use support::server::{TestServer, exchange, read_to_close, statuses};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How long a test waits for a response that should come.
const RESPONDS_WITHIN: Duration = Duration::from_secs(5);

/// Slack allowed after a deadline for the server to act on it.
const SLACK: Duration = Duration::from_millis(700);

/// Reads exactly one response framed by `content-length`, leaving the
/// connection open.
async fn read_one_response(tcp: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0; 4096];
    let read = async {
        loop {
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if text.len() >= end + 4 + length {
                    return text;
                }
            }
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed in the middle of a response: {received:?}");
            received.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(RESPONDS_WITHIN, read)
        .await
        .expect("a response")
}

/// Checks that `text` is exactly one `408` announcing the close.
fn assert_408(text: &str, case: &str) {
    assert_eq!(statuses(text), [408], "{case}\n{text}");
    assert!(
        text.contains("\r\nconnection: close\r\n"),
        "{case}: no connection: close\n{text}"
    );
}

/// Checks that `elapsed` is `timeout`, give or take the server's reaction time.
fn assert_around(elapsed: Duration, timeout: Duration, case: &str) {
    assert!(
        elapsed >= timeout - Duration::from_millis(10) && elapsed < timeout + SLACK,
        "{case}: took {elapsed:?}, expected about {timeout:?}"
    );
}

/// A new connection still gets `200` for a plain GET.
async fn assert_serves(addr: SocketAddr) {
    let request = b"GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let text = exchange(addr, request).await;
    assert_eq!(statuses(&text), [200], "a GET afterwards\n{text}");
}

fn start(http: Http1) -> TestServer {
    TestServer::start(http, paf::service_fn(support::server::hello))
}

#[tokio::test]
async fn a_stalled_head_gets_408_and_a_close() {
    let timeout = Duration::from_millis(300);
    let server = start(Http1::new().head_timeout(Some(timeout)));
    let cases: [(&str, &[u8]); 3] = [
        ("an unfinished request line", b"GET /path"),
        (
            "an unfinished field section",
            b"GET / HTTP/1.1\r\nHost: x\r\n",
        ),
        (
            "a complete line and half a field",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Le",
        ),
    ];
    let runs = cases.iter().map(|(case, partial)| async move {
        let start = Instant::now();
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(partial).await.unwrap();
        let text = read_to_close(&mut tcp).await;
        assert_408(&text, case);
        assert_around(start.elapsed(), timeout, case);
    });
    join_all(runs).await;
    assert_serves(server.addr).await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_without_a_response() {
    let timeout = Duration::from_millis(300);
    let server = start(Http1::new().head_timeout(Some(timeout)));
    let start = Instant::now();
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let text = read_to_close(&mut tcp).await;
    assert_eq!(text, "", "nothing is sent to a client that sent nothing");
    assert_around(start.elapsed(), timeout, "a silent client");
    assert_serves(server.addr).await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_without_a_response() {
    let idle = Duration::from_millis(300);
    let server = start(
        Http1::new()
            .idle_timeout(Some(idle))
            .head_timeout(Some(Duration::from_secs(30))),
    );
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_one_response(&mut tcp).await;
    assert_eq!(statuses(&response), [200], "{response}");
    assert!(!response.contains("connection: close"), "{response}");
    let idle_since = Instant::now();
    let text = read_to_close(&mut tcp).await;
    assert_eq!(text, "", "an idle connection is closed without a response");
    assert_around(idle_since.elapsed(), idle, "an idle connection");
    assert_serves(server.addr).await;
}

#[tokio::test]
async fn slowloris_gets_408_counted_from_the_first_byte() {
    let timeout = Duration::from_millis(500);
    let server = start(Http1::new().head_timeout(Some(timeout)));
    let start = Instant::now();
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = tcp.into_split();
    // One byte every 100 ms, for far longer than the timeout.
    let trickle = tokio::spawn(async move {
        let head = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: {}", "s".repeat(100));
        for byte in head.bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let text = tokio::time::timeout(RESPONDS_WITHIN, async {
        let mut out = Vec::new();
        let _ = reader.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .expect("the server should answer 408 and close the connection");
    let elapsed = start.elapsed();
    trickle.abort();
    assert_408(&text, "one byte every 100 ms");
    assert_around(elapsed, timeout, "one byte every 100 ms");
    assert_serves(server.addr).await;
}

#[tokio::test]
async fn a_later_head_is_timed_from_its_first_byte_not_from_the_idle_start() {
    let timeout = Duration::from_millis(300);
    let server = start(
        Http1::new()
            .head_timeout(Some(timeout))
            .idle_timeout(Some(Duration::from_secs(5))),
    );
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_one_response(&mut tcp).await;
    assert_eq!(statuses(&response), [200], "{response}");
    // Idle for longer than the head timeout: that time is not the head's.
    tokio::time::sleep(timeout * 2).await;
    let first_byte = Instant::now();
    tcp.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
    let text = read_to_close(&mut tcp).await;
    assert_408(&text, "a second head stalled");
    assert_around(first_byte.elapsed(), timeout, "a second head stalled");
    assert_serves(server.addr).await;
}

/// Reads the request body after `delay`, then answers with its length.
async fn read_body_after(
    delay: Duration,
    req: http::Request<paf::Body>,
) -> Result<http::Response<paf::Body>, std::convert::Infallible> {
    tokio::time::sleep(delay).await;
    let text = match req.into_body().bytes().await {
        Ok(body) => body.len().to_string(),
        Err(err) => err.to_string(),
    };
    Ok(paf::respond::text(text))
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_but_a_slow_handler_does_not() {
    let timeout = Duration::from_millis(300);
    let http = Http1::new().idle_timeout(Some(timeout));
    let eager = TestServer::start(
        http.clone(),
        paf::service_fn(|req| read_body_after(Duration::ZERO, req)),
    );
    let start = Instant::now();
    let mut tcp = TcpStream::connect(eager.addr).await.unwrap();
    tcp.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf.")
        .await
        .unwrap();
    let text = read_to_close(&mut tcp).await;
    assert_408(&text, "a body stalled after 5 of 10 bytes");
    assert_around(start.elapsed(), timeout, "a stalled body");
    assert_serves(eager.addr).await;

    // The handler takes twice the timeout before reading a body that is
    // chunked and complete: only the peer's pauses count.
    let slow = TestServer::start(
        http,
        paf::service_fn(|req| read_body_after(Duration::from_millis(600), req)),
    );
    let mut tcp = TcpStream::connect(slow.addr).await.unwrap();
    tcp.write_all(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    tcp.write_all(b"0\r\n\r\n").await.unwrap();
    let text = read_one_response(&mut tcp).await;
    assert_eq!(statuses(&text), [200], "{text}");
    assert!(text.ends_with("\r\n\r\n5"), "{text}");
}

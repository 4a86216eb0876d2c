//! The HTTP/1.1 server's behaviour, written as bytes on the wire.
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use mimic::mem::Hub;
use paf::server::{Connected, Http1, Serve};
use paf::{Body, respond};
use support::server::{PROMPT, TestServer, exchange, read_to_close, statuses};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::net::TcpStream;

/// Answers with the request's method and path, and reads the body for POST.
async fn echo_path(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let line = format!("{} {}", req.method(), req.uri().path());
    let body = req.into_body().bytes().await.unwrap_or_default();
    Ok(Response::new(Body::full(format!("{line} {}", body.len()))))
}

/// A stream that counts the writes made on it.
struct CountingWrites {
    inner: DuplexStream,
    writes: Arc<AtomicUsize>,
}

impl AsyncRead for CountingWrites {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingWrites {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn sixteen_pipelined_requests_are_answered_in_order_in_one_write() {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let writes = Arc::new(AtomicUsize::new(0));
    let io = CountingWrites {
        inner: server,
        writes: writes.clone(),
    };
    let conn = Http1::new().serve_connection(io, paf::service_fn(echo_path));
    let served = tokio::spawn(conn);

    let mut batch = String::new();
    for i in 0..16 {
        let method = if i % 3 == 0 { "POST" } else { "GET" };
        let body = if method == "POST" { "xyz" } else { "" };
        let length = if method == "POST" {
            "content-length: 3\r\n"
        } else {
            ""
        };
        batch.push_str(&format!(
            "{method} /r{i} HTTP/1.1\r\nhost: t\r\n{length}\r\n{body}"
        ));
    }
    batch.push_str("GET /last HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n");
    client.write_all(batch.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(PROMPT, client.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();

    let bodies: Vec<&str> = out
        .split("\r\n\r\n")
        .skip(1)
        .map(|rest| rest.split("HTTP/1.1").next().unwrap_or(""))
        .collect();
    let expected: Vec<String> = (0..16)
        .map(|i| {
            if i % 3 == 0 {
                format!("POST /r{i} 3")
            } else {
                format!("GET /r{i} 0")
            }
        })
        .chain(["GET /last 0".to_owned()])
        .collect();
    assert_eq!(bodies, expected);
    assert!(served.await.unwrap().is_ok());
    // All 17 responses left together, not one write each.
    assert!(
        writes.load(Ordering::Relaxed) <= 2,
        "{} writes",
        writes.load(Ordering::Relaxed)
    );
}

#[tokio::test]
async fn keep_alive_follows_the_version_and_connection_header() {
    let server = TestServer::hello();
    // HTTP/1.0 without keep-alive: one response, then close.
    let out = exchange(server.addr, b"GET / HTTP/1.0\r\n\r\n").await;
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("connection: close\r\n"), "{out}");

    // HTTP/1.0 with keep-alive: the connection stays for a second request.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0; 4096];
    let n = tcp.read(&mut buf).await.unwrap();
    let first = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(first.contains("connection: keep-alive\r\n"), "{first}");
    tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let rest = read_to_close(&mut tcp).await;
    assert_eq!(statuses(&rest), [200]);

    // HTTP/1.1 with `connection: close`: closed after the response.
    let out = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&out), [200]);
}

async fn statuses_service(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let code: u16 = req
        .uri()
        .path()
        .trim_start_matches('/')
        .parse()
        .unwrap_or(200);
    let mut res = Response::new(Body::full("must not be sent"));
    *res.status_mut() = StatusCode::from_u16(code).unwrap();
    Ok(res)
}

#[tokio::test]
async fn head_204_and_304_have_no_body() {
    let server = TestServer::start(Http1::new(), paf::service_fn(statuses_service));
    let out = exchange(
        server.addr,
        b"HEAD /200 HTTP/1.1\r\nhost: x\r\n\r\nGET /204 HTTP/1.1\r\nhost: x\r\n\r\nGET /304 HTTP/1.1\r\nhost: x\r\n\r\nGET /200 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&out), [200, 204, 304, 200]);
    // Only the last GET carries the body.
    assert_eq!(out.matches("must not be sent").count(), 1, "{out}");
    let head = out.split("\r\n\r\n").next().unwrap();
    assert!(
        head.contains("content-length: 16"),
        "a HEAD response tells the length: {head}"
    );
    let no_content = out
        .split("HTTP/1.1 204")
        .nth(1)
        .unwrap()
        .split("\r\n\r\n")
        .next()
        .unwrap();
    assert!(!no_content.contains("content-length"), "{no_content}");
}

#[tokio::test]
async fn responses_carry_a_date() {
    let server = TestServer::hello();
    let out = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    let date = out.lines().find_map(|l| l.strip_prefix("date: ")).unwrap();
    let when = httpdate::parse_http_date(date).unwrap();
    let age = std::time::SystemTime::now()
        .duration_since(when)
        .unwrap_or_default();
    assert!(age < Duration::from_secs(3));
}

#[tokio::test]
async fn continue_is_sent_only_when_the_handler_reads_the_body() {
    let reads = paf::service_fn(|req: Request<Body>| async move {
        if req.uri().path() == "/read" {
            let n = req.into_body().bytes().await.map(|b| b.len()).unwrap_or(0);
            Ok::<_, Infallible>(respond::text(n.to_string()))
        } else {
            Ok(respond::status(StatusCode::UNAUTHORIZED))
        }
    });
    let server = TestServer::start(Http1::new(), reads);

    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(
        b"POST /read HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0; 1024];
    let n = tokio::time::timeout(PROMPT, tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"HTTP/1.1 100 Continue\r\n\r\n");
    tcp.write_all(b"hello").await.unwrap();
    let n = tcp.read(&mut buf).await.unwrap();
    let res = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        res.starts_with("HTTP/1.1 200 OK\r\n") && res.ends_with("\r\n5"),
        "{res}"
    );

    // Not read: no 100, and the connection is not reused since the client
    // may or may not send the body now.
    let out = exchange(
        server.addr,
        b"POST /deny HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n",
    )
    .await;
    assert!(!out.contains("100 Continue"), "{out}");
    assert_eq!(statuses(&out), [401]);
    assert!(out.contains("connection: close\r\n"), "{out}");
}

async fn upgrade_echo(mut req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let on_upgrade = paf::upgrade::on(&mut req);
    tokio::spawn(async move {
        let mut flow = on_upgrade.await.unwrap();
        let mut buf = [0; 1024];
        while let Ok(n @ 1..) = flow.read(&mut buf).await {
            let reply = String::from_utf8_lossy(&buf[..n]).to_uppercase();
            if flow.write_all(reply.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let mut res = Response::new(Body::empty());
    if req.method() == Method::CONNECT {
        return Ok(res);
    }
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    res.headers_mut()
        .insert("upgrade", "shout".parse().unwrap());
    res.headers_mut()
        .insert("connection", "upgrade".parse().unwrap());
    Ok(res)
}

#[tokio::test]
async fn upgrade_and_connect_hand_over_the_connection_with_early_bytes() {
    let server = TestServer::start(Http1::new(), paf::service_fn(upgrade_echo));
    for request in [
        &b"GET /chat HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: shout\r\n\r\nearly"[..],
        &b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\nearly"[..],
    ] {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(request).await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0; 1024];
        while !seen.ends_with(b"EARLY") {
            let n = tokio::time::timeout(PROMPT, tcp.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&seen);
        assert!(
            text.starts_with("HTTP/1.1 101 ") || text.starts_with("HTTP/1.1 200 "),
            "{text}"
        );
        assert!(
            !text.contains("content-length") && !text.contains("transfer-encoding"),
            "{text}"
        );
        tcp.write_all(b"again").await.unwrap();
        let n = tcp.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"AGAIN");
    }
}

#[tokio::test]
async fn a_panicking_handler_gets_500_and_the_server_goes_on() {
    let service = paf::service_fn(|req: Request<Body>| async move {
        if req.uri().path() == "/boom" {
            panic!("boom");
        }
        if req.uri().path() == "/fail" {
            return Err(io::Error::other("no database"));
        }
        Ok(respond::text("fine"))
    });
    let server = TestServer::start(Http1::new(), service);
    let out = exchange(
        server.addr,
        b"GET /boom HTTP/1.1\r\nhost: x\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&out), [500], "closed after the 500: {out}");
    assert!(out.contains("connection: close\r\n"));
    let out = exchange(server.addr, b"GET /fail HTTP/1.1\r\nhost: x\r\n\r\n").await;
    assert_eq!(statuses(&out), [500]);
    let out = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&out), [200]);
}

/// Notes when it is dropped.
struct DropFlag(Arc<AtomicUsize>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A handler whose future holds a [`DropFlag`] until the future itself is
/// dropped, as a concurrency limit's future holds its permit; the body
/// says whether it was dropped by the time the body is sent.
#[derive(Clone)]
struct HoldsUntilDropped;

/// The future of [`HoldsUntilDropped`].
struct Holding {
    _held: DropFlag,
    response: Option<Response<Body>>,
}

impl Future for Holding {
    type Output = Result<Response<Body>, Infallible>;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(self.response.take().unwrap_or_default()))
    }
}

impl tower_service::Service<Request<Body>> for HoldsUntilDropped {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Holding;
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _req: Request<Body>) -> Holding {
        let dropped = Arc::new(AtomicUsize::new(0));
        let seen = dropped.clone();
        let body = futures_util::stream::once(async move {
            let text = format!("dropped {}", seen.load(Ordering::SeqCst));
            Ok::<_, Infallible>(bytes::Bytes::from(text))
        });
        Holding {
            _held: DropFlag(dropped),
            response: Some(Response::new(Body::from_stream(body))),
        }
    }
}

#[tokio::test]
async fn the_handlers_future_is_dropped_before_the_body_is_sent() {
    // What a handler's future holds (a permit, say) is released once it
    // has answered, not once its body has gone out.
    let server = TestServer::start(Http1::new(), HoldsUntilDropped);
    let out = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&out), [200]);
    assert!(out.contains("\r\ndropped 1\r\n"), "{out}");
}

/// A handler that is never ready: its `poll_ready` fails.
#[derive(Clone)]
struct NeverReady;

impl tower_service::Service<Request<Body>> for NeverReady {
    type Response = Response<Body>;
    type Error = io::Error;
    type Future = std::future::Ready<Result<Response<Body>, io::Error>>;
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Err(io::Error::other("overloaded")))
    }
    fn call(&mut self, _req: Request<Body>) -> Self::Future {
        std::future::ready(Ok(respond::text("called anyway")))
    }
}

#[tokio::test]
async fn a_handler_that_cannot_take_requests_gets_500_once_the_request_is_read() {
    let server = TestServer::start(Http1::new(), NeverReady);
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    // Nothing is answered before a request comes.
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut buf)).await;
    assert!(early.is_err(), "answered before any request: {early:?}");
    tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let out = read_to_close(&mut tcp).await;
    assert_eq!(statuses(&out), [500], "{out}");
    assert!(!out.contains("called anyway"), "{out}");
}

#[tokio::test]
async fn unread_bodies_are_drained_when_small_and_close_the_connection_when_large() {
    let ignore =
        paf::service_fn(|_req: Request<Body>| async { Ok::<_, Infallible>(respond::text("ok")) });
    let server = TestServer::start(Http1::new().max_drain(1000), ignore);
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    // A chunked body sent in two parts; the handler ignores it.
    tcp.write_all(
        b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0; 4096];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    tcp.write_all(b"0\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let rest = read_to_close(&mut tcp).await;
    assert_eq!(statuses(&rest), [200], "the connection carried on: {rest}");

    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n")
        .await
        .unwrap();
    tcp.write_all(&[b'a'; 5000]).await.unwrap();
    let out = read_to_close(&mut tcp).await;
    assert_eq!(statuses(&out), [200]);
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight_and_closes_idle_connections() {
    let (release, wait) = tokio::sync::watch::channel(false);
    let slow = paf::service_fn(move |_req: Request<Body>| {
        let mut wait = wait.clone();
        async move {
            let _ = wait.wait_for(|go| *go).await;
            Ok::<_, Infallible>(respond::text("done"))
        }
    });
    let server = TestServer::start(Http1::new(), slow);
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let mut busy = TcpStream::connect(server.addr).await.unwrap();
    busy.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(5)));
    // The idle connection closes without a response.
    assert_eq!(read_to_close(&mut idle).await, "");
    release.send(true).unwrap();
    let out = read_to_close(&mut busy).await;
    assert_eq!(statuses(&out), [200]);
    assert!(out.contains("connection: close\r\n"), "{out}");
    let report = shutdown.await.unwrap();
    assert_eq!(report.aborted, 0);
}

#[tokio::test]
async fn flows_from_a_mem_hub_are_served_with_their_connection_info() {
    let hub = Hub::new();
    let mut listener = hub.bind("web").unwrap();
    let http = Http1::new();
    let whoami = paf::service_fn(|req: Request<Body>| async move {
        let connected = req.extensions().get::<Connected>().cloned();
        let protocol = connected
            .map(|c| c.info().protocol().to_owned())
            .unwrap_or_default();
        Ok::<_, Infallible>(respond::text(protocol))
    });
    tokio::spawn(async move {
        while let Ok(flow) = listener.accept().await {
            tokio::spawn(http.serve_flow(flow, whoami));
        }
    });
    let mut client = hub.connect("web").await.unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nhost: web\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    tokio::time::timeout(PROMPT, client.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\nmem"),
        "{out}"
    );
}

#[tokio::test]
async fn responses_of_unknown_length_are_chunked_with_trailers() {
    let stream = paf::service_fn(|_req: Request<Body>| async {
        let (mut tx, body) = Body::channel();
        tokio::spawn(async move {
            tx.send_data("hello ").await?;
            tx.send_data("world").await?;
            let mut trailers = http::HeaderMap::new();
            trailers.insert("x-checksum", "abc".parse().unwrap());
            tx.send_trailers(trailers).await
        });
        Ok::<_, Infallible>(Response::new(body))
    });
    let server = TestServer::start(Http1::new(), stream);
    let out = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(out.contains("transfer-encoding: chunked\r\n"), "{out}");
    assert!(
        out.ends_with("\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\nx-checksum: abc\r\n\r\n"),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_body_echoed_back_unread_gets_no_continue_inside_the_response() {
    let echo = paf::service_fn(|req: Request<Body>| async move {
        Ok::<_, Infallible>(Response::new(req.into_body()))
    });
    let server = TestServer::start(Http1::new(), echo);
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0; 1024];
    let n = tokio::time::timeout(PROMPT, tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    tcp.write_all(b"hello").await.unwrap();
    let rest = read_to_close(&mut tcp).await;
    let all = head + &rest;
    assert!(!all.contains("100 Continue"), "{all}");
    assert!(all.ends_with("\r\n\r\nhello"), "{all}");
}

#[tokio::test]
async fn sixteen_requests_in_one_tcp_segment_are_answered_in_order() {
    let server = TestServer::start(Http1::new(), paf::service_fn(echo_path));
    let mut batch = String::new();
    for i in 0..16 {
        batch.push_str(&format!("GET /n{i} HTTP/1.1\r\nhost: t\r\n\r\n"));
    }
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp.write_all(batch.as_bytes()).await.unwrap();
    let mut out = String::new();
    let mut buf = vec![0; 64 * 1024];
    while out.matches("HTTP/1.1 200 OK").count() < 16 || !out.ends_with("GET /n15 0") {
        let n = tokio::time::timeout(PROMPT, tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {out}");
        out.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let order: Vec<&str> = out
        .split("\r\n\r\n")
        .skip(1)
        .map(|b| b.split("HTTP/1.1").next().unwrap_or(""))
        .collect();
    let expected: Vec<String> = (0..16).map(|i| format!("GET /n{i} 0")).collect();
    assert_eq!(order, expected);
}

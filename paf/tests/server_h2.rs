#![allow(clippy::unwrap_used)]
//! The HTTP/2 server seen from its peers: the `h2` crate's client for what
//! a well-behaved client does (concurrency, trailers, flow control, limits,
//! graceful shutdown), and frames written by hand for what it would never do
//! (reset floods, silence, unanswered PINGs, an h2c upgrade over a socket).

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::{Future, pending, poll_fn};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use conduit::listener::TcpListener;
use conduit::serve::Server;
use futures_util::future::join_all;
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use http::header::{CONTENT_LENGTH, DATE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use paf::Body;
use paf::server::{Auto, ConnectionHandler, Http2, HttpService, ResponseBody, Serve};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};

/// How long a test waits for anything that should happen before failing.
const PROMPT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than `PROMPT`.
async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match timeout(PROMPT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: nothing within {PROMPT:?}"),
    }
}

// ---------------------------------------------------------------------------
// Servers and clients

/// A server on a loopback port giving each connection to `handler`; it
/// stops when dropped.
fn listen(handler: impl ConnectionHandler) -> (SocketAddr, Server) {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = tcp.local_socket_addr();
    (addr, Server::builder().listener(tcp).serve(handler))
}

type Client = SendRequest<Bytes>;

/// An `h2` client on `io`; its connection runs in a task of its own.
async fn h2_client<T>(
    io: T,
    builder: &h2::client::Builder,
) -> (Client, JoinHandle<Result<(), h2::Error>>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = within("the client handshake", builder.handshake(io))
        .await
        .unwrap();
    (client, tokio::spawn(connection))
}

/// An `h2` client to `addr`.
async fn tcp_client(addr: SocketAddr) -> Client {
    let tcp = TcpStream::connect(addr).await.unwrap();
    h2_client(tcp, &h2::client::Builder::new()).await.0
}

/// An `h2` client, built with `builder`, joined by an in-memory pipe to a
/// connection served by `http` with `service`.
async fn pipe_client_with<S, B>(http: &Http2, service: S, builder: &h2::client::Builder) -> Client
where
    S: HttpService<B>,
    B: ResponseBody,
{
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(http.serve_connection(server_io, service));
    h2_client(client_io, builder).await.0
}

async fn pipe_client<S, B>(http: &Http2, service: S) -> Client
where
    S: HttpService<B>,
    B: ResponseBody,
{
    pipe_client_with(http, service, &h2::client::Builder::new()).await
}

fn request(method: Method, path: &str) -> Request<()> {
    Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"))
        .body(())
        .unwrap()
}

/// A whole response as the client received it.
struct Reply {
    head: http::response::Parts,
    body: Bytes,
    trailers: Option<HeaderMap>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head
            .headers
            .get(name)
            .map(|value| value.to_str().unwrap())
    }
}

/// Sends `req` with `body` (none when empty) and reads the whole response.
async fn fetch(client: &Client, req: Request<()>, body: &[u8]) -> Reply {
    within("a response", async {
        let mut client = client.clone().ready().await.unwrap();
        let (response, mut send) = client.send_request(req, body.is_empty()).unwrap();
        if !body.is_empty() {
            send.send_data(Bytes::copy_from_slice(body), true).unwrap();
        }
        let (head, mut recv) = response.await.unwrap().into_parts();
        let body = read_all(&mut recv).await.unwrap();
        let trailers = recv.trailers().await.unwrap();
        Reply {
            head,
            body,
            trailers,
        }
    })
    .await
}

/// Reads a body to its end, giving the window back as it goes.
async fn read_all(recv: &mut RecvStream) -> Result<Bytes, h2::Error> {
    let mut out = BytesMut::new();
    while let Some(chunk) = recv.data().await {
        let chunk = chunk?;
        recv.flow_control().release_capacity(chunk.len())?;
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// Waits until the stream may send at least `at_least` bytes; returns how
/// many it may.
async fn capacity(send: &mut SendStream<Bytes>, at_least: usize) -> usize {
    while send.capacity() < at_least {
        poll_fn(|cx| send.poll_capacity(cx))
            .await
            .expect("the stream is open")
            .unwrap();
    }
    send.capacity()
}

/// Recognisable bytes: `len` of them, not repeating every power of two.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Answers at once.
async fn fast(_req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Body::full("fast")))
}

/// Answers with what it learned of the request: method, URI, version and
/// body.
async fn describe(req: Request<Body>) -> Result<Response<Body>, paf::Error> {
    let (parts, body) = req.into_parts();
    let body = body.text().await?;
    let text = format!("{} {} {:?} {body}", parts.method, parts.uri, parts.version);
    Ok(Response::new(Body::full(text)))
}

// ---------------------------------------------------------------------------
// Raw frames

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

const NO_ERROR: u32 = 0x0;
const CANCEL: u32 = 0x8;
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// One frame: the 9-byte header (24-bit length, type, flags, 31-bit
/// stream id), then the payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).unwrap();
    assert!(length < 1 << 24);
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// What a client sends first: the preface and an empty SETTINGS frame.
fn client_hello() -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    out
}

/// HEADERS opening and ending stream `id`: `GET http://localhost/`.
fn get_root(id: u32) -> Vec<u8> {
    // HPACK: `:method: GET`, `:scheme: http` and `:path: /` from the static
    // table, then `:authority` as a literal not indexed (static name 1).
    let mut block = vec![0x82, 0x86, 0x84, 0x01, 9];
    block.extend_from_slice(b"localhost");
    frame(HEADERS, END_STREAM | END_HEADERS, id, &block)
}

#[derive(Debug)]
struct RawFrame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

impl RawFrame {
    /// A GOAWAY's or RST_STREAM's error code.
    fn error_code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }

    /// A GOAWAY's debug data.
    fn debug_data(&self) -> &[u8] {
        &self.payload[8..]
    }
}

/// The next frame, or `None` once the connection is closed (or reset).
async fn read_frame(rd: &mut (impl AsyncRead + Unpin)) -> Option<RawFrame> {
    let mut head = [0; 9];
    rd.read_exact(&mut head).await.ok()?;
    let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0; length];
    rd.read_exact(&mut payload).await.ok()?;
    Some(RawFrame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes(head[5..9].try_into().unwrap()) & 0x7fff_ffff,
        payload,
    })
}

/// Reads frames until stream `id` ends; returns its first header block and
/// its body. Fails on a reset of the stream or of the connection.
async fn read_stream(rd: &mut (impl AsyncRead + Unpin), id: u32) -> (Vec<u8>, Vec<u8>) {
    let mut block = None;
    let mut body = Vec::new();
    loop {
        let frame = read_frame(rd)
            .await
            .unwrap_or_else(|| panic!("the connection closed before stream {id} ended"));
        assert_ne!(frame.kind, GOAWAY, "went away: {frame:?}");
        if frame.stream != id {
            continue;
        }
        match frame.kind {
            HEADERS => {
                assert_ne!(frame.flags & END_HEADERS, 0, "no CONTINUATION expected");
                block.get_or_insert(frame.payload);
            }
            DATA => body.extend_from_slice(&frame.payload),
            RST_STREAM => panic!("stream {id} reset: {:#x}", frame.error_code()),
            _ => {}
        }
        if frame.flags & END_STREAM != 0 && matches!(frame.kind, HEADERS | DATA) {
            let block = block.expect("HEADERS before the end of the stream");
            return (block, body);
        }
    }
}

// ---------------------------------------------------------------------------
// Concurrency, trailers, flow control

/// 100 requests are in their handlers at once on one connection, and each gets its own answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_streams_are_served_concurrently_on_one_connection() {
    const STREAMS: usize = 100;
    let barrier = Arc::new(Barrier::new(STREAMS));
    let service = paf::service_fn(move |req: Request<Body>| {
        let barrier = barrier.clone();
        async move {
            // Passes only once every stream is waiting here at once.
            let met = timeout(PROMPT, barrier.wait()).await.is_ok();
            let mut res = Response::new(Body::full(format!("answer to {}", req.uri().path())));
            if !met {
                *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            }
            Ok::<_, Infallible>(res)
        }
    });
    let client = pipe_client(&Http2::new(), service).await;

    let requests = (0..STREAMS).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            (
                i,
                fetch(&client, request(Method::GET, &format!("/{i}")), b"").await,
            )
        })
    });
    let mut answered = HashSet::new();
    for joined in within("a hundred answers", join_all(requests)).await {
        let (i, reply) = joined.unwrap();
        assert_eq!(reply.head.status, StatusCode::OK, "stream for /{i}");
        assert_eq!(reply.body, format!("answer to /{i}"));
        answered.insert(i);
    }
    assert_eq!(answered.len(), STREAMS);
}

/// Request trailers reach the handler after the data; streamed response trailers reach the client.
#[tokio::test]
async fn trailers_are_received_and_sent() {
    let service = paf::service_fn(|req: Request<Body>| async move {
        let mut body = req.into_body();
        let mut data = BytesMut::new();
        let mut trailers = None;
        while let Some(frame) = body.frame().await {
            match frame?.into_data() {
                Ok(chunk) => {
                    assert!(trailers.is_none(), "data after the trailers");
                    data.extend_from_slice(&chunk);
                }
                Err(frame) => trailers = Some(frame.into_trailers().unwrap()),
            }
        }
        let checksum = trailers
            .as_ref()
            .and_then(|t| t.get("x-checksum"))
            .cloned()
            .unwrap_or(HeaderValue::from_static("missing"));
        let (mut tx, out) = Body::channel();
        tokio::spawn(async move {
            tx.send_data("you sent: ").await?;
            tx.send_data(data.freeze()).await?;
            let mut trailers = HeaderMap::new();
            trailers.insert("x-request-checksum", checksum);
            trailers.insert("x-response-status", HeaderValue::from_static("complete"));
            tx.send_trailers(trailers).await
        });
        Ok::<_, paf::Error>(Response::new(out))
    });
    let client = pipe_client(&Http2::new(), service).await;

    let mut sender = client.clone().ready().await.unwrap();
    let (response, mut send) = sender
        .send_request(request(Method::POST, "/upload"), false)
        .unwrap();
    send.send_data(Bytes::from_static(b"hello "), false)
        .unwrap();
    send.send_data(Bytes::from_static(b"world"), false).unwrap();
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", HeaderValue::from_static("c0ffee"));
    send.send_trailers(trailers).unwrap();

    let (head, mut recv) = within("the response", response).await.unwrap().into_parts();
    assert_eq!(head.status, StatusCode::OK);
    assert!(
        head.headers.get(CONTENT_LENGTH).is_none(),
        "a streamed body has no length"
    );
    let body = within("the body", read_all(&mut recv)).await.unwrap();
    assert_eq!(body, "you sent: hello world");
    let trailers = within("the trailers", recv.trailers())
        .await
        .unwrap()
        .expect("response trailers");
    assert_eq!(trailers["x-request-checksum"], "c0ffee");
    assert_eq!(trailers["x-response-status"], "complete");
}

/// An unread request body holds the client to the 64 KiB stream window until the handler reads.
#[tokio::test]
async fn an_unread_request_body_holds_the_client_to_the_stream_window() {
    const WINDOW: u32 = 64 * 1024;
    const TOTAL: usize = 512 * 1024;
    let go = Arc::new(Notify::new());
    let service = {
        let go = go.clone();
        paf::service_fn(move |req: Request<Body>| {
            let go = go.clone();
            async move {
                if req.uri().path() == "/upload" {
                    go.notified().await;
                    let body = req.into_body().bytes().await?;
                    let intact = body == pattern(TOTAL);
                    return Ok(Response::new(Body::full(format!(
                        "{} bytes, intact: {intact}",
                        body.len()
                    ))));
                }
                Ok::<_, paf::Error>(Response::new(Body::full("warm")))
            }
        })
    };
    let http = Http2::new().initial_stream_window_size(WINDOW);
    let client = pipe_client(&http, service).await;
    // One exchange first: the server's SETTINGS have then been applied.
    assert_eq!(
        fetch(&client, request(Method::GET, "/"), b"").await.body,
        "warm"
    );

    let mut sender = client.clone().ready().await.unwrap();
    let (response, mut upload) = sender
        .send_request(request(Method::POST, "/upload"), false)
        .unwrap();
    upload.reserve_capacity(TOTAL);
    let granted = within("the stream window", capacity(&mut upload, 1)).await;
    // Capacity may come in steps; give it time to grow past the window.
    let more = timeout(
        Duration::from_millis(300),
        capacity(&mut upload, WINDOW as usize + 1),
    )
    .await;
    assert!(more.is_err(), "capacity beyond the window: {:?}", more.ok());
    assert!(granted <= WINDOW as usize);
    assert_eq!(upload.capacity(), WINDOW as usize);

    let data = pattern(TOTAL);
    upload
        .send_data(Bytes::copy_from_slice(&data[..WINDOW as usize]), false)
        .unwrap();
    // The handler does not read: no WINDOW_UPDATE comes back.
    let more = timeout(Duration::from_millis(300), capacity(&mut upload, 1)).await;
    assert!(
        more.is_err(),
        "capacity while the handler does not read: {:?}",
        more.ok()
    );

    go.notify_one();
    let mut sent = WINDOW as usize;
    within("the rest of the upload", async {
        while sent < TOTAL {
            let n = capacity(&mut upload, 1).await.min(TOTAL - sent);
            let chunk = Bytes::copy_from_slice(&data[sent..sent + n]);
            sent += n;
            upload.send_data(chunk, sent == TOTAL).unwrap();
        }
    })
    .await;
    let (head, mut recv) = within("the response", response).await.unwrap().into_parts();
    assert_eq!(head.status, StatusCode::OK);
    let body = within("the body", read_all(&mut recv)).await.unwrap();
    assert_eq!(body, format!("{TOTAL} bytes, intact: true"));
}

/// An unread response body stops the handler's `Sender` after about the window; then all arrives.
#[tokio::test]
async fn an_unread_response_body_holds_the_sender_back() {
    const WINDOW: u32 = 64 * 1024;
    const CHUNK: usize = 8 * 1024;
    const SEND_BUFFER: usize = 16 * 1024;
    const TOTAL: usize = 1024 * 1024;
    let (sent_tx, mut sent_rx) = watch::channel(0_usize);
    let service = paf::service_fn(move |_req: Request<Body>| {
        let sent_tx = sent_tx.clone();
        async move {
            let (mut tx, body) = Body::channel();
            tokio::spawn(async move {
                let data = Bytes::from(pattern(TOTAL));
                for start in (0..TOTAL).step_by(CHUNK) {
                    tx.send_data(data.slice(start..start + CHUNK)).await?;
                    sent_tx.send_modify(|sent| *sent += CHUNK);
                }
                Ok::<_, paf::Error>(())
            });
            Ok::<_, Infallible>(Response::new(body))
        }
    });
    let http = Http2::new().max_send_buffer_size(SEND_BUFFER);
    let mut builder = h2::client::Builder::new();
    builder
        .initial_window_size(WINDOW)
        .initial_connection_window_size(16 * 1024 * 1024);
    let client = pipe_client_with(&http, service, &builder).await;

    let mut sender = client.clone().ready().await.unwrap();
    let (response, _) = sender
        .send_request(request(Method::GET, "/download"), true)
        .unwrap();
    let (head, mut recv) = within("the response", response).await.unwrap().into_parts();
    assert_eq!(head.status, StatusCode::OK);
    within(
        "the first window's worth",
        sent_rx.wait_for(|sent| *sent >= WINDOW as usize),
    )
    .await
    .unwrap();
    // Time for the handler to run ahead, were it not held back.
    sleep(Duration::from_millis(300)).await;
    let ahead = *sent_rx.borrow();
    let bound = WINDOW as usize + CHUNK + SEND_BUFFER;
    assert!(
        ahead < bound,
        "the handler sent {ahead} bytes to a client that read none (bound {bound})"
    );

    let body = within("the whole body", read_all(&mut recv)).await.unwrap();
    assert_eq!(body.len(), TOTAL);
    assert!(body == pattern(TOTAL), "the body arrived altered");
    assert_eq!(*sent_rx.borrow(), TOTAL);
}

// ---------------------------------------------------------------------------
// Reset floods

/// What a flooding connection saw.
struct Flooded {
    goaway: Option<RawFrame>,
    /// The server closed the connection after the GOAWAY.
    closed: bool,
    /// HEADERS + RST_STREAM pairs written.
    pairs: usize,
}

/// Opens and at once cancels streams on a new connection, in batches, as
/// fast as the server takes them (up to about 20,000 a second), until the
/// server goes away.
async fn rapid_reset(addr: SocketAddr) -> Flooded {
    const BATCH: u32 = 100;
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (rd, mut wr) = tcp.into_split();
    let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
    let writer = tokio::spawn(async move {
        if wr.write_all(&client_hello()).await.is_err() {
            return 0;
        }
        let mut id = 1;
        let mut pairs = 0;
        loop {
            let mut batch = Vec::new();
            for _ in 0..BATCH {
                batch.extend(get_root(id));
                batch.extend(frame(RST_STREAM, 0, id, &CANCEL.to_be_bytes()));
                id += 2;
            }
            tokio::select! {
                _ = &mut stop_rx => break,
                written = wr.write_all(&batch) => if written.is_err() { break },
            }
            pairs += BATCH as usize;
            sleep(Duration::from_millis(5)).await;
        }
        pairs
    });

    // Reads all along, so the server's writes never block.
    let mut rd = BufReader::new(rd);
    let mut stop = Some(stop_tx);
    let mut goaway = None;
    let closed = timeout(PROMPT, async {
        while let Some(frame) = read_frame(&mut rd).await {
            if frame.kind == GOAWAY && goaway.is_none() {
                goaway = Some(frame);
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
            }
        }
    })
    .await
    .is_ok();
    drop(stop);
    let pairs = writer.await.unwrap();
    Flooded {
        goaway,
        closed,
        pairs,
    }
}

/// Runs `flooders` reset floods on `addr` while a client on another
/// connection sends requests one after another, each of which must be
/// answered within a second; returns the floods and how many requests
/// were answered.
async fn flood_while_serving(addr: SocketAddr, flooders: usize) -> (Vec<Flooded>, usize) {
    let client = tcp_client(addr).await;
    let (done_tx, mut done_rx) = oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        let mut served = 0;
        loop {
            let reply = timeout(
                Duration::from_secs(1),
                fetch(&client, request(Method::GET, "/fast"), b""),
            )
            .await
            .unwrap_or_else(|_| panic!("request {served} during the flood took over a second"));
            assert_eq!(reply.head.status, StatusCode::OK);
            assert_eq!(reply.body, "fast");
            served += 1;
            if !matches!(done_rx.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
                return served;
            }
        }
    });
    let floods = join_all((0..flooders).map(|_| rapid_reset(addr))).await;
    let _ = done_tx.send(());
    (floods, served.await.unwrap())
}

/// Resets before accept: h2's limit sends GOAWAY "too_many_resets" and closes; others stay served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_flood_is_cut_off_at_the_pending_accept_limit() {
    // paf's own limit out of the way: this is h2's.
    let http = Http2::new()
        .max_pending_accept_reset_streams(20)
        .reset_stream_limit(u64::MAX / 2, Duration::from_secs(60));
    let (addr, _server) = listen(http.handler(paf::service_fn(fast)));
    let (floods, served) = flood_while_serving(addr, 3).await;
    for flood in floods {
        let goaway = flood.goaway.expect("a GOAWAY for the flooding connection");
        assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM, "{goaway:?}");
        assert_eq!(goaway.debug_data(), b"too_many_resets");
        assert!(flood.closed, "the flooding connection is still open");
        assert!(
            flood.pairs < 100_000,
            "{} pairs before the close",
            flood.pairs
        );
    }
    assert!(served >= 1);
}

/// Resets of started slow handlers: paf's limit sends GOAWAY and closes; others stay served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_flood_is_cut_off_at_the_reset_stream_limit() {
    // h2's pending-accept limit out of the way: this is paf's.
    let http = Http2::new()
        .max_pending_accept_reset_streams(1_000_000)
        .reset_stream_limit(100, Duration::from_secs(60));
    let service = paf::service_fn(|req: Request<Body>| async move {
        if req.uri().path() == "/" {
            // Slow work that only the client's reset ends.
            pending::<()>().await;
        }
        Ok::<_, Infallible>(Response::new(Body::full("fast")))
    });
    let (addr, _server) = listen(http.handler(service));
    let (floods, served) = flood_while_serving(addr, 3).await;
    for flood in floods {
        let goaway = flood.goaway.expect("a GOAWAY for the flooding connection");
        assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM, "{goaway:?}");
        assert_ne!(
            goaway.debug_data(),
            b"too_many_resets",
            "h2's limit, not paf's"
        );
        assert!(flood.closed, "the flooding connection is still open");
        assert!(flood.pairs >= 100, "closed after {} pairs", flood.pairs);
    }
    assert!(served >= 1);
}

// ---------------------------------------------------------------------------
// Graceful shutdown

/// `graceful_shutdown`: GOAWAY, no new streams, the stream in progress completes, then a close.
#[tokio::test]
async fn graceful_shutdown_finishes_the_stream_in_progress() {
    const LENGTH: usize = 256 * 1024;
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let service = {
        let (started, release) = (started.clone(), release.clone());
        paf::service_fn(move |_req: Request<Body>| {
            let (started, release) = (started.clone(), release.clone());
            async move {
                started.notify_one();
                release.notified().await;
                let (mut tx, body) = Body::channel();
                tokio::spawn(async move {
                    for _ in 0..LENGTH / 1024 {
                        tx.send_data(vec![b'x'; 1024]).await?;
                    }
                    Ok::<_, paf::Error>(())
                });
                Ok::<_, Infallible>(Response::new(body))
            }
        })
    };
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let mut connection = Http2::new().serve_connection(server_io, service);
    let (shutdown_tx, mut shutdown_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        tokio::select! {
            biased;
            _ = &mut shutdown_rx => connection.graceful_shutdown(),
            result = &mut connection => return result,
        }
        connection.await
    });
    let (client, mut client_conn) = within("the handshake", h2::client::handshake(client_io))
        .await
        .unwrap();
    let mut ping = client_conn.ping_pong().unwrap();
    let client_conn = tokio::spawn(client_conn);

    let mut sender = client.clone().ready().await.unwrap();
    let (response, _) = sender
        .send_request(request(Method::GET, "/slow"), true)
        .unwrap();
    within("the handler", started.notified()).await;

    shutdown_tx.send(()).unwrap();
    // The server answers this PING after its GOAWAY: once the PONG is
    // here, so is the GOAWAY.
    within("a PONG", ping.ping(h2::Ping::opaque()))
        .await
        .unwrap();
    let refused = match client.clone().ready().await {
        Err(err) => err,
        Ok(mut sender) => sender
            .send_request(request(Method::GET, "/late"), true)
            .expect_err("no new stream after GOAWAY"),
    };
    assert!(refused.is_go_away(), "{refused:?}");
    assert_eq!(refused.reason(), Some(h2::Reason::NO_ERROR));

    release.notify_one();
    let (head, mut recv) = within("the response", response).await.unwrap().into_parts();
    assert_eq!(head.status, StatusCode::OK);
    let body = within("the body", read_all(&mut recv)).await.unwrap();
    assert_eq!(body.len(), LENGTH);
    assert!(body.iter().all(|&b| b == b'x'));

    let served = within("the server connection's end", server).await.unwrap();
    assert!(served.is_ok(), "{served:?}");
    let closed = within("the client connection's end", client_conn)
        .await
        .unwrap();
    assert_closed_cleanly(closed);
}

/// `graceful_shutdown` with no stream in progress closes even a peer that never answers the PING.
#[tokio::test]
async fn graceful_shutdown_closes_a_peer_that_never_answers() {
    let http = Http2::new()
        .idle_timeout(None)
        .keep_alive_timeout(Duration::from_millis(500));
    let (mut client_io, server_io) = tokio::io::duplex(1 << 20);
    let mut connection = http.serve_connection(server_io, paf::service_fn(fast));
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        tokio::select! {
            biased;
            _ = shutdown_rx => connection.graceful_shutdown(),
            result = &mut connection => return result,
        }
        connection.await
    });
    client_io.write_all(&client_hello()).await.unwrap();
    let settings = within("the server's SETTINGS", read_frame(&mut client_io))
        .await
        .unwrap();
    assert_eq!(settings.kind, SETTINGS);

    shutdown_tx.send(()).unwrap();
    // Reads everything, answers nothing.
    let reader = tokio::spawn(async move {
        let mut goaway = None;
        while let Some(frame) = read_frame(&mut client_io).await {
            if frame.kind == GOAWAY {
                goaway = Some(frame);
            }
        }
        goaway
    });
    let ended = timeout(PROMPT, server).await;
    assert!(
        ended.is_ok(),
        "the connection is still open {PROMPT:?} after graceful_shutdown, \
         waiting for the answer to its PING"
    );
    let goaway = within("the end of the client's reads", reader)
        .await
        .unwrap()
        .expect("a GOAWAY before the close");
    assert_eq!(goaway.error_code(), NO_ERROR);
}

// ---------------------------------------------------------------------------
// Limits and errors

/// `max_body_size`: 413 for a declared length (no handler call) and for a body growing past it.
#[tokio::test]
async fn bodies_over_max_body_size_are_refused_with_413() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<bool>();
    let service = {
        let calls = calls.clone();
        paf::service_fn(move |req: Request<Body>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let seen_tx = seen_tx.clone();
            async move {
                let read = req.into_body().bytes().await;
                let too_large = read
                    .as_ref()
                    .err()
                    .is_some_and(paf::Error::is_body_too_large);
                seen_tx.send(too_large).unwrap();
                Ok::<_, paf::Error>(Response::new(Body::full(read?)))
            }
        })
    };
    let client = pipe_client(&Http2::new().max_body_size(16), service).await;

    // Declared too large: refused before the body is even sent.
    let mut sender = client.clone().ready().await.unwrap();
    let req = Request::post("http://localhost/declared")
        .header(CONTENT_LENGTH, "100")
        .body(())
        .unwrap();
    let (response, _upload) = sender.send_request(req, false).unwrap();
    let res = within("the 413", response).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler was called");

    // Within the limit: served.
    let reply = fetch(
        &client,
        request(Method::POST, "/small"),
        b"sixteen bytes ok",
    )
    .await;
    assert_eq!(reply.head.status, StatusCode::OK);
    assert_eq!(reply.body, "sixteen bytes ok");
    assert_eq!(seen_rx.recv().await, Some(false));

    // Streamed, no length declared, growing past the limit.
    let mut sender = client.clone().ready().await.unwrap();
    let (response, mut upload) = sender
        .send_request(request(Method::POST, "/streamed"), false)
        .unwrap();
    upload
        .send_data(Bytes::from_static(b"0123456789"), false)
        .unwrap();
    upload
        .send_data(Bytes::from_static(b"0123456789"), true)
        .unwrap();
    let res = within("the 413", response).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        within("the handler's read", seen_rx.recv()).await,
        Some(true),
        "the handler's read did not fail with is_body_too_large"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A panicking or failing handler answers 500 and the connection goes on serving other streams.
#[tokio::test]
async fn failing_handlers_answer_500_and_the_connection_goes_on() {
    let service = paf::service_fn(|req: Request<Body>| async move {
        match req.uri().path() {
            "/panic" => panic!("a handler bug"),
            "/panic-later" => {
                tokio::task::yield_now().await;
                panic!("a handler bug after an await")
            }
            "/error" => Err(std::io::Error::other("the handler failed")),
            _ => Ok(Response::new(Body::full("fine"))),
        }
    });
    let client = pipe_client(&Http2::new(), service).await;
    for path in ["/panic", "/panic-later", "/error"] {
        let reply = fetch(&client, request(Method::GET, path), b"").await;
        assert_eq!(
            reply.head.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{path}"
        );
        assert!(reply.body.is_empty());
        let reply = fetch(&client, request(Method::GET, "/ok"), b"").await;
        assert_eq!(reply.head.status, StatusCode::OK, "after {path}");
        assert_eq!(reply.body, "fine");
    }
}

// ---------------------------------------------------------------------------
// Timeouts

/// `idle_timeout`: an idle connection gets GOAWAY and is closed; a long stream is answered first.
#[tokio::test]
async fn idle_connections_are_sent_away_and_closed() {
    const IDLE: Duration = Duration::from_millis(200);
    let service = paf::service_fn(|req: Request<Body>| async move {
        if req.uri().path() == "/slow" {
            sleep(IDLE * 2).await;
        }
        Ok::<_, Infallible>(Response::new(Body::full("done")))
    });
    let (addr, _server) = listen(Http2::new().idle_timeout(Some(IDLE)).handler(service));

    let start = Instant::now();
    let mut tcp = BufReader::new(TcpStream::connect(addr).await.unwrap());
    tcp.get_mut().write_all(&client_hello()).await.unwrap();
    let mut goaway = None;
    within("the close of an idle connection", async {
        while let Some(frame) = read_frame(&mut tcp).await {
            match frame.kind {
                // Answered, as any client does: the graceful close waits
                // for the answer to its PING.
                PING if frame.flags & ACK == 0 => {
                    let pong = crate::frame(PING, ACK, 0, &frame.payload);
                    let _ = tcp.get_mut().write_all(&pong).await;
                }
                SETTINGS if frame.flags & ACK == 0 => {
                    let ack = crate::frame(SETTINGS, ACK, 0, &[]);
                    let _ = tcp.get_mut().write_all(&ack).await;
                }
                GOAWAY => goaway = Some(frame),
                _ => {}
            }
        }
    })
    .await;
    assert!(
        start.elapsed() >= IDLE,
        "closed after {:?}",
        start.elapsed()
    );
    let goaway = goaway.expect("a GOAWAY before the close");
    assert_eq!(goaway.error_code(), NO_ERROR);

    // A stream in progress keeps the connection from being idle.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2_client(tcp, &h2::client::Builder::new()).await;
    let reply = fetch(&client, request(Method::GET, "/slow"), b"").await;
    assert_eq!(reply.head.status, StatusCode::OK);
    assert_eq!(reply.body, "done");
    let closed = within("the close after the stream", connection)
        .await
        .unwrap();
    assert_closed_cleanly(closed);
}

/// `idle_timeout` also closes an idle peer that never answers the PING after the GOAWAY.
#[tokio::test]
async fn idle_peers_that_never_answer_are_closed_too() {
    const IDLE: Duration = Duration::from_millis(200);
    let http = Http2::new()
        .idle_timeout(Some(IDLE))
        .keep_alive_timeout(Duration::from_millis(500));
    let (addr, _server) = listen(http.handler(paf::service_fn(fast)));
    let start = Instant::now();
    let mut tcp = BufReader::new(TcpStream::connect(addr).await.unwrap());
    tcp.get_mut().write_all(&client_hello()).await.unwrap();
    let mut goaway = None;
    let closed = timeout(PROMPT, async {
        while let Some(frame) = read_frame(&mut tcp).await {
            if frame.kind == GOAWAY {
                goaway = Some(frame);
            }
        }
    })
    .await;
    let goaway = goaway.expect("a GOAWAY once idle");
    assert_eq!(goaway.error_code(), NO_ERROR);
    assert!(
        closed.is_ok(),
        "an idle peer that answers nothing is still connected {PROMPT:?} after the GOAWAY"
    );
    assert!(start.elapsed() >= IDLE);
}

/// Keep-alive: a peer that never answers PINGs is closed; one that answers stays connected.
#[tokio::test]
async fn peers_that_do_not_answer_pings_are_closed() {
    const INTERVAL: Duration = Duration::from_millis(100);
    const TIMEOUT: Duration = Duration::from_millis(200);
    let http = Http2::new()
        .keep_alive_interval(Some(INTERVAL))
        .keep_alive_timeout(TIMEOUT);
    let (addr, _server) = listen(http.handler(paf::service_fn(fast)));

    // Reads, but never writes again after its preface: no PING ACK.
    let start = Instant::now();
    let mut tcp = BufReader::new(TcpStream::connect(addr).await.unwrap());
    tcp.get_mut().write_all(&client_hello()).await.unwrap();
    let mut pings = 0;
    within("the close of a silent peer", async {
        while let Some(frame) = read_frame(&mut tcp).await {
            if frame.kind == PING && frame.flags & ACK == 0 {
                pings += 1;
            }
        }
    })
    .await;
    assert!(pings >= 1, "closed without a PING");
    assert!(
        start.elapsed() >= INTERVAL + TIMEOUT,
        "closed after {:?}",
        start.elapsed()
    );

    // Answers every PING: still open after several rounds, well past the
    // time the silent peer was closed.
    let start = Instant::now();
    let mut tcp = BufReader::new(TcpStream::connect(addr).await.unwrap());
    tcp.get_mut().write_all(&client_hello()).await.unwrap();
    let mut answered = 0;
    within("four PINGs", async {
        while answered < 4 {
            let frame = read_frame(&mut tcp)
                .await
                .expect("a peer answering PINGs was closed");
            assert_ne!(frame.kind, GOAWAY, "{frame:?}");
            if frame.kind == PING && frame.flags & ACK == 0 {
                let pong = crate::frame(PING, ACK, 0, &frame.payload);
                tcp.get_mut().write_all(&pong).await.unwrap();
                answered += 1;
            }
        }
    })
    .await;
    assert!(start.elapsed() >= INTERVAL + TIMEOUT);
}

/// `handshake_timeout`: a client that connects and sends nothing is closed after the timeout.
#[tokio::test]
async fn silent_clients_are_closed_at_the_handshake_timeout() {
    const HANDSHAKE: Duration = Duration::from_millis(200);
    let http = Http2::new().handshake_timeout(Some(HANDSHAKE));
    let (addr, _server) = listen(http.handler(paf::service_fn(fast)));
    let start = Instant::now();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut received = Vec::new();
    within("the close of a silent client", async {
        let mut buf = [0; 1024];
        while let Ok(n @ 1..) = tcp.read(&mut buf).await {
            received.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(
        start.elapsed() >= HANDSHAKE,
        "closed after {:?}",
        start.elapsed()
    );
    // At most the server's SETTINGS.
    if !received.is_empty() {
        assert_eq!(received[3], SETTINGS, "{received:?}");
    }
}

// ---------------------------------------------------------------------------
// Auto over clear text

/// Reads an HTTP/1.1 response head, up to its empty line.
async fn read_head(rd: &mut (impl AsyncBufReadExt + Unpin)) -> String {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = rd.read_line(&mut line).await.unwrap();
        assert!(n > 0, "closed in the middle of a head: {head:?}");
        if line == "\r\n" {
            return head;
        }
        head.push_str(&line);
    }
}

/// An HTTP/1.1 response's `content-length`.
fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0)
}

/// `Auto` in clear text: prior knowledge and bodiless h2c upgrades get HTTP/2; a body, HTTP/1.1.
#[tokio::test]
async fn auto_serves_prior_knowledge_and_h2c_upgrades() {
    let (addr, _server) = listen(Auto::new().handler(paf::service_fn(describe)));

    let client = tcp_client(addr).await;
    let reply = fetch(&client, request(Method::GET, "/prior"), b"").await;
    assert_eq!(reply.body, "GET http://localhost/prior HTTP/2.0 ");

    let mut tcp = BufReader::new(TcpStream::connect(addr).await.unwrap());
    tcp.get_mut()
        .write_all(
            b"GET /up HTTP/1.1\r\nHost: example.test\r\n\
              Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
              HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
        )
        .await
        .unwrap();
    let head = within("the 101", read_head(&mut tcp)).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    tcp.get_mut().write_all(&client_hello()).await.unwrap();
    let (block, body) = within("the answer on stream 1", read_stream(&mut tcp, 1)).await;
    // HPACK: `:status: 200` is static entry 8.
    assert_eq!(block[0], 0x88, "{block:?}");
    assert_eq!(
        String::from_utf8_lossy(&body),
        "GET http://example.test/up HTTP/2.0 "
    );
    // The connection now speaks HTTP/2.
    tcp.get_mut().write_all(&get_root(3)).await.unwrap();
    let (block, body) = within("the answer on stream 3", read_stream(&mut tcp, 3)).await;
    assert_eq!(block[0], 0x88, "{block:?}");
    assert_eq!(
        String::from_utf8_lossy(&body),
        "GET http://localhost/ HTTP/2.0 "
    );

    let mut tcp = BufReader::new(TcpStream::connect(addr).await.unwrap());
    tcp.get_mut()
        .write_all(
            b"POST /x HTTP/1.1\r\nHost: example.test\r\n\
              Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
              HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello",
        )
        .await
        .unwrap();
    let head = within("the answer on HTTP/1.1", read_head(&mut tcp)).await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let mut body = vec![0; content_length(&head)];
    within("the body", tcp.read_exact(&mut body)).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&body), "POST /x HTTP/1.1 hello");
}

/// `Auto` without prior knowledge answers a preface as HTTP/1.1 (an error), never with SETTINGS.
#[tokio::test]
async fn auto_without_prior_knowledge_does_not_speak_http2() {
    let auto = Auto::new().prior_knowledge(false);
    let (addr, _server) = listen(auto.handler(paf::service_fn(describe)));
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&client_hello()).await.unwrap();
    let mut received = Vec::new();
    within("the answer to a preface", async {
        let mut buf = [0; 1024];
        while let Ok(n @ 1..) = tcp.read(&mut buf).await {
            received.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 4") || text.starts_with("HTTP/1.1 505 "),
        "{text:?}"
    );
}

// ---------------------------------------------------------------------------
// Requests and responses

/// Heads arrive whole; responses get length and date; HEAD, 204 bodiless; HTTP/1.1 fields dropped.
#[tokio::test]
async fn requests_and_responses_carry_what_they_should() {
    let service = paf::service_fn(|req: Request<Body>| async move {
        let (parts, body) = req.into_parts();
        let body = body.bytes().await?;
        let mut res = match parts.uri.path() {
            "/no-content" => {
                let mut res = Response::new(Body::full("never sent"));
                *res.status_mut() = StatusCode::NO_CONTENT;
                res
            }
            "/http1-fields" => Response::builder()
                .header("connection", "close")
                .header("transfer-encoding", "chunked")
                .header("keep-alive", "timeout=5")
                .header("upgrade", "websocket")
                .header("x-kept", "yes")
                .body(Body::full("still fine"))
                .unwrap(),
            _ => Response::new(Body::full("hello")),
        };
        let headers = res.headers_mut();
        headers.insert("x-method", parts.method.as_str().parse().unwrap());
        headers.insert("x-target", parts.uri.to_string().parse().unwrap());
        let version = format!("{:?}", parts.version);
        headers.insert("x-version", version.parse().unwrap());
        if let Some(value) = parts.headers.get("x-test") {
            headers.insert("x-test", value.clone());
        }
        headers.insert("x-body-length", body.len().into());
        Ok::<_, paf::Error>(res)
    });
    let (addr, _server) = listen(Http2::new().handler(service));
    let client = tcp_client(addr).await;

    let mut req = request(Method::GET, "/path?query=1");
    req.headers_mut()
        .insert("x-test", HeaderValue::from_static("abc"));
    let reply = fetch(&client, req, b"").await;
    assert_eq!(reply.head.status, StatusCode::OK);
    assert_eq!(reply.head.version, Version::HTTP_2);
    assert_eq!(reply.header("x-version"), Some("HTTP/2.0"));
    assert_eq!(reply.header("x-method"), Some("GET"));
    assert_eq!(
        reply.header("x-target"),
        Some("http://localhost/path?query=1")
    );
    assert_eq!(reply.header("x-test"), Some("abc"));
    assert_eq!(reply.header("content-length"), Some("5"));
    let date = reply.header("date").expect("a date");
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    assert_eq!(reply.body, "hello");
    assert!(reply.trailers.is_none());

    let reply = fetch(&client, request(Method::POST, "/upload"), b"twelve bytes").await;
    assert_eq!(reply.header("x-method"), Some("POST"));
    assert_eq!(reply.header("x-body-length"), Some("12"));

    let reply = fetch(&client, request(Method::HEAD, "/"), b"").await;
    assert_eq!(reply.head.status, StatusCode::OK);
    assert_eq!(reply.header("x-method"), Some("HEAD"));
    assert!(reply.body.is_empty(), "a body for HEAD: {:?}", reply.body);

    let reply = fetch(&client, request(Method::GET, "/no-content"), b"").await;
    assert_eq!(reply.head.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_empty(), "a body for 204: {:?}", reply.body);
    assert!(reply.head.headers.get(CONTENT_LENGTH).is_none());
    assert!(reply.head.headers.get(DATE).is_some());

    let reply = fetch(&client, request(Method::GET, "/http1-fields"), b"").await;
    assert_eq!(reply.head.status, StatusCode::OK);
    assert_eq!(reply.body, "still fine");
    assert_eq!(reply.header("x-kept"), Some("yes"));
    for name in ["connection", "transfer-encoding", "keep-alive", "upgrade"] {
        assert!(reply.header(name).is_none(), "{name} was sent");
    }
}

/// A client connection that ended by itself, or on a graceful GOAWAY.
fn assert_closed_cleanly(closed: Result<(), h2::Error>) {
    if let Err(err) = closed {
        assert!(
            err.is_go_away() && err.reason() == Some(h2::Reason::NO_ERROR),
            "{err:?}"
        );
    }
}

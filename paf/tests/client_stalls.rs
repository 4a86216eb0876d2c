//! `paf::Client` against servers that stall in the middle of a response
//! body and then say nothing more: the reader gets its timeout, the
//! HTTP/1.1 connection is closed at once and the HTTP/2 stream reset, and
//! the process's descriptors come back to where they were.
//!
//! The tests count `/proc/self/fd`, so they run one at a time, each on a
//! runtime of its own made once it has its turn (a runtime opens
//! descriptors too). The stalling servers are raw listeners in the same
//! process that hold each connection until the client closes it: a
//! connection the client forgets keeps two descriptors open, its own and
//! the server's.
#![allow(clippy::unwrap_used)]

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use paf::Client;
use paf::client::Proxies;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// The turn to count descriptors.
static TURN: Mutex<()> = Mutex::new(());

/// How long anything may take before the test fails.
const PROMPT: Duration = Duration::from_secs(10);

/// How soon a connection given up on must be closed: well within the 2 s
/// a connection is given to finish a body dropped unread, so that only a
/// close made at once passes.
const AT_ONCE: Duration = Duration::from_secs(1);

/// How many requests each test sends, and how many at a time.
const REQUESTS: usize = 200;
const AT_A_TIME: usize = 40;

/// Runs `test` alone, on a runtime of its own.
fn alone<F: Future>(test: F) -> F::Output {
    let _turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), test).await })
        .expect("test timed out")
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits up to `limit` for the descriptors to come back to `baseline` and
/// the server to hold no connection; fails saying what is left.
async fn settle(baseline: usize, server: &Counts, limit: Duration) {
    let start = Instant::now();
    loop {
        let (fds, open) = (open_fds(), server.open());
        if fds == baseline && open == 0 {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "after {:?}: {fds} descriptors open, {baseline} before; the server holds {open} connections",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What a stalling server saw.
#[derive(Clone, Default)]
struct Counts {
    open: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    resets: Arc<AtomicUsize>,
}

impl Counts {
    fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn resets(&self) -> usize {
        self.resets.load(Ordering::SeqCst)
    }
}

/// An HTTP/1.1 server that answers each request with a head promising
/// 1000 bytes, sends 7 of them, and nothing more; it holds the connection
/// until the client closes it.
async fn stalls_http1() -> (SocketAddr, Counts) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Counts::default();
    let server = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            server.accepted.fetch_add(1, Ordering::SeqCst);
            server.open.fetch_add(1, Ordering::SeqCst);
            let open = server.open.clone();
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
                        _ => break,
                    }
                }
                let head = b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial";
                let _ = tcp.write_all(head).await;
                // Silent from here on, until the client hangs up.
                while tcp.read(&mut buf).await.is_ok_and(|n| n > 0) {}
                drop(tcp);
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (addr, counts)
}

/// The same over HTTP/2 (prior knowledge), at most 50 streams at a time:
/// each stream gets a head promising 1000 bytes and 7 of them; the server
/// counts the streams the client resets.
async fn stalls_http2() -> (SocketAddr, Counts) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Counts::default();
    let server = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            server.accepted.fetch_add(1, Ordering::SeqCst);
            server.open.fetch_add(1, Ordering::SeqCst);
            let server = server.clone();
            tokio::spawn(async move {
                let handshake = h2::server::Builder::new()
                    .max_concurrent_streams(50)
                    .handshake::<_, Bytes>(tcp)
                    .await;
                if let Ok(mut conn) = handshake {
                    while let Some(Ok((_req, respond))) = conn.accept().await {
                        tokio::spawn(stall_stream(respond, server.resets.clone()));
                    }
                }
                server.open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (addr, counts)
}

async fn stall_stream(mut respond: h2::server::SendResponse<Bytes>, resets: Arc<AtomicUsize>) {
    let head = http::Response::builder()
        .header("content-length", "1000")
        .body(())
        .unwrap();
    let Ok(mut stream) = respond.send_response(head, false) else {
        return;
    };
    let _ = stream.send_data(Bytes::from_static(b"partial"), false);
    if poll_fn(|cx| stream.poll_reset(cx)).await.is_ok() {
        resets.fetch_add(1, Ordering::SeqCst);
    }
}

/// A GET whose response head arrives and whose body must end in a timeout.
async fn times_out_in_the_body(client: &Client, url: &str) {
    let res = match client.get(url).await {
        Ok(res) => res,
        Err(err) => panic!("the head should have arrived: {err:#}"),
    };
    match res.bytes().await {
        Ok(body) => panic!("a body of {} bytes, where a timeout was due", body.len()),
        Err(err) => assert!(err.is_timeout(), "{err:#}"),
    }
}

/// Sends [`REQUESTS`] requests to `url` that stall in their body,
/// [`AT_A_TIME`] at once.
async fn stall_many(client: &Client, url: &str) {
    for _ in 0..REQUESTS / AT_A_TIME {
        let batch = (0..AT_A_TIME).map(|_| times_out_in_the_body(client, url));
        futures_util::future::join_all(batch).await;
    }
}

fn client() -> paf::ClientBuilder {
    Client::builder().proxies(Proxies::none())
}

/// The timeouts under test: the read timeout, and the whole request's.
fn with_each_timeout() -> [(&'static str, paf::ClientBuilder); 2] {
    [
        (
            "read timeout",
            client().read_timeout(Some(Duration::from_millis(300))),
        ),
        (
            "request timeout",
            client().timeout(Some(Duration::from_millis(300))),
        ),
    ]
}

#[test]
fn http1_connections_whose_body_timed_out_are_closed_at_once() {
    alone(async {
        let (addr, server) = stalls_http1().await;
        let url = format!("http://{addr}/stalls");
        for (name, builder) in with_each_timeout() {
            let baseline = open_fds();
            let client = builder.build().unwrap();
            let before = server.accepted();
            stall_many(&client, &url).await;
            // Each connection carried one request: none was pooled.
            assert_eq!(server.accepted() - before, REQUESTS, "{name}");
            assert_eq!(client.pool_size(), (0, 0), "{name}");
            // Closed while the client lives, not when it goes.
            settle(baseline, &server, AT_ONCE).await;
            drop(client);
            assert_eq!(open_fds(), baseline, "{name}");
        }
    });
}

#[test]
fn http2_streams_whose_body_timed_out_are_reset_and_nothing_leaks() {
    alone(async {
        let (addr, server) = stalls_http2().await;
        let url = format!("http://{addr}/stalls");
        for (name, builder) in with_each_timeout() {
            let baseline = open_fds();
            let client = builder.http2_prior_knowledge().build().unwrap();
            let (before, resets) = (server.accepted(), server.resets());
            stall_many(&client, &url).await;
            // Every stream was reset: with 50 streams at most per
            // connection, streams left open would have taken more.
            let start = Instant::now();
            while server.resets() - resets < REQUESTS {
                assert!(
                    start.elapsed() < PROMPT,
                    "{name}: {} resets",
                    server.resets() - resets
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(server.accepted() - before, 1, "{name}");
            assert_eq!(client.pool_size(), (0, 1), "{name}");
            // The one connection, both ends.
            assert_eq!(open_fds(), baseline + 2, "{name}");
            drop(client);
            settle(baseline, &server, AT_ONCE).await;
        }
    });
}

#[test]
fn dropped_bodies_of_silent_servers_leave_no_descriptor() {
    alone(async {
        let (addr, server) = stalls_http1().await;
        let url = format!("http://{addr}/stalls");
        let baseline = open_fds();
        let client = client().build().unwrap();
        for _ in 0..20 {
            let mut res = client.get(&url).await.unwrap();
            assert_eq!(res.chunk().await.unwrap().as_deref(), Some(&b"partial"[..]));
            // The connection waits on the socket for the rest, which never
            // comes, when the body goes.
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(res);
        }
        // The rest of a dropped body is waited for 2 s, then the
        // connection is closed.
        settle(baseline, &server, PROMPT).await;
        assert_eq!(client.pool_size(), (0, 0));
    });
}

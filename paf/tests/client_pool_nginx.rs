//! `paf::Client`, its pool and its retries, against a real nginx (and a
//! few raw in-process servers for what nginx will not do). Skipped
//! (loudly) when nginx is not installed; `PAF_REQUIRE_PEERS=1` makes that
//! a failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use http::{StatusCode, Version};
use paf::client::Proxies;
use paf::{Client, ClientBuilder};
use support::nginx::{self, Logged, Nginx, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::RwLock;

/// Tests that count the process's file descriptors run alone: the others
/// hold this for reading, those for writing.
static FDS: RwLock<()> = RwLock::const_new(());

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("test timed out")
}

/// A client that ignores the environment's proxies.
fn builder() -> ClientBuilder {
    Client::builder().proxies(Proxies::none())
}

/// A client that trusts nginx's certificate (and nothing else).
fn tls_client(nginx: &Nginx) -> ClientBuilder {
    let tls = mimic::tls::Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(nginx.ca_pem().as_bytes().to_vec())
        .build()
        .unwrap();
    builder().tls(tls)
}

fn http(nginx: &Nginx, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", nginx.port)
}

fn https(nginx: &Nginx, path: &str) -> String {
    format!("https://localhost:{}{path}", nginx.tls_port)
}

/// `http+unix://<socket, percent-encoded>/path`.
fn unix_uri(socket: &Path, path: &str) -> String {
    conduit::Target::unix_socket_uri(socket, path)
}

/// `(connection number, requests on it)` from nginx's `/whoami`.
async fn whoami(client: &Client, uri: &str) -> (u64, u64) {
    let res = client.get(uri).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let (connection, requests) = text.trim().split_once(' ').unwrap();
    (connection.parse().unwrap(), requests.parse().unwrap())
}

/// The process's open file descriptors.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits until the pool has no connection still reading the rest of a
/// dropped body: its idle count stops changing.
async fn settle(client: &Client) {
    let mut last = client.pool_size();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = client.pool_size();
        if now == last {
            return;
        }
        last = now;
    }
}

/// The access log's lines for requests that start with `request`, once
/// there are `count` of them (nginx logs a request after its response
/// went out), or after 2 s.
async fn logged(nginx: &Nginx, request: &str, count: usize) -> Vec<Logged> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut log = nginx.access_log();
        log.retain(|l| l.request.starts_with(request));
        if log.len() >= count || Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn distinct_connections<'a>(lines: impl IntoIterator<Item = &'a Logged>) -> usize {
    lines
        .into_iter()
        .map(|line| line.connection)
        .collect::<HashSet<_>>()
        .len()
}

#[tokio::test]
async fn plain_http1_get_head_post_and_404() {
    let _shared = FDS.read().await;
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let client = builder().build().unwrap();

        let res = client.get(http(&nginx, "/medium.bin")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.version(), Version::HTTP_11);
        assert_eq!(res.headers()["content-length"], "16384");
        assert_eq!(res.connection().protocols().collect::<Vec<_>>(), ["tcp"]);
        assert_eq!(
            res.connection().peer_addr().unwrap().to_string(),
            nginx.addr().to_string()
        );
        assert!(res.connection().tls().is_none());
        assert!(res.bytes().await.unwrap() == nginx::medium_file());

        let res = client.get(http(&nginx, "/big.bin")).await.unwrap();
        assert!(res.bytes().await.unwrap() == nginx::big_file());

        let res = client.head(http(&nginx, "/big.bin")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-length"], "1048576");
        assert!(res.bytes().await.unwrap().is_empty());

        let res = client
            .post(http(&nginx, "/echo"), "posted to nginx")
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.text().await.unwrap(), "posted to nginx");

        let res = client.get(http(&nginx, "/missing")).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(res.drain().await.unwrap() > 0);

        // A static file does not take a POST.
        let res = client.post(http(&nginx, "/hello.txt"), "x").await.unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        res.drain().await.unwrap();

        // All of it on one connection, now idle in the pool.
        let (first, _) = whoami(&client, &http(&nginx, "/whoami")).await;
        let (second, requests) = whoami(&client, &http(&nginx, "/whoami")).await;
        assert_eq!(first, second);
        // The POST to `/echo` reached nginx as a request of its own.
        assert!(requests >= 8, "{requests} requests on the connection");
        assert_eq!(client.pool_size(), (1, 0));
    })
    .await;
}

/// Checks that `res` came over TLS with HTTP/2 chosen by ALPN.
fn assert_h2(res: &paf::client::Response) {
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.version(), Version::HTTP_2);
    let info = res.connection();
    assert_eq!(info.protocols().collect::<Vec<_>>(), ["tls", "tcp"]);
    let tls = info.tls().unwrap();
    assert_eq!(tls.alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(tls.server_name.as_deref(), Some("localhost"));
}

/// 50 requests at once from clones of `client`, to `/hello.txt`,
/// `/medium.bin` and `/whoami` in turn; checks every body, and returns the
/// connections `/whoami` named.
async fn fifty_at_once(client: &Client, nginx: &Nginx) -> HashSet<u64> {
    let tasks = (0..50).map(|i| {
        let client = client.clone();
        let path = ["/hello.txt", "/medium.bin", "/whoami"][i % 3];
        let uri = https(nginx, path);
        tokio::spawn(async move {
            let res = client.get(uri).await.unwrap();
            assert_h2(&res);
            (path, res.bytes().await.unwrap())
        })
    });
    let mut connections = HashSet::new();
    for result in join_all(tasks).await {
        let (path, body) = result.unwrap();
        match path {
            "/hello.txt" => assert_eq!(body, nginx::HELLO.as_bytes()),
            "/medium.bin" => assert!(body == nginx::medium_file()),
            _ => {
                let text = std::str::from_utf8(&body).unwrap();
                connections.insert(text.split(' ').next().unwrap().parse().unwrap());
            }
        }
    }
    connections
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tls_alpn_h2_multiplexes_concurrent_requests_on_one_connection() {
    let _shared = FDS.read().await;
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let client = tls_client(&nginx).build().unwrap();
        let res = client.get(https(&nginx, "/hello.txt")).await.unwrap();
        assert_h2(&res);
        assert_eq!(res.text().await.unwrap(), nginx::HELLO);
        let (first, _) = whoami(&client, &https(&nginx, "/whoami")).await;
        assert_eq!(client.pool_size(), (0, 1));

        let connections = fifty_at_once(&client, &nginx).await;
        assert_eq!(connections, HashSet::from([first]));
        assert_eq!(client.pool_size(), (0, 1));

        // A POST, a HEAD and a large file over HTTP/2 too.
        let res = client
            .post(https(&nginx, "/echo"), "posted over h2")
            .await
            .unwrap();
        assert_h2(&res);
        assert_eq!(res.text().await.unwrap(), "posted over h2");
        let res = client.head(https(&nginx, "/big.bin")).await.unwrap();
        assert_h2(&res);
        assert_eq!(res.headers()["content-length"], "1048576");
        assert!(res.bytes().await.unwrap().is_empty());
        let res = client.get(https(&nginx, "/big.bin")).await.unwrap();
        assert!(res.bytes().await.unwrap() == nginx::big_file());
        let res = client.get(https(&nginx, "/missing")).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        res.drain().await.unwrap();
        assert_eq!(whoami(&client, &https(&nginx, "/whoami")).await.0, first);
        assert_eq!(client.pool_size(), (0, 1));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tls_alpn_h2_a_burst_on_a_cold_client_opens_one_connection() {
    let _shared = FDS.read().await;
    let Some(nginx) = Nginx::start_with(Options {
        access_log: true,
        ..Options::default()
    }) else {
        return;
    };
    within(async {
        // 50 at once, on a client that has no connection yet.
        let client = tls_client(&nginx).build().unwrap();
        fifty_at_once(&client, &nginx).await;
        let mut log = logged(&nginx, "GET /", 51).await;
        log.retain(|l| !l.request.starts_with("GET /__id "));
        assert_eq!(log.len(), 50);
        let connections = distinct_connections(&log);
        let pool = client.pool_size();
        eprintln!("50 requests at once on a cold client: {connections} connections, pool {pool:?}");
        assert_eq!(
            connections, 1,
            "50 requests went on {connections} connections"
        );
        assert_eq!(pool, (0, 1));
    })
    .await;
}

#[tokio::test]
async fn tls_http1_only_speaks_http1_with_alpn_http1() {
    let _shared = FDS.read().await;
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let client = tls_client(&nginx).http1_only().build().unwrap();
        let res = client.get(https(&nginx, "/hello.txt")).await.unwrap();
        assert_eq!(res.version(), Version::HTTP_11);
        let tls = res.connection().tls().unwrap();
        assert_eq!(tls.alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(res.text().await.unwrap(), nginx::HELLO);

        let res = client.get(https(&nginx, "/big.bin")).await.unwrap();
        assert_eq!(res.version(), Version::HTTP_11);
        assert!(res.bytes().await.unwrap() == nginx::big_file());
        let res = client
            .post(https(&nginx, "/echo"), "posted over TLS")
            .await
            .unwrap();
        assert_eq!(res.text().await.unwrap(), "posted over TLS");

        let (first, _) = whoami(&client, &https(&nginx, "/whoami")).await;
        let (second, requests) = whoami(&client, &https(&nginx, "/whoami")).await;
        assert_eq!(first, second);
        assert_eq!(requests, 5);
        assert_eq!(client.pool_size(), (1, 0));
    })
    .await;
}

#[tokio::test]
async fn unix_sockets_by_uri_and_by_builder() {
    let _shared = FDS.read().await;
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let socket = nginx.unix_socket();
        let client = builder().build().unwrap();
        let res = client.get(unix_uri(&socket, "/hello.txt")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.version(), Version::HTTP_11);
        assert_eq!(res.connection().protocols().collect::<Vec<_>>(), ["unix"]);
        assert_eq!(res.text().await.unwrap(), nginx::HELLO);
        let res = client.get(unix_uri(&socket, "/big.bin")).await.unwrap();
        assert!(res.bytes().await.unwrap() == nginx::big_file());
        let res = client
            .post(unix_uri(&socket, "/echo"), "posted to a socket")
            .await
            .unwrap();
        assert_eq!(res.text().await.unwrap(), "posted to a socket");
        let res = client.get(unix_uri(&socket, "/missing")).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        res.drain().await.unwrap();
        let (first, _) = whoami(&client, &unix_uri(&socket, "/whoami")).await;
        let (second, requests) = whoami(&client, &unix_uri(&socket, "/whoami")).await;
        assert_eq!(first, second);
        assert!(requests >= 6, "{requests} requests on the connection");
        assert_eq!(client.pool_size(), (1, 0));

        // Every request to the one socket, whatever the URI names.
        let client = builder().unix_socket(&socket).build().unwrap();
        for uri in [
            "http://localhost/hello.txt",
            "http://no-such-host.invalid/hello.txt",
        ] {
            let res = client.get(uri).await.unwrap();
            assert_eq!(res.connection().protocols().collect::<Vec<_>>(), ["unix"]);
            assert_eq!(res.text().await.unwrap(), nginx::HELLO);
        }
        let res = client.get("http://localhost/__id").await.unwrap();
        assert_eq!(res.text().await.unwrap(), nginx.id());
    })
    .await;
}

#[tokio::test]
async fn two_unix_sockets_never_share_a_connection() {
    let _shared = FDS.read().await;
    let Some(one) = Nginx::start() else { return };
    let Some(two) = Nginx::start() else { return };
    within(async {
        let client = builder().build().unwrap();
        let mut seen = [HashSet::new(), HashSet::new()];
        for i in 0..40 {
            let nginx = [&one, &two][i % 2];
            let socket = nginx.unix_socket();
            let res = client.get(unix_uri(&socket, "/__id")).await.unwrap();
            assert_eq!(res.text().await.unwrap(), nginx.id(), "request {i}");
            let (connection, _) = whoami(&client, &unix_uri(&socket, "/whoami")).await;
            seen[i % 2].insert(connection);
        }
        // Each socket kept its one connection throughout.
        assert_eq!(seen[0].len(), 1, "{seen:?}");
        assert_eq!(seen[1].len(), 1, "{seen:?}");
        assert_eq!(client.pool_size(), (2, 0));

        // With the builder's socket, too: two clients, two servers.
        let first = builder().unix_socket(one.unix_socket()).build().unwrap();
        let second = builder().unix_socket(two.unix_socket()).build().unwrap();
        for _ in 0..5 {
            for (client, nginx) in [(&first, &one), (&second, &two)] {
                let res = client.get("http://localhost/__id").await.unwrap();
                assert_eq!(res.text().await.unwrap(), nginx.id());
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_dropped_bodies_leak_nothing_and_reuse_connections() {
    let _alone = FDS.write().await;
    let Some(nginx) = Nginx::start_with(Options {
        server: "keepalive_requests 100000;".into(),
        access_log: true,
    }) else {
        return;
    };
    within(async {
        let client = builder().build().unwrap();
        // A 16 KiB file with `content-length`, and 16 KiB sent chunked, in
        // turn.
        let uris = [
            http(&nginx, "/medium.bin"),
            http(&nginx, "/ssi/medium.shtml"),
        ];
        // The runtime's and the pool's own descriptors exist from here on.
        let res = client.get(&uris[0]).await.unwrap();
        assert!(res.bytes().await.unwrap() == nginx::medium_file());
        let before = open_fds();

        let started = Instant::now();
        // A connection that had read the whole body goes back to the pool
        // as the body is dropped; one still reading, once it has drained
        // the rest (always so for a chunked body: it goes through a pipe).
        let (mut at_once, mut later) = (0, 0);
        for i in 0..10_000 {
            let res = client.get(&uris[i % 2]).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "request {i}");
            let idle = client.pool_size().0;
            drop(res);
            if client.pool_size().0 > idle {
                at_once += 1;
            } else {
                later += 1;
            }
        }
        let elapsed = started.elapsed();
        settle(&client).await;
        let after = open_fds();
        let pool = client.pool_size();

        // Still usable, and the bodies arrive whole.
        let res = client.get(&uris[0]).await.unwrap();
        assert!(res.bytes().await.unwrap() == nginx::medium_file());
        let res = client.get(&uris[1]).await.unwrap();
        assert_eq!(res.headers()["transfer-encoding"], "chunked");
        assert_eq!(res.text().await.unwrap(), nginx::medium_text());

        let files = logged(&nginx, "GET /medium.bin ", 5002).await;
        let pages = logged(&nginx, "GET /ssi/medium.shtml ", 5001).await;
        let connections = distinct_connections(files.iter().chain(&pages));
        eprintln!(
            "10,000 dropped 16 KiB bodies in {elapsed:?} ({at_once} given back at once, \
             {later} drained first): descriptors {before} before, {after} after; pool \
             {pool:?}; {} requests logged on {connections} connections",
            files.len() + pages.len()
        );
        assert_eq!((files.len(), pages.len()), (5002, 5001));
        assert!(files.iter().chain(&pages).all(|l| l.status == 200));
        assert!(later >= 1000, "only {later} bodies were drained");
        assert!(
            after <= before + 4,
            "{before} descriptors before, {after} after"
        );
        assert!(
            connections <= 8,
            "{connections} connections for 10,003 requests"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_bodies_over_64_kib_close_their_connection() {
    let _alone = FDS.write().await;
    let Some(nginx) = Nginx::start_with(Options {
        server: "keepalive_requests 100000;".into(),
        access_log: true,
    }) else {
        return;
    };
    within(async {
        let client = builder().build().unwrap();
        let res = client.get(http(&nginx, "/hello.txt")).await.unwrap();
        assert_eq!(res.text().await.unwrap(), nginx::HELLO);
        let before = open_fds();

        let uri = http(&nginx, "/big.bin");
        for i in 0..300 {
            let res = client.get(&uri).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "request {i}");
            drop(res);
        }
        settle(&client).await;
        let after = open_fds();
        let pool = client.pool_size();

        let big = logged(&nginx, "GET /big.bin ", 300).await;
        let connections = distinct_connections(&big);
        eprintln!(
            "300 dropped 1 MiB bodies: descriptors {before} before, {after} after; \
             pool {pool:?}; {} requests logged on {connections} connections",
            big.len()
        );
        // Each connection was closed rather than read to the end of 1 MiB:
        // none carried a second request.
        assert_eq!(big.len(), 300);
        assert_eq!(connections, 300);
        // (The first may have gone on the warm-up request's connection.)
        let again = big.iter().skip(1).filter(|l| l.requests > 1).count();
        assert_eq!(again, 0, "{again} requests on a connection already used");
        assert!(
            after <= before + 4,
            "{before} descriptors before, {after} after"
        );
    })
    .await;
}

/// 1,000 requests one after the other, then 1,000 from 8 tasks at once;
/// every one must succeed.
async fn thousand_requests(client: &Client, uri: &str, expect: &str) {
    for i in 0..1000 {
        let res = client
            .get(uri)
            .await
            .unwrap_or_else(|err| panic!("request {i}: {err}"));
        assert_eq!(res.status(), StatusCode::OK, "request {i}");
        assert_eq!(res.text().await.unwrap(), expect, "request {i}");
    }
    let tasks = (0..8).map(|task| {
        let client = client.clone();
        let uri = uri.to_owned();
        let expect = expect.to_owned();
        tokio::spawn(async move {
            for i in 0..125 {
                let res = client
                    .get(&uri)
                    .await
                    .unwrap_or_else(|err| panic!("task {task}, request {i}: {err}"));
                assert_eq!(res.text().await.unwrap(), expect);
            }
        })
    });
    for result in join_all(tasks).await {
        result.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_closing_after_each_request_costs_no_request() {
    let _shared = FDS.read().await;
    let Some(nginx) = Nginx::start_with(Options {
        server: "keepalive_requests 1;".into(),
        access_log: true,
    }) else {
        return;
    };
    within(async {
        let client = builder().build().unwrap();
        let res = client.get(http(&nginx, "/hello.txt")).await.unwrap();
        assert_eq!(res.headers()["connection"], "close");
        res.drain().await.unwrap();
        thousand_requests(&client, &http(&nginx, "/hello.txt"), nginx::HELLO).await;
        let log = logged(&nginx, "GET /hello.txt ", 2001).await;
        assert_eq!(log.len(), 2001);
        assert!(log.iter().all(|l| l.requests == 1 && l.status == 200));
        assert_eq!(client.pool_size(), (0, 0));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_closing_idle_connections_after_1_ms_costs_no_request() {
    let _shared = FDS.read().await;
    let Some(nginx) = Nginx::start_with(Options {
        server: "keepalive_timeout 1ms;".into(),
        access_log: true,
    }) else {
        return;
    };
    within(async {
        let client = builder().build().unwrap();
        let res = client.get(http(&nginx, "/hello.txt")).await.unwrap();
        // nginx announces keep-alive, then closes 1 ms after the response.
        assert_eq!(res.headers()["connection"], "keep-alive");
        res.drain().await.unwrap();
        thousand_requests(&client, &http(&nginx, "/hello.txt"), nginx::HELLO).await;
        let log = logged(&nginx, "GET /hello.txt ", 2001).await;
        // A request sent again reached nginx once: the connection it was
        // first sent on had closed without reading it.
        assert_eq!(log.len(), 2001);
        let connections = distinct_connections(&log);
        let reused = log.iter().filter(|l| l.requests > 1).count();
        eprintln!(
            "keepalive_timeout 1ms: 2,001 requests on {connections} connections, \
             {reused} on a reused one"
        );
    })
    .await;
}

/// A raw HTTP/1.1 server on a loopback port answering `ok` to each
/// request, with `extra` header lines (each ending in CRLF), and counting.
struct Raw {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    /// Requests answered.
    requests: Arc<AtomicUsize>,
    /// Requests read, then left without an answer ([`After::DropNext`]).
    dropped: Arc<AtomicUsize>,
}

/// How a [`Raw`] server treats a connection after a response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    /// Waits for the next request.
    KeepAlive,
    /// Closes it, without having said so: at once, after a yield, or
    /// after 500 µs, in turn (the client may have sent another request by
    /// then, which the close answers with a reset).
    Close,
    /// Reads the next request, then closes without answering it.
    DropNext,
}

/// Reads one request (head, and a body of `content-length` bytes) from
/// `tcp` into `buf` and takes it out; false at the end of the stream.
async fn read_request(tcp: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut need = None;
    loop {
        if need.is_none()
            && let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n")
        {
            let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |n| n.trim().parse::<usize>().unwrap());
            need = Some(at + 4 + length);
        }
        if let Some(need) = need
            && buf.len() >= need
        {
            buf.drain(..need);
            return true;
        }
        let mut chunk = [0; 4096];
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn raw_server(extra: &'static str, after: After) -> Raw {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let raw = Raw {
        addr: listener.local_addr().unwrap(),
        connections: Arc::default(),
        requests: Arc::default(),
        dropped: Arc::default(),
    };
    let (connections, requests, dropped) = (
        raw.connections.clone(),
        raw.requests.clone(),
        raw.dropped.clone(),
    );
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                continue;
            };
            connections.fetch_add(1, Ordering::SeqCst);
            let (requests, dropped) = (requests.clone(), dropped.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    if !read_request(&mut tcp, &mut buf).await {
                        return;
                    }
                    let n = requests.fetch_add(1, Ordering::SeqCst);
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{extra}\r\nok");
                    if tcp.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    match after {
                        After::KeepAlive => {}
                        After::Close => {
                            match n % 3 {
                                0 => {}
                                1 => tokio::task::yield_now().await,
                                _ => tokio::time::sleep(Duration::from_micros(500)).await,
                            }
                            return;
                        }
                        After::DropNext => {
                            if read_request(&mut tcp, &mut buf).await {
                                dropped.fetch_add(1, Ordering::SeqCst);
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    raw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_closing_silently_after_each_response_costs_no_request() {
    let _shared = FDS.read().await;
    within(async {
        let raw = raw_server("", After::Close).await;
        let client = builder().build().unwrap();
        thousand_requests(&client, &format!("http://{}/", raw.addr), "ok").await;
        let (connections, requests) = (
            raw.connections.load(Ordering::SeqCst),
            raw.requests.load(Ordering::SeqCst),
        );
        eprintln!("silent closes: 2,000 requests answered on {connections} connections");
        assert_eq!(requests, 2000);
        assert_eq!(connections, 2000);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_server_closes_on_unanswered_is_sent_again() {
    let _shared = FDS.read().await;
    within(async {
        let raw = raw_server("", After::DropNext).await;
        let client = builder().build().unwrap();
        let uri = format!("http://{}/", raw.addr);
        thousand_requests(&client, &uri, "ok").await;
        // POST too: a full body can be sent again.
        for i in 0..200 {
            let res = client
                .post(&uri, "some data")
                .await
                .unwrap_or_else(|err| panic!("POST {i}: {err}"));
            assert_eq!(res.text().await.unwrap(), "ok");
        }
        let (connections, requests, dropped) = (
            raw.connections.load(Ordering::SeqCst),
            raw.requests.load(Ordering::SeqCst),
            raw.dropped.load(Ordering::SeqCst),
        );
        eprintln!(
            "requests read and left unanswered: 2,200 answered, {dropped} dropped, \
             on {connections} connections"
        );
        assert_eq!(requests, 2200);
        // Nearly every request first went on a pooled connection, which
        // the server closed on it.
        assert!(dropped >= 1000, "{dropped} requests dropped");
        assert_eq!(connections, requests);
    })
    .await;
}

#[tokio::test]
async fn keep_alive_timeout_is_honoured() {
    let _shared = FDS.read().await;
    within(async {
        let raw = raw_server("Keep-Alive: timeout=2\r\n", After::KeepAlive).await;
        let client = builder().build().unwrap();
        let uri = format!("http://{}/", raw.addr);
        for _ in 0..2 {
            let res = client.get(&uri).await.unwrap();
            assert_eq!(res.text().await.unwrap(), "ok");
        }
        // Back to back: the connection is reused.
        assert_eq!(raw.connections.load(Ordering::SeqCst), 1);
        // The server keeps it 2 s; the pool only 1 s (one of margin).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let res = client.get(&uri).await.unwrap();
        assert_eq!(res.text().await.unwrap(), "ok");
        assert_eq!(raw.connections.load(Ordering::SeqCst), 2);
        assert_eq!(raw.requests.load(Ordering::SeqCst), 3);
    })
    .await;
}

#[tokio::test]
async fn keep_alive_timeout_of_1_s_leaves_nothing_to_reuse() {
    let _shared = FDS.read().await;
    within(async {
        let raw = raw_server("Keep-Alive: timeout=1\r\n", After::KeepAlive).await;
        let client = builder().build().unwrap();
        let uri = format!("http://{}/", raw.addr);
        for _ in 0..3 {
            let res = client.get(&uri).await.unwrap();
            assert_eq!(res.text().await.unwrap(), "ok");
        }
        assert_eq!(raw.connections.load(Ordering::SeqCst), 3);
        assert_eq!(client.pool_size(), (0, 0));
    })
    .await;
}

#[tokio::test]
async fn without_keep_alive_an_idle_connection_outlives_1_5_s() {
    let _shared = FDS.read().await;
    within(async {
        let raw = raw_server("", After::KeepAlive).await;
        let client = builder().build().unwrap();
        let uri = format!("http://{}/", raw.addr);
        let res = client.get(&uri).await.unwrap();
        assert_eq!(res.text().await.unwrap(), "ok");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let res = client.get(&uri).await.unwrap();
        assert_eq!(res.text().await.unwrap(), "ok");
        assert_eq!(raw.connections.load(Ordering::SeqCst), 1);
        assert_eq!(client.pool_size(), (1, 0));
    })
    .await;
}

//! What `paf::Client` refuses from a server: an endless run of interim
//! responses, a redirect to a scheme other than `http` and `https`, a body
//! larger than `bytes()` and `text()` take.
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use conduit::listener::TcpListener;
use conduit::serve::Server;
use futures_util::StreamExt;
use http::{Request, Response, Version};
use paf::client::Proxies;
use paf::server::{Auto, Serve};
use paf::{Body, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::nginx::{self, Nginx, Options};
use support::server::PROMPT;

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("test timed out")
}

fn client() -> paf::ClientBuilder {
    Client::builder().proxies(Proxies::none())
}

async fn read_head(tcp: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf).await {
            Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
}

#[tokio::test]
async fn an_endless_run_of_interim_responses_fails_the_request() {
    // `100 Continue` for as long as the client reads them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicBool::new(false));
    let (count, done) = (sent.clone(), stopped.clone());
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        read_head(&mut tcp).await;
        let flood = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(1000);
        while tcp.write_all(&flood).await.is_ok() {
            count.fetch_add(1000, Ordering::SeqCst);
        }
        done.store(true, Ordering::SeqCst);
    });
    within(async {
        let client = client().build().unwrap();
        let err = client.get(format!("http://{addr}/")).await.unwrap_err();
        assert!(err.is_parse(), "{err:#}");
        assert!(format!("{err:#}").contains("interim"), "{err:#}");
        assert_eq!(client.pool_size(), (0, 0));
        // The client hung up: the server cannot write any more.
        let hung_up = async {
            while !stopped.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(PROMPT, hung_up)
            .await
            .expect("the client closes the connection");
        eprintln!(
            "the server wrote {} interim responses before the client hung up",
            sent.load(Ordering::SeqCst)
        );
    })
    .await;
}

/// Over HTTP/2 the `h2` crate skips interim responses without a bound (it
/// reads each one as it comes: memory does not grow): the client's read
/// timeout is what ends such a request, and the stream is reset.
#[tokio::test]
async fn an_http2_flood_of_interim_responses_ends_with_the_read_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let (reset_tx, reset) = tokio::sync::oneshot::channel();
    let count = sent.clone();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut conn = h2::server::handshake(tcp).await.unwrap();
        let (_req, mut respond) = conn.accept().await.unwrap().unwrap();
        tokio::spawn(async move { while conn.accept().await.is_some() {} });
        let reason = loop {
            if let Poll::Ready(reason) = respond.poll_reset(&mut Context::from_waker(Waker::noop()))
            {
                break reason.ok();
            }
            let head = http::Response::builder().status(100).body(()).unwrap();
            if respond.send_informational(head).is_err() {
                break None;
            }
            count.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
        };
        let _ = reset_tx.send(reason);
    });
    within(async {
        let client = client()
            .http2_prior_knowledge()
            .read_timeout(Some(Duration::from_millis(300)))
            .build()
            .unwrap();
        let err = client.get(format!("http://{addr}/")).await.unwrap_err();
        assert!(err.is_read_timeout(), "{err:#}");
        let sent = sent.load(Ordering::SeqCst);
        assert!(sent > 32, "only {sent} interim responses were sent");
        let reason = tokio::time::timeout(PROMPT, reset).await.unwrap().unwrap();
        assert_eq!(reason, Some(h2::Reason::CANCEL));
    })
    .await;
}

/// A listener that must never see a connection: where refused redirects
/// point. Counts the connections it accepts.
async fn trap() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            // Held, unanswered.
            std::mem::forget(tcp);
        }
    });
    (addr, accepted)
}

/// Answers `/away?to=URI` with a `302` to `URI`, anything else with its
/// path.
async fn away(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    if path == "/away" {
        let to = req
            .uri()
            .query()
            .unwrap_or_default()
            .trim_start_matches("to=");
        let res = Response::builder().status(302).header("location", to);
        return Ok(res.body(Body::empty()).unwrap());
    }
    Ok(Response::new(Body::full(path)))
}

/// A client whose requests cannot hang: a redirect followed to a listener
/// that never answers ends in a read timeout.
fn bounded() -> Client {
    client()
        .read_timeout(Some(Duration::from_secs(2)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn redirects_to_other_schemes_are_refused() {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = tcp.local_socket_addr();
    let _server = Server::builder()
        .listener(tcp)
        .serve(Auto::new().handler(paf::service_fn(away)));
    let (trap, accepted) = trap().await;
    within(async {
        let client = bounded();
        for scheme in ["gopher", "redis", "ftp", "ws"] {
            let location = format!("{scheme}://{trap}/x");
            let err = client
                .get(format!("http://{addr}/away?to={location}"))
                .await
                .unwrap_err();
            assert!(err.is_redirect(), "{scheme}: {err:#}");
            assert_eq!(
                format!("{err:#}"),
                format!(
                    "cannot follow the redirect: `location: {location}` from http://{addr}/away?to={location}: \
                     the scheme `{scheme}` is not followed, only http and https"
                )
            );
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
        // http and https still are.
        let res = client.get(format!("http://{addr}/away?to=/end")).await.unwrap();
        assert_eq!(res.text().await.unwrap(), "/end");
        let res = client
            .get(format!("http://{addr}/away?to=http://{addr}/other"))
            .await
            .unwrap();
        assert_eq!(res.redirects().len(), 1);
        assert_eq!(res.text().await.unwrap(), "/other");
    })
    .await;
}

/// `http+unix://<socket, percent-encoded>/path`.
fn unix_uri(socket: &Path, path: &str) -> String {
    conduit::Target::unix_socket_uri(socket, path)
}

#[tokio::test]
async fn nginx_redirects_to_other_schemes_are_refused_and_a_socket_keeps_its_own() {
    let (trap, accepted) = trap().await;
    let server = format!(
        "location = /gopher {{ return 302 gopher://{trap}/x; }}
         location = /redis {{ return 301 redis://{trap}/; }}
         location = /hop {{ return 302 /hello.txt; }}"
    );
    let Some(nginx) = Nginx::start_with(Options {
        server,
        ..Options::default()
    }) else {
        return;
    };
    within(async {
        let client = bounded();
        let base = format!("http://127.0.0.1:{}", nginx.port);
        for (path, scheme) in [("/gopher", "gopher"), ("/redis", "redis")] {
            let err = client.get(format!("{base}{path}")).await.unwrap_err();
            assert!(err.is_redirect(), "{err:#}");
            let text = format!("{err:#}");
            assert!(
                text.contains(&format!("the scheme `{scheme}` is not followed")),
                "{text}"
            );
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 0);

        // On the Unix socket, a redirect to a path stays on the socket; one
        // to another scheme is refused the same way.
        let socket = nginx.unix_socket();
        let res = client.get(unix_uri(&socket, "/hop")).await.unwrap();
        assert_eq!(res.redirects().len(), 1);
        assert_eq!(res.connection().protocols().collect::<Vec<_>>(), ["unix"]);
        assert_eq!(res.text().await.unwrap(), nginx::HELLO);
        let err = client.get(unix_uri(&socket, "/gopher")).await.unwrap_err();
        assert!(err.is_redirect(), "{err:#}");
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
    })
    .await;
}

/// Bodies of every kind: `/sized/N` (N bytes, with `content-length`),
/// `/chunked/N` (N bytes in pieces of 1000, without a length), `/json/N`
/// (a JSON string of N bytes in all), `/endless` (16 KiB pieces without
/// end).
async fn bodies(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let n = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
    };
    let body = if let Some(n) = n("/sized/") {
        Body::full(vec![b'x'; n])
    } else if let Some(n) = n("/chunked/") {
        let pieces = (0..n)
            .step_by(1000)
            .map(move |at| Ok::<_, Infallible>(Bytes::from(vec![b'x'; (n - at).min(1000)])));
        Body::from_stream(futures_util::stream::iter(pieces))
    } else if let Some(n) = n("/json/") {
        let text = format!("\"{}\"", "x".repeat(n - 2));
        Body::from_stream(futures_util::stream::iter([Ok::<_, Infallible>(text)]))
    } else if path == "/endless" {
        let piece = Bytes::from(vec![b'x'; 16 * 1024]);
        Body::from_stream(futures_util::stream::repeat_with(move || {
            Ok::<_, Infallible>(piece.clone())
        }))
    } else {
        Body::empty()
    };
    Ok(Response::new(body))
}

/// Serves [`bodies`] over HTTP/1.1 and HTTP/2 (prior knowledge).
fn serve_bodies() -> (String, Server) {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let base = format!("http://{}", tcp.local_socket_addr());
    let server = Server::builder()
        .listener(tcp)
        .serve(Auto::new().handler(paf::service_fn(bodies)));
    (base, server)
}

#[tokio::test]
async fn bytes_and_text_read_at_most_the_limit() {
    let (base, _server) = serve_bodies();
    within(async {
        for http2 in [false, true] {
            let mut builder = client().max_response_body(Some(100_000));
            if http2 {
                builder = builder.http2_prior_knowledge();
            }
            let client = builder.build().unwrap();
            let get = |path: &str| client.get(format!("{base}{path}"));
            for path in ["/sized/100000", "/chunked/100000"] {
                let res = get(path).await.unwrap();
                assert_eq!(res.version() == Version::HTTP_2, http2);
                assert_eq!(res.bytes().await.unwrap().len(), 100_000, "{path}");
            }
            for path in ["/sized/100001", "/chunked/100001", "/endless"] {
                let err = get(path).await.unwrap().text().await.unwrap_err();
                assert!(err.is_body_too_large(), "{path}: {err:#}");
                assert_eq!(
                    format!("{err:#}"),
                    "body larger than the limit: more than 100000 bytes, the most `bytes()`, \
                     `text()` and `json()` read (ClientBuilder::max_response_body): \
                     read it piece by piece with `chunk()`"
                );
            }
            // The pieces have no limit.
            let mut pieces = std::pin::pin!(get("/chunked/300000").await.unwrap().chunks());
            let mut total = 0;
            while let Some(piece) = pieces.next().await {
                total += piece.unwrap().len();
            }
            assert_eq!(total, 300_000);
            // What was left unread cost the HTTP/1.1 connections; the HTTP/2
            // one was only reset streams.
            let expected = if http2 { (0, 1) } else { (1, 0) };
            assert_eq!(client.pool_size(), expected);

            let unlimited = self::client().max_response_body(None).build().unwrap();
            let res = unlimited
                .get(format!("{base}/chunked/300000"))
                .await
                .unwrap();
            assert_eq!(res.bytes().await.unwrap().len(), 300_000);
        }
    })
    .await;
}

#[tokio::test]
async fn an_endless_body_ends_at_the_default_limit() {
    let (base, _server) = serve_bodies();
    within(async {
        let client = client().build().unwrap();
        let err = client
            .get(format!("{base}/endless"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap_err();
        assert!(err.is_body_too_large(), "{err:#}");
        assert!(
            format!("{err:#}").contains("more than 67108864 bytes"),
            "{err:#}"
        );
    })
    .await;
}

#[cfg(feature = "serde")]
#[tokio::test]
async fn json_reads_at_most_the_limit() {
    let (base, _server) = serve_bodies();
    within(async {
        let client = client().max_response_body(Some(1000)).build().unwrap();
        let res = client.get(format!("{base}/json/1000")).await.unwrap();
        assert_eq!(res.json::<String>().await.unwrap().len(), 998);
        let res = client.get(format!("{base}/json/1001")).await.unwrap();
        assert!(res.json::<String>().await.unwrap_err().is_body_too_large());
    })
    .await;
}

#[tokio::test]
async fn nginx_bodies_are_read_up_to_the_limit_exactly() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let tls = mimic::tls::Tls::builder()
            .without_webpki_roots()
            .add_ca_pem(nginx.ca_pem().as_bytes().to_vec())
            .build()
            .unwrap();
        let http = format!("http://127.0.0.1:{}", nginx.port);
        let https = format!("https://localhost:{}", nginx.tls_port);
        // 1 MiB with its length; 16 KiB chunked (server-side includes).
        let (big, medium) = (1024 * 1024, nginx::medium_text().len() as u64);
        for base in [http, https] {
            for (path, size) in [("/big.bin", big), ("/ssi/medium.shtml", medium)] {
                let limited = |limit| {
                    client()
                        .tls(tls.clone())
                        .max_response_body(Some(limit))
                        .build()
                        .unwrap()
                };
                let url = format!("{base}{path}");
                let res = limited(size).get(&url).await.unwrap();
                let version = res.version();
                assert_eq!(res.bytes().await.unwrap().len() as u64, size, "{url}");
                let res = limited(size - 1).get(&url).await.unwrap();
                let err = res.bytes().await.unwrap_err();
                assert!(err.is_body_too_large(), "{url} over {version:?}: {err:#}");
            }
        }
    })
    .await;
}

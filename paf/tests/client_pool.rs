//! `paf::Client` against in-process servers: methods, redirects, retries,
//! timeouts, connection errors and HTTP/2 connection sharing.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conduit::listener::TcpListener;
use conduit::serve::Server;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use paf::client::{Proxies, Redirect};
use paf::server::{Auto, Connected, Http2, Serve};
use paf::{Body, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use support::server::PROMPT;

/// A client that ignores the environment's proxies.
fn client() -> paf::ClientBuilder {
    Client::builder().proxies(Proxies::none())
}

/// Serves `service` on 127.0.0.1 with HTTP/1.1 and HTTP/2 (prior knowledge).
fn serve<S>(auto: Auto, service: S) -> (SocketAddr, Server)
where
    S: paf::server::HttpService<Body> + Clone + Sync,
{
    let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = tcp.local_socket_addr();
    (
        addr,
        Server::builder().listener(tcp).serve(auto.handler(service)),
    )
}

/// Answers with the method, path, a few fields and the body; redirects on
/// `/r/N` (to `/r/N-1`, `/r/0` answers), `/loop`, `/see-other`, `/temp`
/// and `/away?to=URI`.
async fn echo(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let fields = {
        let field = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string()
        };
        format!(
            "type={} auth={} agent={}",
            field("content-type"),
            field("authorization"),
            field("user-agent")
        )
    };
    let redirect = |status: u16, to: String| {
        Response::builder()
            .status(status)
            .header("location", to)
            .body(Body::full("moved"))
            .unwrap()
    };
    if let Some(n) = path.strip_prefix("/r/") {
        let n: u32 = n.parse().unwrap_or(0);
        if n > 0 {
            return Ok(redirect(302, format!("/r/{}", n - 1)));
        }
    }
    match path.as_str() {
        "/loop" => return Ok(redirect(302, "/loop".into())),
        "/see-other" => return Ok(redirect(303, "/echo".into())),
        "/temp" => return Ok(redirect(307, "/echo".into())),
        "/away" => return Ok(redirect(302, query.trim_start_matches("to=").into())),
        _ => {}
    }
    let body = req.into_body().text().await.unwrap_or_default();
    Ok(Response::new(Body::full(format!(
        "{method} {path} {fields} body={body}"
    ))))
}

#[tokio::test]
async fn every_method_reaches_the_server_as_sent() {
    let (addr, _server) = serve(Auto::new(), paf::service_fn(echo));
    let client = client().build().unwrap();
    let url = format!("http://{addr}/echo");

    let res = client.get(&url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.version(), Version::HTTP_11);
    assert_eq!(res.uri().to_string(), url);
    let agent = concat!("agent=paf/", env!("CARGO_PKG_VERSION"));
    let text = res.text().await.unwrap();
    assert!(text.starts_with("GET /echo type=- auth=- "), "{text}");
    assert!(text.contains(agent), "{text}");

    // One at a time, each body read before the next request.
    let text = |res: Result<paf::client::Response, paf::Error>| async {
        res.unwrap().text().await.unwrap()
    };
    let cases = [
        (
            text(client.post(&url, "p").await).await,
            "POST /echo",
            "body=p",
        ),
        (
            text(client.put(&url, "u").await).await,
            "PUT /echo",
            "body=u",
        ),
        (
            text(client.patch(&url, "a").await).await,
            "PATCH /echo",
            "body=a",
        ),
        (
            text(client.delete(&url).await).await,
            "DELETE /echo",
            "body=",
        ),
        (
            text(
                client
                    .post_form(&url, &[("name", "Ada L"), ("x", "1&2")])
                    .await,
            )
            .await,
            "POST /echo type=application/x-www-form-urlencoded",
            "body=name=Ada+L&x=1%262",
        ),
    ];
    for (text, start, end) in cases {
        assert!(text.starts_with(start) && text.ends_with(end), "{text}");
    }

    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("text/x-call"));
    let res = client
        .call(Method::OPTIONS, &url, headers, Body::empty())
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .starts_with("OPTIONS /echo type=text/x-call")
    );

    let req = Request::put(&url)
        .header("user-agent", "custom/1")
        .body(Body::full("r"))
        .unwrap();
    let text = client.request(req).await.unwrap().text().await.unwrap();
    assert!(
        text.contains("agent=custom/1") && text.ends_with("body=r"),
        "{text}"
    );

    let res = client.head(&url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().len(), 0);
    // Sequential requests shared one connection.
    assert_eq!(client.pool_size(), (1, 0));
}

#[tokio::test]
async fn redirects_are_followed_changed_and_bounded() {
    let (addr, _server) = serve(Auto::new(), paf::service_fn(echo));
    let (other, _other_server) = serve(Auto::new(), paf::service_fn(echo));
    let client = client().build().unwrap();
    let base = format!("http://{addr}");

    let res = client.get(format!("{base}/r/10")).await.unwrap();
    assert_eq!(res.uri().path(), "/r/0");
    let hops: Vec<_> = res.redirects().iter().map(|u| u.path()).collect();
    assert_eq!(hops.len(), 10);
    assert_eq!((hops[0], hops[9]), ("/r/10", "/r/1"));
    assert!(res.text().await.unwrap().starts_with("GET /r/0"));

    let err = client.get(format!("{base}/r/11")).await.err().unwrap();
    assert!(err.is_redirect(), "{err}");
    assert!(
        format!("{err:#}").contains("more than 10 redirects"),
        "{err}"
    );
    let err = client.get(format!("{base}/loop")).await.err().unwrap();
    assert!(err.is_redirect(), "{err}");
    assert!(format!("{err:#}").contains("/loop -> "), "{err}");

    let res = client
        .post(format!("{base}/see-other"), "data")
        .await
        .unwrap();
    assert_eq!(
        res.text().await.unwrap(),
        format!(
            "GET /echo type=- auth=- agent=paf/{} body=",
            env!("CARGO_PKG_VERSION")
        )
    );
    let res = client.post(format!("{base}/temp"), "data").await.unwrap();
    assert!(res.text().await.unwrap().starts_with("POST /echo"));

    // A 307 with a streamed body cannot be replayed: the redirect itself
    // is the answer.
    let (mut tx, body) = Body::channel();
    tokio::spawn(async move { tx.send_data("streamed").await });
    let res = client
        .call(Method::POST, format!("{base}/temp"), HeaderMap::new(), body)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    assert!(res.redirects().is_empty());

    // Credentials stay with their origin.
    let mut auth = HeaderMap::new();
    auth.insert("authorization", HeaderValue::from_static("Bearer secret"));
    let same = format!("{base}/away?to={base}/echo");
    let res = client
        .call(Method::GET, &same, auth.clone(), Body::empty())
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("auth=Bearer secret"));
    let cross = format!("{base}/away?to=http://{other}/echo");
    let res = client
        .call(Method::GET, &cross, auth, Body::empty())
        .await
        .unwrap();
    assert_eq!(res.uri().port_u16(), Some(other.port()));
    assert!(res.text().await.unwrap().contains("auth=-"));

    let manual = self::client().redirect(Redirect::none()).build().unwrap();
    let res = manual.get(format!("{base}/r/1")).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/r/0");
}

/// A raw HTTP/1.1 server: answers the first request of each connection
/// with `ok`, then closes the connection when the next request arrives,
/// without answering it. Counts connections.
async fn closes_after_one() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let accepted = count.clone();
    tokio::spawn(async move {
        loop {
            let (mut tcp, _) = listener.accept().await.unwrap();
            accepted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
                let mut seen = Vec::new();
                loop {
                    let Ok(n) = tcp.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                // The next request is read and left unanswered.
                let _ = tcp.read(&mut buf).await;
            });
        }
    });
    (addr, count)
}

#[tokio::test]
async fn a_request_on_a_connection_the_server_closed_is_sent_again() {
    let (addr, connections) = closes_after_one().await;
    let url = format!("http://{addr}/");
    let client = client().build().unwrap();
    for _ in 0..5 {
        let res = client.get(&url).await.unwrap();
        assert_eq!(res.text().await.unwrap(), "ok");
    }
    // Each request after the first went out on the pooled connection, was
    // left unanswered, and was sent again on a new one.
    assert_eq!(connections.load(Ordering::SeqCst), 5);
    // A body given whole is sent again too.
    let res = client.post(&url, "whole").await.unwrap();
    assert_eq!(res.text().await.unwrap(), "ok");

    // A streamed body is gone after the first attempt: the error is the
    // caller's.
    let (mut tx, body) = Body::channel();
    tokio::spawn(async move { tx.send_data("streamed").await });
    let err = client
        .call(Method::POST, &url, HeaderMap::new(), body)
        .await
        .err()
        .unwrap();
    assert!(err.is_unanswered() || err.is_closed(), "{err}");

    let no_retry = self::client().retry(false).build().unwrap();
    no_retry.get(&url).await.unwrap().drain().await.unwrap();
    let err = no_retry.get(&url).await.err().unwrap();
    assert!(err.is_unanswered(), "{err}");
}

/// Accepts connections and reads from them, never answering; counts the
/// connections the client closed.
async fn silent() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let closed = Arc::new(AtomicUsize::new(0));
    let count = closed.clone();
    tokio::spawn(async move {
        loop {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
                while tcp.read(&mut buf).await.is_ok_and(|n| n > 0) {}
                count.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (addr, closed)
}

#[tokio::test]
async fn each_timeout_is_told_apart() {
    let (addr, closed) = silent().await;
    let short = Duration::from_millis(200);

    let client = self::client().read_timeout(Some(short)).build().unwrap();
    let err = client.get(format!("http://{addr}/")).await.err().unwrap();
    assert!(err.is_read_timeout() && err.is_timeout(), "{err}");
    assert!(!err.is_connect());
    // The connection whose answer was given up on is closed, not kept.
    let gone = async {
        while closed.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(PROMPT, gone).await.unwrap();
    assert_eq!(client.pool_size(), (0, 0));

    let client = self::client().timeout(Some(short)).build().unwrap();
    let err = client.get(format!("http://{addr}/")).await.err().unwrap();
    assert!(err.is_request_timeout(), "{err}");

    // TLS to a server that never says hello: the handshake is part of
    // connecting.
    let client = self::client().connect_timeout(Some(short)).build().unwrap();
    let err = client.get(format!("https://{addr}/")).await.err().unwrap();
    assert!(err.is_connect_timeout() && err.is_connect(), "{err}");
    assert!(
        format!("{err:#}").starts_with("timed out connecting"),
        "{err}"
    );

    // A body that stops halfway: the reader gets the timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stalls = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 4096];
        let _ = tcp.read(&mut buf).await;
        let _ = tcp
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab")
            .await;
        let _ = tcp.read(&mut buf).await;
    });
    let client = self::client().read_timeout(Some(short)).build().unwrap();
    let mut res = client.get(format!("http://{stalls}/")).await.unwrap();
    assert_eq!(res.chunk().await.unwrap().as_deref(), Some(&b"ab"[..]));
    let err = res.chunk().await.err().unwrap();
    assert!(err.is_read_timeout(), "{err}");
    assert_eq!(client.pool_size(), (0, 0));
}

#[tokio::test]
async fn connect_failures_say_what_was_tried() {
    let client = client().build().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = client
        .get(format!("http://127.0.0.1:{port}/"))
        .await
        .err()
        .unwrap();
    assert!(
        err.is_connect() && !err.is_tls() && !err.is_timeout(),
        "{err}"
    );
    let report = err.report().unwrap();
    assert!(report.entries().iter().any(|e| e.protocol == "tcp"));
    let text = format!("{err:#}");
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("refused"),
        "{text}"
    );

    let err = client.get("nosuch://example.com/").await.err().unwrap();
    assert!(err.is_request(), "{err}");
    assert!(
        format!("{err:#}").contains("unknown scheme `nosuch`"),
        "{err}"
    );
    let err = client.get("/relative").await.err().unwrap();
    assert!(err.is_request(), "{err}");

    // A resolver that cannot do TLS never sends https in clear text.
    let base = mimic::Ctx::new()
        .with_builtins()
        .without(&mimic::tls::ENDPOINT);
    let resolver = conduit::Resolver::builder().base(base).build().unwrap();
    let plain = self::client().resolver(resolver).build().unwrap();
    let err = plain
        .get(format!("https://127.0.0.1:{port}/"))
        .await
        .err()
        .unwrap();
    assert!(
        err.is_request() && format!("{err:#}").contains("no TLS layer"),
        "{err}"
    );
}

#[tokio::test]
async fn a_certificate_that_does_not_verify_is_a_tls_error() {
    let cert = support::tls::SelfSigned::localhost();
    let (listener, port) = cert.listener(["http/1.1"]);
    let _server = Server::builder()
        .listener(listener)
        .serve(Auto::new().handler(paf::service_fn(echo)));
    let client = client().build().unwrap();
    let err = client
        .get(format!("https://127.0.0.1:{port}/"))
        .await
        .err()
        .unwrap();
    assert!(err.is_tls() && err.is_connect(), "{err}");
    assert!(format!("{err:#}").contains("tls"), "{err}");

    let tls = mimic::tls::Tls::builder()
        .add_ca_file(cert.cert_path())
        .build()
        .unwrap();
    let trusting = self::client()
        .tls(tls)
        .overrides(
            conduit::Overrides::new()
                .resolve(&support::tls::resolve(port))
                .unwrap(),
        )
        .build()
        .unwrap();
    let res = trusting
        .get(format!("https://localhost:{port}/x"))
        .await
        .unwrap();
    let tls = res.connection().tls().unwrap();
    assert_eq!(tls.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert!(res.text().await.unwrap().starts_with("GET /x"));
}

#[tokio::test]
async fn http2_requests_share_a_connection_up_to_the_stream_limit() {
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let peers = Arc::new(Mutex::new(HashSet::new()));
    let service = {
        let (entered, release, peers) = (entered.clone(), release.clone(), peers.clone());
        paf::service_fn(move |req: Request<Body>| {
            let (entered, release, peers) = (entered.clone(), release.clone(), peers.clone());
            async move {
                if let Some(c) = req.extensions().get::<Connected>() {
                    peers
                        .lock()
                        .unwrap()
                        .insert(c.peer_addr().map(|a| a.to_string()));
                }
                let waits = release.notified();
                entered.notify_one();
                if req.uri().path() == "/hold" {
                    waits.await;
                }
                Ok::<_, Infallible>(Response::new(Body::full("held")))
            }
        })
    };
    let auto = Auto::new().http2(Http2::new().max_concurrent_streams(2));
    let (addr, _server) = serve(auto, service);
    let client = client().http2_prior_knowledge().build().unwrap();

    let res = client.get(format!("http://{addr}/")).await.unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.text().await.unwrap(), "held");
    entered.notified().await;

    let mut held = Vec::new();
    for n in 1..=5usize {
        let sender = client.clone();
        held.push(tokio::spawn(async move {
            sender
                .get(format!("http://{addr}/hold"))
                .await?
                .text()
                .await
        }));
        tokio::time::timeout(PROMPT, entered.notified())
            .await
            .unwrap();
        // Two streams per connection: the third and fifth requests needed
        // a new one.
        assert_eq!(client.pool_size().1, n.div_ceil(2), "after {n} requests");
    }
    release.notify_waiters();
    for task in held {
        assert_eq!(task.await.unwrap().unwrap(), "held");
    }
    assert_eq!(peers.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_dropped_endless_feed_closes_its_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed_tx, closed) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 4096];
        let _ = tcp.read(&mut buf).await;
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nevent\n\r\n";
        tcp.write_all(head.as_bytes()).await.unwrap();
        // Nothing more, ever: wait for the client to hang up.
        let n = tcp.read(&mut buf).await.unwrap_or(0);
        let _ = closed_tx.send(n);
    });
    let client = client().build().unwrap();
    let mut res = client.get(format!("http://{addr}/events")).await.unwrap();
    assert_eq!(res.chunk().await.unwrap().as_deref(), Some(&b"event\n"[..]));
    drop(res);
    let n = tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("the client hangs up within the discard time")
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(client.pool_size(), (0, 0));
}

#[tokio::test]
async fn idle_connections_of_both_protocols_close_after_the_idle_timeout() {
    let (addr, _server) = serve(Auto::new(), paf::service_fn(echo));
    let url = format!("http://{addr}/");
    for (client, idle) in [
        (client(), (1, 0)),
        (client().http2_prior_knowledge(), (0, 1)),
    ] {
        let client = client
            .pool_idle_timeout(Some(Duration::from_millis(300)))
            .build()
            .unwrap();
        client.get(&url).await.unwrap().drain().await.unwrap();
        assert_eq!(client.pool_size(), idle);
        let emptied = async {
            while client.pool_size() != (0, 0) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(PROMPT, emptied).await.unwrap();
        // And the next request opens a new connection that works.
        assert_eq!(client.get(&url).await.unwrap().status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn the_longest_timeouts_mean_no_limit() {
    let long = Some(Duration::MAX);
    let http1 = paf::server::Http1::new()
        .head_timeout(long)
        .idle_timeout(long);
    let http2 = Http2::new()
        .idle_timeout(long)
        .handshake_timeout(long)
        .keep_alive_interval(long)
        .keep_alive_timeout(Duration::MAX);
    let auto = Auto::new().http1(http1).http2(http2);
    let (addr, _server) = serve(auto, paf::service_fn(echo));
    let conn = paf::client::conn::Builder::new()
        .http2_keep_alive_interval(long)
        .http2_keep_alive_timeout(Duration::MAX);
    for (builder, pooled) in [
        (client().connection(conn.clone()), (1, 0)),
        (client().connection(conn).http2_prior_knowledge(), (0, 1)),
    ] {
        let client = builder
            .connect_timeout(long)
            .timeout(long)
            .read_timeout(long)
            .pool_idle_timeout(long)
            .build()
            .unwrap();
        for _ in 0..2 {
            let res = client.get(format!("http://{addr}/echo")).await.unwrap();
            assert!(res.text().await.unwrap().starts_with("GET /echo"));
        }
        assert_eq!(client.pool_size(), pooled);
    }
}

#[tokio::test]
async fn requests_waiting_for_a_connection_that_fails_try_side_by_side() {
    // TLS offering h2 to a server that never answers: every request waits
    // for the first connection, which times out.
    let (addr, _closed) = silent().await;
    let limit = Duration::from_millis(300);
    let client = client().connect_timeout(Some(limit)).build().unwrap();
    let started = tokio::time::Instant::now();
    let tries: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get(format!("https://{addr}/")).await })
        })
        .collect();
    for task in tries {
        let err = task.await.unwrap().err().unwrap();
        assert!(err.is_connect_timeout(), "{err}");
    }
    // The first attempt, then the seven others at once; one after another
    // they would take eight times the limit.
    assert!(started.elapsed() < limit * 4, "{:?}", started.elapsed());
}

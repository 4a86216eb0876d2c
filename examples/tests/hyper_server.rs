//! hyper's servers on conduit's listeners through conduit::hyper::handler:
//! hyper-util's auto builder and hyper's http1 and http2 builders, TCP and
//! Unix listeners, the connection's Info in requests, a graceful shutdown
//! that lets a request in flight finish and closes idle connections, and
//! silent connections reclaimed at the connection limit; and curl over
//! TLS, with HTTP/2 or HTTP/1.1 by ALPN.

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use conduit::hyper::{Connector, connect_error};
use conduit::listener::UnixListener;
use conduit::serve::Server;
use conduit::{Destination, Resolver};
use http::{Request, Response, StatusCode, Version};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use mimic::Info;
use testkit::TempDir;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use support::{Got, client, get, port, tcp};

/// `/slow` says it started through `started`, then answers after 300 ms;
/// `/peer` answers with the peer's address from the request's Info; other
/// paths answer at once with the version.
fn service(
    started: Arc<Notify>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send,
> + Clone
+ Send
+ Sync
+ 'static {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let started = started.clone();
        async move {
            if req.uri().path() == "/slow" {
                started.notify_one();
                tokio::time::sleep(Duration::from_millis(300)).await;
                return Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("slow done"))));
            }
            if req.uri().path() == "/peer" {
                let info = req
                    .extensions()
                    .get::<Arc<Info>>()
                    .expect("the connection's Info");
                let drain = req.extensions().get::<conduit::serve::Drain>();
                assert!(drain.is_some_and(|drain| !drain.is_signaled()));
                let peer = info
                    .peer_addr()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                return Ok(Response::new(Full::new(Bytes::from(peer))));
            }
            let text = format!("{:?}", req.version());
            Ok(Response::new(Full::new(Bytes::from(text))))
        }
    })
}

/// hyper-util's auto builder with a timer, as `handler`'s docs ask.
fn auto_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    builder
}

#[tokio::test]
async fn auto_serves_http1_and_h2c_on_tcp_and_unix() {
    let dir = TempDir::new("hyper-server-auto");
    let socket = dir.join("hyper.sock");
    let server = Server::builder()
        .listener(tcp())
        .listener(UnixListener::bind(&socket).expect("bind the socket"))
        .serve(conduit::hyper::handler(
            auto_builder(),
            service(Arc::default()),
        ));
    let uri = format!("http://{}/", server.local_addrs()[0]);

    let Got {
        status,
        version,
        body,
        ..
    } = get(&client(Connector::new(), false), &uri).await;
    assert_eq!(
        (status, version, body.as_str()),
        (StatusCode::OK, Version::HTTP_11, "HTTP/1.1")
    );
    let Got { version, body, .. } = get(&client(Connector::new(), true), &uri).await;
    assert_eq!((version, body.as_str()), (Version::HTTP_2, "HTTP/2.0"));

    let resolver = Resolver::builder()
        .static_host("hyper.local", Destination::Unix(socket.clone()))
        .build()
        .expect("the resolver builds");
    let Got { body, .. } = get(
        &client(Connector::with_resolver(resolver), false),
        "http://hyper.local/",
    )
    .await;
    assert_eq!(body, "HTTP/1.1");

    let report = server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.aborted, 0);
    assert!(!socket.exists(), "the socket file is removed");
}

#[tokio::test]
async fn hypers_own_builders_serve_too() {
    let mut http1 = http1::Builder::new();
    http1.timer(TokioTimer::new());
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    http2.timer(TokioTimer::new());
    let h1 = Server::builder()
        .listener(tcp())
        .serve(conduit::hyper::handler(http1, service(Arc::default())));
    let h2 = Server::builder()
        .listener(tcp())
        .serve(conduit::hyper::handler(http2, service(Arc::default())));
    let Got { version, .. } = get(
        &client(Connector::new(), false),
        &format!("http://{}/", h1.local_addrs()[0]),
    )
    .await;
    assert_eq!(version, Version::HTTP_11);
    let Got { version, .. } = get(
        &client(Connector::new(), true),
        &format!("http://{}/", h2.local_addrs()[0]),
    )
    .await;
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(h1.shutdown(Duration::from_secs(5)).await.aborted, 0);
    assert_eq!(h2.shutdown(Duration::from_secs(5)).await.aborted, 0);
}

#[tokio::test]
async fn requests_carry_their_connections_info() {
    let server = Server::builder()
        .listener(tcp())
        .serve(conduit::hyper::handler(
            auto_builder(),
            service(Arc::default()),
        ));
    for h2 in [false, true] {
        let client = client(Connector::new(), h2);
        let uri = format!("http://{}/peer", server.local_addrs()[0]);
        let Got { body, info, .. } = get(&client, &uri).await;
        let local = info.local_addr().expect("a local address").to_string();
        assert_eq!(body, local, "the server saw this client");
    }
    assert_eq!(server.shutdown(Duration::from_secs(5)).await.aborted, 0);
}

/// Shutdown begins while `/slow` is being answered and the client, still
/// alive, keeps its connections: the answer arrives whole, every
/// connection ends well before the deadline without being aborted, and a
/// later request cannot reuse an old connection.
async fn in_flight_request_finishes(h2: bool) {
    let started = Arc::new(Notify::new());
    let server = Server::builder()
        .listener(tcp())
        .serve(conduit::hyper::handler(
            auto_builder(),
            service(started.clone()),
        ));
    let addr = server.local_addrs()[0].to_string();
    let client = Arc::new(client(Connector::new(), h2));
    let slow = {
        let (client, uri) = (client.clone(), format!("http://{addr}/slow"));
        tokio::spawn(async move { get(&client, &uri).await })
    };
    started.notified().await;
    // Over HTTP/1 a second connection, idle in the client's pool once
    // answered; over HTTP/2 a second stream on the one connection.
    let quick = get(&client, &format!("http://{addr}/")).await.info;

    let began = Instant::now();
    let report = server.shutdown(Duration::from_secs(10)).await;
    let elapsed = began.elapsed();
    let Got {
        body,
        connection,
        info,
        ..
    } = slow.await.expect("the request task");
    assert_eq!(body, "slow done");
    assert_eq!(report.aborted, 0, "{report:?}");
    assert_eq!(report.finished, if h2 { 1 } else { 2 }, "{report:?}");
    assert!(
        elapsed < Duration::from_secs(3),
        "shutdown took {elapsed:?}"
    );
    match h2 {
        true => assert_eq!(info.local_addr(), quick.local_addr(), "one connection"),
        false => assert_eq!(connection.as_deref(), Some("close")),
    }
    // Every connection is gone: a new request must connect, and cannot.
    let err = client
        .get(format!("http://{addr}/").parse().expect("a URI"))
        .await
        .expect_err("the server is gone");
    assert!(
        connect_error(&err).is_some(),
        "not an old connection: {err:?}"
    );
}

#[tokio::test]
async fn graceful_shutdown_lets_an_http1_request_finish() {
    in_flight_request_finishes(false).await;
}

#[tokio::test]
async fn graceful_shutdown_lets_an_h2_request_finish() {
    in_flight_request_finishes(true).await;
}

/// Waits until `server` counts `count` connections.
async fn until_active(server: &Server, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.active_connections() != count {
        assert!(
            Instant::now() < deadline,
            "{count} connections never opened"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_silent_connection_does_not_lock_out_a_client() {
    let server =
        Server::builder()
            .listener(tcp())
            .max_connections(1)
            .serve(conduit::hyper::handler(
                auto_builder(),
                service(Arc::default()),
            ));
    let addr = server.local_addrs()[0].to_string();
    let mut silent = TcpStream::connect(&addr).await.expect("connect");
    until_active(&server, 1).await;

    let client = client(Connector::new(), false);
    let answered = tokio::time::timeout(Duration::from_secs(2), async {
        get(&client, &format!("http://{addr}/")).await
    })
    .await
    .expect("answered within 2 s: the silent connection was reclaimed");
    assert_eq!(answered.body, "HTTP/1.1");
    let mut buf = [0; 16];
    assert!(
        matches!(silent.read(&mut buf).await, Ok(0) | Err(_)),
        "closed"
    );
    drop(client);
    assert_eq!(server.shutdown(Duration::from_secs(5)).await.aborted, 0);
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_first_byte_timeout() {
    let handler = conduit::hyper::handler_with_timeout(
        auto_builder(),
        service(Arc::default()),
        Duration::from_millis(200),
    );
    let server = Server::builder().listener(tcp()).serve(handler);
    let began = Instant::now();
    let mut silent = TcpStream::connect(server.local_addrs()[0].to_string())
        .await
        .expect("connect");
    let mut buf = [0; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf))
        .await
        .expect("closed before 5 s");
    assert!(matches!(read, Ok(0) | Err(_)), "closed, not {read:?}");
    assert!(began.elapsed() >= Duration::from_millis(200));
    until_active(&server, 0).await;
    assert_eq!(server.shutdown(Duration::from_secs(5)).await.aborted, 0);
}

/// curl, an independent client, over TLS: hyper-util's auto builder on
/// conduit's TLS listener answers HTTP/2 and HTTP/1.1 as ALPN chose.
#[tokio::test]
async fn curl_gets_h2_and_http1_over_tls_by_alpn() {
    let Some(curl) = testkit::peer_tool("curl") else {
        return;
    };
    let dir = TempDir::new("hyper-server-curl");
    let (listener, cert_pem) = support::tls_listener(&["h2", "http/1.1"]);
    let ca = dir.join("cert.pem");
    std::fs::write(&ca, cert_pem).expect("write the certificate");
    let server = Server::builder()
        .listener(listener)
        .serve(conduit::hyper::handler(
            auto_builder(),
            service(Arc::default()),
        ));
    let port = port(&server);
    for (flag, version, body) in [
        ("--http2", "2", "HTTP/2.0"),
        ("--http1.1", "1.1", "HTTP/1.1"),
    ] {
        let out = tokio::process::Command::new(&curl)
            .args(["-sS", "--max-time", "10", flag, "--cacert"])
            .arg(&ca)
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(["-w", "\n%{http_version}"])
            .arg(format!("https://localhost:{port}/"))
            .output()
            .await
            .expect("curl runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "curl {flag}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout, format!("{body}\n{version}"), "curl {flag}");
    }
    assert_eq!(server.shutdown(Duration::from_secs(5)).await.aborted, 0);
}

//! The client against a real nginx. Skipped (loudly) when nginx is not
//! installed; `PAF_REQUIRE_PEERS=1` makes that a failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::time::Duration;

use http::{Method, Request, StatusCode};
use paf::Body;
use paf::client::conn::{Builder, SendRequest};
use support::nginx::{self, Nginx};
use tokio::task::JoinHandle;

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("test timed out")
}

async fn connect(
    nginx: &Nginx,
    builder: Builder,
) -> (SendRequest, JoinHandle<Result<(), paf::Error>>) {
    let tcp = tokio::net::TcpStream::connect(nginx.addr()).await.unwrap();
    let (sender, connection) = builder.handshake(tcp);
    (sender, tokio::spawn(connection))
}

fn request(method: Method, nginx: &Nginx, path: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1:{}{path}", nginx.port))
        .body(Body::empty())
        .unwrap()
}

/// `(connection number, requests on it)` from `/whoami`.
async fn whoami(sender: &mut SendRequest, nginx: &Nginx) -> (u64, u64) {
    let res = sender
        .send(request(Method::GET, nginx, "/whoami"))
        .await
        .unwrap();
    let text = res.into_body().text().await.unwrap();
    let (connection, requests) = text.trim().split_once(' ').unwrap();
    (connection.parse().unwrap(), requests.parse().unwrap())
}

#[tokio::test]
async fn a_static_file_arrives_intact() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let (mut sender, _conn) = connect(&nginx, Builder::new()).await;
        let res = sender
            .send(request(Method::GET, &nginx, "/big.bin"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-length"], "1048576");
        assert!(!res.headers().contains_key("transfer-encoding"));
        let body = res.into_body().bytes().await.unwrap();
        assert_eq!(body.len(), 1024 * 1024);
        assert!(body == nginx::big_file(), "the body differs from the file");

        let res = sender
            .send(request(Method::GET, &nginx, "/hello.txt"))
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "text/plain");
        assert_eq!(res.into_body().text().await.unwrap(), nginx::HELLO);
    })
    .await;
}

#[tokio::test]
async fn a_chunked_response_is_decoded() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let (mut sender, _conn) = connect(&nginx, Builder::new()).await;
        for _ in 0..2 {
            let res = sender
                .send(request(Method::GET, &nginx, "/ssi/page.shtml"))
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["transfer-encoding"], "chunked");
            assert!(!res.headers().contains_key("content-length"));
            assert_eq!(res.into_body().text().await.unwrap(), nginx::SSI_PAGE);
        }
        assert!(sender.is_ready());
    })
    .await;
}

#[tokio::test]
async fn several_requests_share_one_connection() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let (mut sender, conn) = connect(&nginx, Builder::new()).await;
        let (connection, first) = whoami(&mut sender, &nginx).await;
        for path in ["/hello.txt", "/big.bin", "/ssi/page.shtml", "/missing"] {
            let res = sender
                .send(request(Method::GET, &nginx, path))
                .await
                .unwrap();
            res.into_body().drain().await.unwrap();
        }
        assert_eq!(whoami(&mut sender, &nginx).await, (connection, first + 5));
        drop(sender);
        conn.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let (sender, _conn) = connect(&nginx, Builder::new().pipeline(true)).await;
        let requests = (0..8).map(|_| {
            let mut sender = sender.clone();
            let nginx = &nginx;
            async move { whoami(&mut sender, nginx).await }
        });
        let answers = futures_util::future::join_all(requests).await;
        let connection = answers[0].0;
        let counts: Vec<u64> = answers
            .iter()
            .map(|&(c, n)| {
                assert_eq!(c, connection);
                n
            })
            .collect();
        assert_eq!(counts, (1..=8).collect::<Vec<u64>>());
    })
    .await;
}

#[tokio::test]
async fn head_has_the_length_and_no_body() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let (mut sender, _conn) = connect(&nginx, Builder::new()).await;
        let res = sender
            .send(request(Method::HEAD, &nginx, "/big.bin"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-length"], "1048576");
        assert!(res.into_body().bytes().await.unwrap().is_empty());
        // The connection is in step for the next response.
        let res = sender
            .send(request(Method::GET, &nginx, "/hello.txt"))
            .await
            .unwrap();
        assert_eq!(res.into_body().text().await.unwrap(), nginx::HELLO);
    })
    .await;
}

#[tokio::test]
async fn a_missing_file_is_404_and_keeps_the_connection() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let (mut sender, _conn) = connect(&nginx, Builder::new()).await;
        let res = sender
            .send(request(Method::GET, &nginx, "/missing"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let page = res.into_body().text().await.unwrap();
        assert!(page.contains("404 Not Found"), "{page}");
        sender.ready().await.unwrap();
        let res = sender
            .send(request(Method::GET, &nginx, "/hello.txt"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn an_unread_body_is_dropped_without_harm() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let (mut sender, _conn) = connect(&nginx, Builder::new()).await;
        // Small enough to be discarded: the connection stays.
        let res = sender
            .send(request(Method::GET, &nginx, "/ssi/page.shtml"))
            .await
            .unwrap();
        drop(res);
        let (connection, _) = whoami(&mut sender, &nginx).await;
        // Too large: the connection closes, and a new one takes over.
        let res = sender
            .send(request(Method::GET, &nginx, "/big.bin"))
            .await
            .unwrap();
        drop(res);
        assert!(sender.ready().await.unwrap_err().is_closed());
        let (mut sender, _conn) = connect(&nginx, Builder::new()).await;
        let (other, requests) = whoami(&mut sender, &nginx).await;
        assert_ne!(other, connection);
        assert_eq!(requests, 1);
    })
    .await;
}

/// A TLS flow to nginx through mimic, offering `alpn`, trusting only
/// nginx's certificate.
async fn tls_flow(nginx: &Nginx, alpn: &[&[u8]]) -> mimic::Flow {
    use mimic::{Ctx, keys, tls};
    let trust = tls::Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(nginx.ca_pem().as_bytes().to_vec())
        .build()
        .unwrap();
    Ctx::new()
        .with_builtins()
        .with(&keys::HOST, "127.0.0.1".to_owned())
        .with(&keys::PORT, nginx.tls_port)
        .with(&tls::SERVER_NAME, "localhost".to_owned())
        .with(&tls::ALPN, alpn.iter().map(|p| p.to_vec()).collect())
        .with(&tls::CONFIG, trust.config().clone())
        .resolve()
        .await
        .unwrap()
}

fn tls_request(nginx: &Nginx, path: &str) -> Request<Body> {
    Request::get(format!("https://localhost:{}{path}", nginx.tls_port))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn over_tls_alpn_h2_gives_http2_and_files_arrive_intact() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let flow = tls_flow(&nginx, &[b"h2", b"http/1.1"]).await;
        let (sender, connection) = Builder::new().handshake_flow(flow);
        let _conn = tokio::spawn(connection);
        assert_eq!(sender.version(), http::Version::HTTP_2);

        // Concurrent streams on the one connection.
        let mut tasks = Vec::new();
        for path in ["/big.bin", "/hello.txt", "/big.bin", "/ssi/page.shtml"] {
            let mut sender = sender.clone();
            let req = tls_request(&nginx, path);
            tasks.push(tokio::spawn(async move {
                let res = sender.send(req).await.unwrap();
                assert_eq!(res.version(), http::Version::HTTP_2);
                assert_eq!(res.status(), StatusCode::OK);
                res.into_body().bytes().await.unwrap()
            }));
        }
        let mut bodies = Vec::new();
        for task in tasks {
            bodies.push(task.await.unwrap());
        }
        assert_eq!(bodies[0], nginx::big_file());
        assert_eq!(bodies[1], nginx::HELLO.as_bytes());
        assert_eq!(bodies[2], nginx::big_file());
        assert_eq!(bodies[3], nginx::SSI_PAGE.as_bytes());

        // One connection carried them all, and it is still usable.
        let mut sender = sender.clone();
        let res = sender.send(tls_request(&nginx, "/missing")).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(!sender.is_closed());
        assert!(sender.max_concurrent_requests() > 1);
    })
    .await;
}

#[tokio::test]
async fn over_tls_alpn_http1_gives_http1() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let flow = tls_flow(&nginx, &[b"http/1.1"]).await;
        let (mut sender, connection) = Builder::new().handshake_flow(flow);
        let _conn = tokio::spawn(connection);
        assert_eq!(sender.version(), http::Version::HTTP_11);
        let res = sender
            .send(tls_request(&nginx, "/hello.txt"))
            .await
            .unwrap();
        assert_eq!(res.version(), http::Version::HTTP_11);
        assert_eq!(res.into_body().text().await.unwrap(), nginx::HELLO);
    })
    .await;
}

#[tokio::test]
async fn an_h2_head_request_has_the_length_and_no_body() {
    let Some(nginx) = Nginx::start() else { return };
    within(async {
        let flow = tls_flow(&nginx, &[b"h2"]).await;
        let (mut sender, connection) = Builder::new().handshake_flow(flow);
        let _conn = tokio::spawn(connection);
        let mut req = tls_request(&nginx, "/big.bin");
        *req.method_mut() = Method::HEAD;
        let res = sender.send(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-length"], "1048576");
        assert!(res.into_body().bytes().await.unwrap().is_empty());
    })
    .await;
}

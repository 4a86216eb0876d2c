//! The client against a real nginx. Skipped (loudly) when nginx is not
//! installed; `PAF_REQUIRE_PEERS=1` makes that a failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::future::Future;
use std::time::Duration;

use http::{Method, Request, StatusCode};
use paf::Body;
use paf::client::{Builder, SendRequest};
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

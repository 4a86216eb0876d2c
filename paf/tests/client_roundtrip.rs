//! The client against paf's own server: whole exchanges, both ways, on a
//! multi-threaded runtime so that the two ends really run at once.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use paf::Body;
use paf::client::conn::{Builder, SendRequest};
use paf::server::{Http1, Serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("test timed out")
}

/// Echoes the request body as it arrives; `/size/<n>` answers `n` bytes.
async fn handler(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    if let Some(size) = req.uri().path().strip_prefix("/size/") {
        let size = size.parse().unwrap_or(0);
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        return Ok(Response::new(Body::full(body)));
    }
    let path = HeaderValue::from_str(req.uri().path()).unwrap();
    let mut res = Response::new(req.into_body());
    res.headers_mut().insert("x-path", path);
    Ok(res)
}

/// A client connected to paf's server through an in-memory pipe of `capacity` bytes.
fn serve(builder: Builder, http: Http1, capacity: usize) -> SendRequest {
    let (client, server) = tokio::io::duplex(capacity);
    tokio::spawn(http.serve_connection(server, paf::service_fn(handler)));
    let (sender, connection) = builder.handshake(client);
    tokio::spawn(connection);
    sender
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_streamed_upload_is_echoed_piece_by_piece() {
    within(async {
        let mut sender = serve(Builder::new(), Http1::new(), 64 * 1024);
        let (mut tx, body) = Body::channel();
        tx.send_data("piece 0;").await.unwrap();
        let req = Request::post("http://a.example/echo").body(body).unwrap();
        let res = sender.send(req).await.unwrap();
        assert_eq!(res.headers()["x-path"], "/echo");
        assert_eq!(res.headers()["transfer-encoding"], "chunked");
        let mut echo = res.into_body();
        // Each piece comes back before the next one is sent: both bodies
        // stream at once on the one connection.
        for i in 1..=5 {
            let frame = echo.frame().await.unwrap().unwrap();
            assert_eq!(frame.into_data().unwrap(), format!("piece {};", i - 1));
            tx.send_data(format!("piece {i};")).await.unwrap();
        }
        drop(tx);
        assert_eq!(echo.text().await.unwrap(), "piece 5;");
        sender.ready().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_streamed_echo_goes_on_when_the_server_will_close() {
    within(async {
        let mut sender = serve(Builder::new(), Http1::new().keep_alive(false), 64 * 1024);
        let (mut tx, body) = Body::channel();
        tx.send_data("one;").await.unwrap();
        let res = sender
            .send(Request::post("http://a.example/").body(body).unwrap())
            .await;
        let res = res.unwrap();
        assert_eq!(res.headers()["connection"], "close");
        assert!(sender.is_closed());
        let mut echo = res.into_body();
        assert_eq!(
            echo.frame().await.unwrap().unwrap().into_data().unwrap(),
            "one;"
        );
        tx.send_data("two;").await.unwrap();
        drop(tx);
        assert_eq!(echo.text().await.unwrap(), "two;");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn large_bodies_cross_a_small_pipe_both_ways() {
    within(async {
        let mut sender = serve(Builder::new(), Http1::new(), 4096);
        let upload: Vec<u8> = (0..1024 * 1024).map(|i| (i % 253) as u8).collect();
        let upload = Bytes::from(upload);
        for _ in 0..2 {
            let req = Request::put("http://a.example/echo")
                .body(Body::full(upload.clone()))
                .unwrap();
            let res = sender.send(req).await.unwrap();
            assert_eq!(res.into_body().bytes().await.unwrap(), upload);
        }
        let res = sender.send(
            Request::get("http://a.example/size/3000000")
                .body(Body::empty())
                .unwrap(),
        );
        let res = res.await.unwrap();
        assert_eq!(res.headers()["content-length"], "3000000");
        let body = res.into_body().bytes().await.unwrap();
        assert_eq!(body.len(), 3_000_000);
        assert!(body.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_tcp_connection_carries_many_requests() {
    within(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(Http1::new().serve_connection(tcp, paf::service_fn(handler)));
            }
        });
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = paf::client::conn::handshake(tcp);
        let connection = tokio::spawn(connection);
        for i in 0..3 {
            let req = Request::post(format!("http://{addr}/{i}"))
                .body(Body::full(format!("request {i}")))
                .unwrap();
            let res = sender.send(req).await.unwrap();
            assert_eq!(res.headers()["x-path"], format!("/{i}").as_str());
            assert_eq!(
                res.into_body().text().await.unwrap(),
                format!("request {i}")
            );
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        drop(sender);
        connection.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_pipelined_requests_come_back_in_order() {
    within(async {
        let sender = serve(Builder::new().pipeline(true), Http1::new(), 64 * 1024);
        let requests = (0..50).map(|i| {
            let mut sender = sender.clone();
            async move {
                let req = Request::post(format!("http://a.example/{i}"))
                    .body(Body::full(format!("body {i}")))
                    .unwrap();
                let res = sender.send(req).await.unwrap();
                assert_eq!(res.headers()["x-path"], format!("/{i}").as_str());
                res.into_body().text().await.unwrap()
            }
        });
        let bodies = futures_util::future::join_all(requests).await;
        for (i, body) in bodies.into_iter().enumerate() {
            assert_eq!(body, format!("body {i}"));
        }
        assert!(sender.is_ready());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_without_keep_alive_closes_after_each_response() {
    within(async {
        let mut sender = serve(Builder::new(), Http1::new().keep_alive(false), 64 * 1024);
        let req = Request::get("http://a.example/size/5")
            .body(Body::empty())
            .unwrap();
        let res = sender.send(req).await.unwrap();
        assert_eq!(res.headers()["connection"], "close");
        assert!(sender.is_closed());
        assert_eq!(res.into_body().bytes().await.unwrap().len(), 5);
        let req = Request::get("http://a.example/size/5")
            .body(Body::empty())
            .unwrap();
        assert!(sender.send(req).await.unwrap_err().is_closed());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upgrade_round_trip() {
    within(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let upgrade = paf::service_fn(|mut req: Request<Body>| async move {
            let on_upgrade = paf::upgrade::on(&mut req);
            tokio::spawn(async move {
                let mut flow = on_upgrade.await.unwrap();
                let mut buf = [0; 64];
                while let Ok(n @ 1..) = flow.read(&mut buf).await {
                    flow.write_all(&buf[..n]).await.unwrap();
                }
            });
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            res.headers_mut()
                .insert("upgrade", HeaderValue::from_static("echo"));
            res.headers_mut()
                .insert("connection", HeaderValue::from_static("upgrade"));
            Ok::<_, Infallible>(res)
        });
        tokio::spawn(Http1::new().serve_connection(server, upgrade));
        let (mut sender, connection) = paf::client::conn::handshake(client);
        let connection = tokio::spawn(connection);
        let req = Request::get("http://a.example/ws")
            .header("connection", "upgrade")
            .header("upgrade", "echo")
            .body(Body::empty())
            .unwrap();
        let mut res = sender.send(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
        let mut flow = paf::upgrade::on(&mut res).await.unwrap();
        connection.await.unwrap().unwrap();
        flow.write_all(b"hello through the switch").await.unwrap();
        let mut buf = [0; 24];
        flow.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello through the switch");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_requests_on_one_connection() {
    within(async {
        let mut sender = serve(Builder::new(), Http1::new(), 64 * 1024);
        for i in 0..1000 {
            let req = Request::post("http://a.example/e")
                .body(Body::full(format!("{i}")))
                .unwrap();
            let res = sender.send(req).await.unwrap();
            assert_eq!(res.into_body().text().await.unwrap(), format!("{i}"));
        }
        assert!(sender.is_ready());
    })
    .await;
}

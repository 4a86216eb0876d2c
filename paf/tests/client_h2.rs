//! The HTTP/2 client against the HTTP/2 server, over TCP: multiplexing,
//! streaming both ways, trailers, the stream limit and GOAWAY.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use conduit::listener::TcpListener;
use conduit::serve::Server;
use http::{HeaderMap, Request, Response, StatusCode, Version};
use paf::Body;
use paf::client::conn::{Builder, SendRequest};
use paf::server::{Auto, Connected, Http2, Serve};
use tokio::sync::Notify;

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("test timed out")
}

fn start<S>(auto: Auto, service: S) -> (Server, SocketAddr)
where
    S: paf::server::HttpService<Body> + Clone + Sync,
{
    let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = tcp.local_socket_addr();
    let server = Server::builder().listener(tcp).serve(auto.handler(service));
    (server, addr)
}

async fn connect(addr: SocketAddr) -> SendRequest {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = Builder::new().http2().handshake(tcp);
    tokio::spawn(connection);
    sender
}

/// Answers with the request body, streamed back as it arrives, trailers
/// included; the head says the protocol and the client's port.
async fn echo(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let version = format!("{:?}", req.version());
    let port = req
        .extensions()
        .get::<Connected>()
        .and_then(Connected::peer_addr)
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut res = Response::new(req.into_body());
    res.headers_mut()
        .insert("x-version", version.parse().unwrap());
    res.headers_mut().insert("x-peer", port.parse().unwrap());
    Ok(res)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_goes_out_as_http2_with_prior_knowledge() {
    let (server, addr) = start(Auto::new(), paf::service_fn(echo));
    within(async {
        let mut sender = connect(addr).await;
        assert_eq!(sender.version(), Version::HTTP_2);
        // No scheme or authority in the URI: the host field stands in.
        let req = Request::post("/echo")
            .header("host", addr.to_string())
            .body(Body::full("ping"))
            .unwrap();
        let res = sender.send(req).await.unwrap();
        assert_eq!(res.version(), Version::HTTP_2);
        assert_eq!(res.headers()["x-version"], "HTTP/2.0");
        assert_eq!(res.into_body().text().await.unwrap(), "ping");
    })
    .await;
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_requests_share_one_connection() {
    let (server, addr) = start(Auto::new(), paf::service_fn(echo));
    within(async {
        let sender = connect(addr).await;
        let mut tasks = Vec::new();
        for i in 0..100 {
            let mut sender = sender.clone();
            tasks.push(tokio::spawn(async move {
                let req = Request::post(format!("http://{addr}/{i}"))
                    .body(Body::full(format!("request {i}")))
                    .unwrap();
                let res = sender.send(req).await.unwrap();
                let peer = res.headers()["x-peer"].to_str().unwrap().to_owned();
                (peer, res.into_body().text().await.unwrap())
            }));
        }
        let mut peers = std::collections::HashSet::new();
        for (i, task) in tasks.into_iter().enumerate() {
            let (peer, text) = task.await.unwrap();
            assert_eq!(text, format!("request {i}"));
            peers.insert(peer);
        }
        assert_eq!(peers.len(), 1, "all on one connection: {peers:?}");
    })
    .await;
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_stream_both_ways_with_trailers() {
    let (server, addr) = start(Auto::new(), paf::service_fn(echo));
    within(async {
        let mut sender = connect(addr).await;
        let (mut tx, body) = Body::channel();
        let req = Request::post(format!("http://{addr}/")).body(body).unwrap();
        // The echo only flows while the response is read, so the upload
        // runs alongside. 8 MiB in 64 KiB pieces: more than every window, so
        // it only gets through if both sides release capacity as they read.
        let upload = tokio::spawn(async move {
            let piece = Bytes::from(vec![7u8; 64 * 1024]);
            for _ in 0..128 {
                tx.send_data(piece.clone()).await.unwrap();
            }
            let mut trailers = HeaderMap::new();
            trailers.insert("x-checksum", "done".parse().unwrap());
            tx.send_trailers(trailers).await.unwrap();
        });
        let res = sender.send(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let collected = res.into_body().collect().await.unwrap();
        upload.await.unwrap();
        assert_eq!(collected.trailers().unwrap()["x-checksum"], "done");
        let bytes = collected.to_bytes();
        assert_eq!(bytes.len(), 8 * 1024 * 1024);
        assert!(bytes.iter().all(|&b| b == 7));
    })
    .await;
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_limit_and_active_requests_are_reported() {
    let release = Arc::new(Notify::new());
    let started = Arc::new(AtomicUsize::new(0));
    let service = {
        let (release, started) = (release.clone(), started.clone());
        paf::service_fn(move |_req: Request<Body>| {
            let (release, started) = (release.clone(), started.clone());
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                release.notified().await;
                Ok::<_, Infallible>(Response::new(Body::full("done")))
            }
        })
    };
    let auto = Auto::new().http2(Http2::new().max_concurrent_streams(3));
    let (server, addr) = start(auto, service);
    within(async {
        let mut sender = connect(addr).await;
        sender.ready().await.unwrap();
        // The server's SETTINGS arrive with its first frames.
        while sender.max_concurrent_requests() != 3 {
            tokio::task::yield_now().await;
        }
        assert!(sender.is_ready());
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let mut sender = sender.clone();
            let req = Request::get(format!("http://{addr}/"))
                .body(Body::empty())
                .unwrap();
            tasks.push(tokio::spawn(async move { sender.send(req).await }));
        }
        while started.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(sender.active_requests(), 3);
        assert!(!sender.is_ready(), "no stream to spare");
        release.notify_waiters();
        for task in tasks {
            let res = task.await.unwrap().unwrap();
            assert_eq!(res.into_body().text().await.unwrap(), "done");
        }
        assert_eq!(sender.active_requests(), 0);
        assert!(sender.is_ready());
    })
    .await;
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goaway_closes_the_sender_and_the_request_in_progress_completes() {
    let release = Arc::new(Notify::new());
    let entered = Arc::new(Notify::new());
    let service = {
        let (release, entered) = (release.clone(), entered.clone());
        paf::service_fn(move |_req: Request<Body>| {
            let (release, entered) = (release.clone(), entered.clone());
            async move {
                entered.notify_one();
                release.notified().await;
                Ok::<_, Infallible>(Response::new(Body::full("finished")))
            }
        })
    };
    let (server, addr) = start(Auto::new(), service);
    within(async {
        let sender = connect(addr).await;
        let mut first = sender.clone();
        let req = Request::get(format!("http://{addr}/"))
            .body(Body::empty())
            .unwrap();
        let in_progress = tokio::spawn(async move { first.send(req).await });
        entered.notified().await;

        let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(10)));
        while !sender.is_closed() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut late = sender.clone();
        let req = Request::get(format!("http://{addr}/"))
            .body(Body::empty())
            .unwrap();
        let err = late.send(req).await.unwrap_err();
        assert!(err.is_closed(), "{err}");

        release.notify_one();
        let res = in_progress.await.unwrap().unwrap();
        assert_eq!(res.into_body().text().await.unwrap(), "finished");
        let report = shutdown.await.unwrap();
        assert_eq!(report.aborted, 0, "{report:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prior_knowledge_works_over_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("paf-h2-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("h2.sock");
    let unix = conduit::listener::UnixListener::bind(&path).unwrap();
    let server = Server::builder()
        .listener(unix)
        .serve(Auto::new().handler(paf::service_fn(echo)));
    within(async {
        let stream = tokio::net::UnixStream::connect(&path).await.unwrap();
        let (mut sender, connection) = Builder::new().http2().handshake(stream);
        tokio::spawn(connection);
        let req = Request::post("http://localhost/over-unix")
            .body(Body::full("through the socket"))
            .unwrap();
        let res = sender.send(req).await.unwrap();
        assert_eq!(res.version(), Version::HTTP_2);
        assert_eq!(res.headers()["x-version"], "HTTP/2.0");
        assert_eq!(res.into_body().text().await.unwrap(), "through the socket");
    })
    .await;
    server.shutdown(Duration::from_secs(1)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

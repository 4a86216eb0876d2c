//! `Client::pipeline`: a batch of requests on one connection, pipelined
//! over HTTP/1.1, multiplexed over HTTP/2, answered in order.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::time::Duration;

use conduit::listener::TcpListener;
use conduit::serve::Server;
use futures_util::StreamExt;
use http::{Request, Response, Version};
use paf::client::Proxies;
use paf::server::{Auto, Serve};
use paf::{Body, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client() -> paf::ClientBuilder {
    Client::builder().proxies(Proxies::none())
}

fn gets(base: &str, paths: &[&str]) -> Vec<Request<Body>> {
    let get = |path: &&str| Request::get(format!("{base}{path}")).body(Body::empty());
    paths.iter().map(get).collect::<Result<_, _>>().unwrap()
}

/// A server that answers nothing until it has read all `count` request
/// heads on one connection: only a pipelining client gets answers.
async fn waits_for_all(count: usize) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while seen.windows(4).filter(|w| w == b"\r\n\r\n").count() < count {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the client closed before sending every request");
            seen.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8(seen).unwrap();
        let mut answers = String::new();
        for line in text.lines().filter(|l| l.starts_with("GET ")) {
            let path = line.split(' ').nth(1).unwrap();
            answers.push_str(&format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{path}",
                path.len()
            ));
        }
        stream.write_all(answers.as_bytes()).await.unwrap();
        let _ = stream.read(&mut buf).await;
    });
    addr
}

#[tokio::test]
async fn http1_requests_go_out_together_and_answers_come_in_order() {
    let addr = waits_for_all(3).await;
    let client = client().build().unwrap();
    let batch = gets(&format!("http://{addr}"), &["/a", "/b", "/c"]);
    let mut responses = client.pipeline(batch);
    let mut got = Vec::new();
    let next = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(res) = responses.next().await {
            let res = res.unwrap();
            assert_eq!(res.version(), Version::HTTP_11);
            got.push(res.text().await.unwrap());
        }
    });
    next.await.expect("answered: the requests were pipelined");
    assert_eq!(got, ["/a", "/b", "/c"]);
    // The batch's connection is its own: the pool is untouched.
    assert_eq!(client.pool_size(), (0, 0));
}

async fn echo_path(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Body::full(req.uri().path().to_string())))
}

#[tokio::test]
async fn http2_requests_share_one_connection_and_keep_their_order() {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = tcp.local_socket_addr();
    let _server = Server::builder()
        .listener(tcp)
        .serve(Auto::new().handler(paf::service_fn(echo_path)));
    let client = client().http2_prior_knowledge().build().unwrap();
    let paths = ["/1", "/2", "/3", "/4"];
    let responses: Vec<_> = client
        .pipeline(gets(&format!("http://{addr}"), &paths))
        .collect()
        .await;
    let mut peers = Vec::new();
    for (res, path) in responses.into_iter().zip(paths) {
        let res = res.unwrap();
        assert_eq!(res.version(), Version::HTTP_2);
        peers.push(res.connection().local_addr().cloned());
        assert_eq!(res.text().await.unwrap(), path);
    }
    peers.dedup();
    assert_eq!(peers.len(), 1, "one connection: {peers:?}");
}

#[tokio::test]
async fn a_batch_goes_to_one_origin() {
    let client = client().build().unwrap();
    let mut batch = gets("http://127.0.0.1:1", &["/a"]);
    batch.extend(gets("http://127.0.0.1:2", &["/b"]));
    let results: Vec<_> = client.pipeline(batch).collect().await;
    assert_eq!(results.len(), 1);
    let err = results.into_iter().next().unwrap().unwrap_err();
    assert!(err.is_request(), "{err:?}");
    assert_eq!(
        format!("{err:#}"),
        "invalid request: `http://127.0.0.1:2/b`: a pipeline goes to one origin, \
         and this is not `http://127.0.0.1:1/a`'s"
    );
    assert_eq!(client.pipeline(Vec::new()).count().await, 0);
}

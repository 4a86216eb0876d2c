//! Bodies named by a `FileRegion`: sent with `sendfile(2)` on plain TCP and
//! Unix sockets, and as the body everywhere else.
//!
//! The handlers here give a body whose bytes differ from the region's (of
//! the same length), so each test sees which of the two was sent.
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Request, Response};
use mimic::Flow;
use mimic::flow::Info;
use paf::Body;
use paf::body::FileRegion;
use paf::server::{Http1, Serve};
use support::server::{PROMPT, TestServer, read_to_close};
use testkit::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixListener, UnixStream};

/// 3 MiB of a repeating pattern: several `sendfile` calls' worth.
fn pattern() -> Vec<u8> {
    (0..3 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect()
}

/// A handler answering with `region_len` bytes of the file from `offset`
/// as a region, with a body of as many `b'-'`; the regions it made are kept
/// in `made`.
#[derive(Clone)]
struct Regions {
    file: Arc<std::fs::File>,
    offset: u64,
    region_len: u64,
    made: Arc<Mutex<Vec<FileRegion>>>,
}

impl Regions {
    fn new(dir: &TempDir, contents: &[u8], offset: u64, region_len: u64) -> Regions {
        let path = dir.write("file.bin", contents);
        Regions {
            file: Arc::new(std::fs::File::open(path).unwrap()),
            offset,
            region_len,
            made: Arc::default(),
        }
    }

    fn service(
        &self,
    ) -> impl tower_service::Service<
        Request<Body>,
        Response = Response<Body>,
        Error = Infallible,
        Future = impl Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static {
        let this = self.clone();
        paf::service_fn(move |_req: Request<Body>| {
            let this = this.clone();
            async move {
                let region = FileRegion::new(this.file.clone(), this.offset, this.region_len);
                this.made.lock().unwrap().push(region.clone());
                let mut res = Response::new(Body::full(vec![b'-'; this.region_len as usize]));
                res.extensions_mut().insert(region);
                Ok::<_, Infallible>(res)
            }
        })
    }

    fn sent(&self) -> Vec<u64> {
        self.made
            .lock()
            .unwrap()
            .iter()
            .map(FileRegion::sent)
            .collect()
    }
}

/// Sends `GET /` twice on one connection and returns the two bodies.
async fn two_gets<S>(mut stream: S, len: usize) -> Vec<Vec<u8>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut bodies = Vec::new();
    for _ in 0..2 {
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(stream.read_u8().await.unwrap());
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains(&format!("content-length: {len}\r\n")),
            "{head}"
        );
        let mut body = vec![0; len];
        tokio::time::timeout(PROMPT, stream.read_exact(&mut body))
            .await
            .unwrap()
            .unwrap();
        bodies.push(body);
    }
    bodies
}

#[tokio::test]
async fn a_region_goes_by_sendfile_on_tcp() {
    let dir = TempDir::new("sendfile-tcp");
    let contents = pattern();
    let regions = Regions::new(&dir, &contents, 1000, 2_000_000);
    let server = TestServer::start(Http1::new(), regions.service());
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let bodies = two_gets(stream, 2_000_000).await;
    for body in bodies {
        assert!(
            body == contents[1000..2_001_000],
            "the file's bytes were sent"
        );
    }
    assert_eq!(regions.sent(), [2_000_000, 2_000_000]);
}

#[tokio::test]
async fn a_region_goes_by_sendfile_on_a_unix_socket() {
    let dir = TempDir::new("sendfile-unix");
    let contents = pattern();
    let regions = Regions::new(&dir, &contents, 0, contents.len() as u64);
    let listener = UnixListener::bind(dir.join("s.sock")).unwrap();
    let service = regions.service();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let flow = Flow::new(stream, Info::new("unix"));
        Http1::new().serve_flow(flow, service).await
    });
    let stream = UnixStream::connect(dir.join("s.sock")).await.unwrap();
    let bodies = two_gets(stream, contents.len()).await;
    assert!(bodies.iter().all(|body| *body == contents));
    assert_eq!(regions.sent(), [contents.len() as u64; 2]);
}

#[tokio::test]
async fn other_streams_get_the_body() {
    let dir = TempDir::new("sendfile-duplex");
    let contents = pattern();
    let regions = Regions::new(&dir, &contents, 0, 100_000);
    let (client, server) = tokio::io::duplex(64 * 1024);
    tokio::spawn(Http1::new().serve_connection(server, regions.service()));
    let bodies = two_gets(client, 100_000).await;
    assert!(bodies.iter().all(|body| body.iter().all(|&b| b == b'-')));
    assert_eq!(regions.sent(), [0, 0]);
}

#[tokio::test]
async fn a_region_past_the_largest_offset_gets_the_body() {
    let dir = TempDir::new("sendfile-overflow");
    let regions = Regions::new(&dir, &pattern(), u64::MAX - 10, 100_000);
    let server = TestServer::start(Http1::new(), regions.service());
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let bodies = two_gets(stream, 100_000).await;
    assert!(bodies.iter().all(|body| body.iter().all(|&b| b == b'-')));
    assert_eq!(regions.sent(), [0, 0]);
}

#[tokio::test]
async fn head_requests_send_no_region() {
    let dir = TempDir::new("sendfile-head");
    let regions = Regions::new(&dir, &pattern(), 0, 10_000);
    let server = TestServer::start(Http1::new(), regions.service());
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"HEAD / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\n"),
        "no body after a HEAD's head: {answer}"
    );
    assert_eq!(regions.sent(), [0]);
}

#[tokio::test]
async fn a_file_shorter_than_its_region_closes_the_connection() {
    let dir = TempDir::new("sendfile-short");
    let regions = Regions::new(&dir, &[7; 1000], 0, 5000);
    let server = TestServer::start(Http1::new(), regions.service());
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PROMPT, stream.read_to_end(&mut answer))
        .await
        .expect("the connection closes")
        .unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert_eq!(
        &answer[split..],
        &[7; 1000][..],
        "what the file had, then the end"
    );
    assert_eq!(regions.sent(), [1000]);
}

#[tokio::test]
async fn a_plain_tcp_stream_served_directly_uses_sendfile_too() {
    let dir = TempDir::new("sendfile-direct");
    let contents = pattern();
    let regions = Regions::new(&dir, &contents, 0, 300_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = regions.service();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        Http1::new().serve_connection(stream, service).await
    });
    let bodies = two_gets(TcpStream::connect(addr).await.unwrap(), 300_000).await;
    assert!(bodies.iter().all(|body| *body == contents[..300_000]));
    assert_eq!(regions.sent(), [300_000, 300_000]);
}

#[tokio::test]
async fn pipelined_requests_behind_a_region_are_answered_in_order() {
    let dir = TempDir::new("sendfile-pipelined");
    let contents = pattern();
    let regions = Regions::new(&dir, &contents, 7, 500_000);
    let server = TestServer::start(Http1::new(), regions.service());
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let get = "GET / HTTP/1.1\r\nhost: x\r\n\r\n";
    let last = "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    stream
        .write_all(format!("{get}{get}{last}").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PROMPT, stream.read_to_end(&mut answer))
        .await
        .expect("the server closes after the third")
        .unwrap();
    let mut rest = &answer[..];
    for _ in 0..3 {
        let split = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(rest.starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(rest[split..split + 500_000] == contents[7..500_007]);
        rest = &rest[split + 500_000..];
    }
    assert!(rest.is_empty(), "nothing after the three answers");
    assert_eq!(regions.sent(), [500_000; 3]);
}

#[tokio::test]
async fn a_request_whose_body_is_still_arriving_gets_the_body() {
    let dir = TempDir::new("sendfile-request-body");
    let regions = Regions::new(&dir, &pattern(), 0, 50_000);
    let server = TestServer::start(Http1::new(), regions.service());
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // Two bytes of five: the connection still has a body to read while it
    // answers, so it sends the response's body rather than the file.
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhe")
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let mut body = vec![0; 50_000];
    tokio::time::timeout(PROMPT, stream.read_exact(&mut body))
        .await
        .unwrap()
        .unwrap();
    assert!(body.iter().all(|&b| b == b'-'), "the body, not the file");
    assert_eq!(regions.sent(), [0]);
}

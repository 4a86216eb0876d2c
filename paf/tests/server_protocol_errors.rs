//! The servers' protocol-error hook: it shapes the answers to requests the
//! server refuses on its own (as RFC 9457 problem documents here) and sees
//! every protocol error, over HTTP/1.1 and HTTP/2.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use conduit::listener::TcpListener;
use conduit::serve::Server;
use http::{Request, Response, StatusCode, Version};
use paf::client::Proxies;
use paf::server::{Auto, Http1, ProtocolError, Serve};
use paf::{Body, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the hook saw: status and protocol of each error.
type Seen = Arc<Mutex<Vec<(Option<StatusCode>, Version)>>>;

/// A hook that records each error and answers with a problem document.
fn problems(seen: &Seen) -> impl Fn(&ProtocolError<'_>) -> Option<Response<Bytes>> + use<> {
    let seen = seen.clone();
    move |err| {
        seen.lock().unwrap().push((err.status, err.version));
        let status = err.status?;
        let problem = format!(
            r#"{{"status":{},"title":"{}"}}"#,
            status.as_u16(),
            err.error
        );
        Response::builder()
            .header("content-type", "application/problem+json")
            .header("content-length", "1") // the server's to set: dropped
            .body(Bytes::from(problem))
            .ok()
    }
}

async fn hello(_req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Body::full("hello")))
}

fn serve(auto: Auto) -> (SocketAddr, Server) {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = tcp.local_socket_addr();
    let server = Server::builder()
        .listener(tcp)
        .serve(auto.handler(paf::service_fn(hello)));
    (addr, server)
}

/// Sends `bytes` and reads until the server closes.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    let read = tcp.read_to_end(&mut answer);
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn http1_refusals_are_shaped_and_seen() {
    let seen = Seen::default();
    let http1 = Http1::new().max_target_len(16).max_headers(2);
    let auto = Auto::new().http1(http1).on_protocol_error(problems(&seen));
    let (addr, _server) = serve(auto);
    let cases: [(&[u8], u16, &str); 3] = [
        (
            b"GET /a-target-longer-than-sixteen HTTP/1.1\r\nhost: x\r\n\r\n",
            414,
            "URI Too Long",
        ),
        (
            b"GET / HTTP/1.1\r\nhost: x\r\na: 1\r\nb: 2\r\n\r\n",
            431,
            "Request Header Fields Too Large",
        ),
        (b"GET / HTTP/1.1\r\nhost x\r\n\r\n", 400, "Bad Request"),
    ];
    for (request, status, reason) in cases {
        let answer = exchange(addr, request).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} {reason}\r\n")),
            "{answer}"
        );
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains("\r\ncontent-type: application/problem+json\r\n"),
            "{head}"
        );
        assert!(
            head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())),
            "{head}"
        );
        assert!(head.contains("\r\nconnection: close"), "{head}");
        let expected = format!(r#"{{"status":{status},"title":"invalid message head"}}"#);
        assert_eq!(body, expected);
    }
    let statuses: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(s, v)| (s.map(|s| s.as_u16()), *v))
        .collect();
    let http11 = Version::HTTP_11;
    assert_eq!(
        statuses,
        [
            (Some(414), http11),
            (Some(431), http11),
            (Some(400), http11)
        ]
    );
}

/// Without a hook, or when it keeps the default, the answer is plain text.
#[tokio::test]
async fn the_default_answer_is_kept_without_a_hook() {
    let http1 = Http1::new().max_target_len(16);
    let (addr, _server) = serve(Auto::new().http1(http1.clone()));
    let answer = exchange(addr, b"GET /a-target-longer-than-sixteen HTTP/1.1\r\n\r\n").await;
    assert!(answer.ends_with("\r\n\r\nuri too long\n"), "{answer}");
    let declined = Auto::new().http1(http1).on_protocol_error(|_| None);
    let (addr, _server) = serve(declined);
    let answer = exchange(addr, b"GET /a-target-longer-than-sixteen HTTP/1.1\r\n\r\n").await;
    assert!(answer.ends_with("\r\n\r\nuri too long\n"), "{answer}");
}

#[tokio::test]
async fn http2_refusals_are_shaped_and_seen() {
    let seen = Seen::default();
    let http2 = paf::server::Http2::new().max_body_size(4);
    let auto = Auto::new().http2(http2).on_protocol_error(problems(&seen));
    let (addr, _server) = serve(auto);
    let client = Client::builder()
        .proxies(Proxies::none())
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let res = client
        .post(format!("http://{addr}/"), "too large")
        .await
        .unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let kind = res.headers().get("content-type").unwrap();
    assert_eq!(kind, "application/problem+json");
    let body = res.text().await.unwrap();
    assert_eq!(
        body,
        r#"{"status":413,"title":"body larger than the limit"}"#
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [(Some(StatusCode::PAYLOAD_TOO_LARGE), Version::HTTP_2)]
    );
}

/// A peer that breaks HTTP/2 ends its connection; the hook is told, with
/// no status: there is nobody to answer.
#[tokio::test]
async fn a_broken_http2_connection_is_seen() {
    let seen = Seen::default();
    let (addr, _server) = serve(Auto::new().on_protocol_error(problems(&seen)));
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // SETTINGS
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0]); // DATA on stream 0
    let _ = exchange(addr, &bytes).await;
    for _ in 0..100 {
        if !seen.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*seen.lock().unwrap(), [(None, Version::HTTP_2)]);
}

//! WebSocket over paf's HTTP/1.1 upgrade with tokio-tungstenite: 10,000
//! messages, text and binary, echoed and checked, over TCP and a Unix
//! socket; a request that is not a WebSocket handshake gets 400.

use std::convert::Infallible;
use std::time::Duration;

use conduit::listener::{TcpListener, UnixListener};
use conduit::serve::Server;
use futures_util::{SinkExt, StreamExt};
use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use http::{HeaderValue, Request, Response, StatusCode};
use mimic::Flow;
use paf::Body;
use paf::server::{Http1, Serve};
use testkit::TempDir;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

const MESSAGES: usize = 10_000;

async fn upgrade(mut req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let websocket = req
        .headers()
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let accept = req
        .headers()
        .get(SEC_WEBSOCKET_KEY)
        .map(|key| derive_accept_key(key.as_bytes()));
    let (true, Some(accept)) = (websocket, accept) else {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(res);
    };
    let on_upgrade = paf::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut ws = WebSocketStream::from_raw_socket(upgraded, Role::Server, None).await;
        while let Some(Ok(msg)) = ws.next().await {
            if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                return;
            }
        }
    });
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = res.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("a base64 key is a header value"),
    );
    Ok(res)
}

/// Text for even `i`, binary for odd, of varied lengths (up to 4 KiB).
fn message(i: usize) -> Message {
    let len = (i * 7919) % 4096;
    match i % 2 {
        0 => Message::text(format!("{i}:").repeat(1 + len / 8)),
        _ => Message::binary(vec![(i % 251) as u8; len]),
    }
}

/// Sends every message while reading the echoes, and checks each one.
async fn echo_all(uri: &str, flow: Flow) {
    let (ws, res) = tokio_tungstenite::client_async(uri, flow)
        .await
        .expect("the WebSocket handshake");
    assert_eq!(res.status(), StatusCode::SWITCHING_PROTOCOLS);
    let (mut sink, mut stream) = ws.split();
    let writer = tokio::spawn(async move {
        for i in 0..MESSAGES {
            sink.feed(message(i)).await.expect("send");
        }
        sink.flush().await.expect("flush");
        sink
    });
    let (mut texts, mut binaries) = (0, 0);
    for i in 0..MESSAGES {
        let got = stream
            .next()
            .await
            .unwrap_or_else(|| panic!("closed after {i} echoes"))
            .expect("a message");
        match &got {
            Message::Text(_) => texts += 1,
            Message::Binary(_) => binaries += 1,
            other => panic!("echo {i}: {other:?}"),
        }
        assert!(got == message(i), "echo {i} differs");
    }
    assert_eq!((texts, binaries), (MESSAGES / 2, MESSAGES / 2));
    let mut sink = writer.await.expect("the writer task");
    sink.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_echo_over_tcp_and_unix() {
    let dir = TempDir::new("websocket-echo");
    let socket = dir.join("ws.sock");
    let server = Server::builder()
        .listener(TcpListener::bind("127.0.0.1:0".parse().expect("an address")).expect("bind"))
        .listener(UnixListener::bind(&socket).expect("bind the socket"))
        .serve(Http1::new().handler(paf::service_fn(upgrade)));

    let uri = format!("ws://{}/echo", server.local_addrs()[0]);
    let flow = conduit::connect(&uri).await.expect("connect over TCP");
    echo_all(&uri, flow).await;

    let unix = conduit::Target::unix_socket_uri(&socket, "/echo");
    let flow = conduit::connect(&unix)
        .await
        .expect("connect over the socket");
    assert_eq!(flow.info().protocol(), "unix");
    echo_all("ws://localhost/echo", flow).await;

    let _ = server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_plain_request_is_refused() {
    let server = Server::builder()
        .listener(TcpListener::bind("127.0.0.1:0".parse().expect("an address")).expect("bind"))
        .serve(Http1::new().handler(paf::service_fn(upgrade)));
    let uri = format!("http://{}/echo", server.local_addrs()[0]);
    let res = paf::Client::new().get(&uri).await.expect("an answer");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let _ = server.shutdown(Duration::from_secs(5)).await;
}

//! A WebSocket echo server on paf's HTTP/1.1 upgrade, and a client over a
//! mimic flow, both with tokio-tungstenite.
//!
//! The server answers the WebSocket handshake itself (`101 Switching
//! Protocols` with the `Sec-WebSocket-Accept` key), takes the connection
//! with `paf::upgrade::on` and echoes every message. The client connects
//! through conduit (`ws://` is a scheme it knows), runs tokio-tungstenite's
//! handshake over the flow, sends 10,000 messages, text and binary, while
//! it reads the echoes, and checks every one.
//!
//! ```sh
//! cargo run -p examples --example websocket
//! ```

use std::convert::Infallible;
use std::error::Error;
use std::time::{Duration, Instant};

use conduit::listener::TcpListener;
use conduit::serve::Server;
use futures_util::{SinkExt, StreamExt};
use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use http::{HeaderValue, Request, Response, StatusCode};
use paf::Body;
use paf::server::{Http1, Serve};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

const MESSAGES: usize = 10_000;

/// Answers a WebSocket handshake with `101` and echoes on the connection;
/// anything else gets `400`.
async fn upgrade(mut req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let wants_websocket = req
        .headers()
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let accept = req
        .headers()
        .get(SEC_WEBSOCKET_KEY)
        .map(|key| derive_accept_key(key.as_bytes()));
    let (true, Some(accept)) = (wants_websocket, accept) else {
        let mut res = Response::new(Body::full("a WebSocket handshake was expected\n"));
        *res.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(res);
    };
    let on_upgrade = paf::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(upgraded, Role::Server, None).await;
                echo(ws).await;
            }
            Err(err) => eprintln!("server: the upgrade failed: {err:#}"),
        }
    });
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = res.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    Ok(res)
}

/// Sends back every text and binary message until the client closes.
async fn echo<S>(mut ws: WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            return;
        }
    }
}

/// The `i`th message: text for even `i`, binary for odd.
fn message(i: usize) -> Message {
    match i % 2 {
        0 => Message::text(format!("message {i}")),
        _ => Message::binary(i.to_be_bytes().repeat(1 + i % 16)),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let server = Server::builder()
        .listener(TcpListener::bind("127.0.0.1:0".parse()?)?)
        .serve(Http1::new().handler(paf::service_fn(upgrade)));
    let uri = format!("ws://{}/echo", server.local_addrs()[0]);

    let started = Instant::now();
    let result = async {
        let flow = conduit::connect(&uri).await?;
        println!("{uri}: connected over {}", flow.info().protocol());
        let (ws, res) = tokio_tungstenite::client_async(uri.as_str(), flow).await?;
        println!("handshake: {}", res.status());
        let (mut sink, mut stream) = ws.split();
        let writer = tokio::spawn(async move {
            for i in 0..MESSAGES {
                sink.feed(message(i)).await?;
            }
            sink.flush().await?;
            Ok::<_, tokio_tungstenite::tungstenite::Error>(sink)
        });
        for i in 0..MESSAGES {
            let got = stream
                .next()
                .await
                .ok_or_else(|| format!("the server closed after {i} echoes"))??;
            if got != message(i) {
                return Err(format!("echo {i} differs: {got:?}").into());
            }
        }
        let mut sink = writer.await??;
        sink.close().await?;
        Ok::<_, Box<dyn Error>>(())
    }
    .await;
    if result.is_ok() {
        println!(
            "{MESSAGES} messages echoed and checked in {:?}",
            started.elapsed()
        );
    }
    let shutdown = server.shutdown(Duration::from_secs(5)).await;
    println!(
        "shut down: {} finished, {} aborted",
        shutdown.finished, shutdown.aborted
    );
    result
}

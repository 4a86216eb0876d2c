//! Starting paf servers and talking to them with raw bytes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use conduit::listener::TcpListener;
use conduit::serve::Server;
use http::{Request, Response};
use paf::Body;
use paf::server::{Http1, HttpService, Serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for anything before failing.
pub const PROMPT: Duration = Duration::from_secs(10);

/// A paf server on a loopback port; shut down when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    server: Option<Server>,
}

impl TestServer {
    /// Serves `service` with `http` on 127.0.0.1.
    pub fn start<S, B>(http: Http1, service: S) -> TestServer
    where
        S: HttpService<B> + Clone + Sync,
        B: paf::server::ResponseBody,
    {
        let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = tcp.local_socket_addr();
        let server = Server::builder().listener(tcp).serve(http.handler(service));
        TestServer {
            addr,
            server: Some(server),
        }
    }

    /// A server answering every request with `Hello, world!`.
    pub fn hello() -> TestServer {
        TestServer::start(Http1::new(), paf::service_fn(hello))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Shuts down gracefully, returning the report.
    pub async fn shutdown(mut self, grace: Duration) -> conduit::serve::ShutdownReport {
        let server = self.server.take().unwrap();
        server.shutdown(grace).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            // Aborts the connections left; tests that care call `shutdown`.
            tokio::spawn(server.shutdown(Duration::ZERO));
        }
    }
}

pub async fn hello(_req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Body::full("Hello, world!")))
}

/// Writes `request` on a new connection and reads until the server closes
/// it; fails, showing what was read, if it does not within `PROMPT`.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    read_to_close(&mut tcp).await
}

/// Reads until the peer closes; fails, showing what was read, if it does
/// not within `PROMPT`.
pub async fn read_to_close(tcp: &mut TcpStream) -> String {
    match try_read_to_close(tcp).await {
        Ok(text) => text,
        Err(text) => panic!("the server did not close the connection; it sent {text:?}"),
    }
}

/// Reads until the peer closes (or fails to read); `Err` with what was read
/// if it does not close within `PROMPT`.
pub async fn try_read_to_close(tcp: &mut TcpStream) -> Result<String, String> {
    let mut out = Vec::new();
    let closed = tokio::time::timeout(PROMPT, async {
        let mut buf = [0; 16 * 1024];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&out).into_owned();
    match closed {
        Ok(()) => Ok(text),
        Err(_) => Err(text),
    }
}

/// The status codes of every response in `text`, in order.
pub fn statuses(text: &str) -> Vec<u16> {
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| text.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

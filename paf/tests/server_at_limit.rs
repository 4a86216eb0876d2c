//! A server at its connection limit still answers a normal client within a
//! second: idle keep-alive connections, slow request heads (slowloris) and
//! silent TLS handshakes hold every slot, and the oldest of them makes
//! room.

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use conduit::listener::TcpListener;
use conduit::serve::Server;
use paf::server::{Auto, Serve};
use support::server::hello;
use support::tls::SelfSigned;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// paf-server's default limit.
const LIMIT: usize = 1024;

/// One scenario at a time: each holds thousands of descriptors.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run<F: std::future::Future<Output = ()>>(scenario: F) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !testkit::open_files(8192) {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(scenario);
}

/// A plain HTTP/1.1 server limited to [`LIMIT`] connections.
fn server() -> (Server, std::net::SocketAddr) {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().expect("an address")).expect("a port");
    let addr = tcp.local_socket_addr();
    let server = Server::builder()
        .listener(tcp)
        .max_connections(LIMIT)
        .serve(Auto::new().handler(paf::service_fn(hello)));
    (server, addr)
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";

/// Reads one `Hello, world!` response (keeping the connection).
async fn read_hello(tcp: &mut TcpStream) -> Result<(), String> {
    let mut seen = Vec::new();
    let mut buf = [0; 1024];
    while !seen.ends_with(b"Hello, world!") {
        match tcp.read(&mut buf).await {
            Ok(0) => return Err(format!("closed after {:?}", String::from_utf8_lossy(&seen))),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(err) => return Err(err.to_string()),
        }
    }
    Ok(())
}

/// A new client's request: connected and answered within a second.
async fn answered_within_a_second(addr: std::net::SocketAddr) -> Duration {
    let start = Instant::now();
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        tcp.write_all(REQUEST).await.map_err(|e| e.to_string())?;
        read_hello(&mut tcp).await
    };
    match tokio::time::timeout(Duration::from_secs(1), exchange).await {
        Ok(Ok(())) => start.elapsed(),
        Ok(Err(err)) => panic!("the new client failed: {err}"),
        Err(_) => panic!("the new client was not answered within a second"),
    }
}

/// Connects `count` clients, each after calling `setup` on it.
async fn clients<F, Fut>(addr: std::net::SocketAddr, count: usize, setup: F) -> Vec<TcpStream>
where
    F: Fn(TcpStream) -> Fut,
    Fut: std::future::Future<Output = TcpStream>,
{
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        let tcp = TcpStream::connect(addr).await.expect("a connection");
        held.push(setup(tcp).await);
    }
    held
}

#[test]
fn idle_keep_alive_connections_make_room() {
    run(async {
        let (server, addr) = server();
        let mut idle = clients(addr, LIMIT, |mut tcp| async move {
            tcp.write_all(REQUEST).await.expect("a request");
            read_hello(&mut tcp).await.expect("an answer");
            tcp
        })
        .await;
        assert_eq!(server.active_connections(), LIMIT);
        let took = answered_within_a_second(addr).await;
        eprintln!("answered at the limit after {took:?}");
        // The oldest idle connection was the one closed.
        let mut buf = [0; 16];
        let read = tokio::time::timeout(Duration::from_secs(1), idle[0].read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
        // The others are still served.
        let last = idle.last_mut().expect("a client");
        last.write_all(REQUEST).await.expect("a request");
        read_hello(last)
            .await
            .expect("an answer on a kept connection");
        server.shutdown(Duration::from_secs(1)).await;
    });
}

#[test]
fn slow_request_heads_cannot_hold_every_slot() {
    run(async {
        let (server, addr) = server();
        // Twice the limit, each head sent but for its last line.
        let slow = clients(addr, 2 * LIMIT - 48, |mut tcp| async move {
            tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
                .await
                .expect("part of a head");
            tcp
        })
        .await;
        let took = answered_within_a_second(addr).await;
        eprintln!("answered behind {} slow heads after {took:?}", slow.len());
        assert!(server.active_connections() <= LIMIT);
        server.shutdown(Duration::from_secs(1)).await;
    });
}

#[test]
fn silent_tls_handshakes_make_room() {
    run(async {
        let cert = SelfSigned::localhost();
        let auto = Auto::new();
        let (tls, port) = cert.listener(auto.alpn_protocols());
        let server = Server::builder()
            .listener(tls)
            .max_connections(LIMIT)
            .serve(auto.handler(paf::service_fn(hello)));
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let silent = clients(addr, LIMIT + 76, |tcp| async move { tcp }).await;
        let tls = mimic::tls::Tls::builder()
            .add_ca_file(cert.cert_path())
            .build()
            .expect("a TLS layer trusting the certificate");
        let client = paf::Client::builder()
            .proxies(paf::client::Proxies::none())
            .tls(tls)
            .overrides(
                conduit::Overrides::new()
                    .resolve(&support::tls::resolve(port))
                    .expect("an override"),
            )
            .build()
            .expect("a client");
        let start = Instant::now();
        let url = format!("https://localhost:{port}/");
        match tokio::time::timeout(Duration::from_secs(1), client.get(&url)).await {
            Ok(Ok(res)) => {
                let took = start.elapsed();
                assert_eq!(res.text().await.expect("a body"), "Hello, world!");
                eprintln!(
                    "answered behind {} silent handshakes after {took:?}",
                    silent.len()
                );
            }
            Ok(Err(err)) => panic!("the TLS client failed: {err:#}"),
            Err(_) => panic!("the TLS client was not answered within a second"),
        }
        server.shutdown(Duration::from_secs(1)).await;
    });
}

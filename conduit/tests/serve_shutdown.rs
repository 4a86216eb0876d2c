//! Graceful shutdown: draining, the deadline, the report, and what is
//! accepted once shutdown has begun.

mod support;

use std::io;
use std::time::{Duration, Instant};

use conduit::listener::TcpListener;
use conduit::serve::{Drain, Server};
use mimic::Flow;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use support::PROMPT;

/// Says `hi`, then waits for one byte: `c` (cooperative) finishes with `bye`
/// when drained, `s` (stubborn) ignores the drain signal forever.
async fn handler(mut flow: Flow, drain: Drain, drained: mpsc::UnboundedSender<()>) {
    if flow.write_all(b"hi").await.is_err() {
        return;
    }
    let mut kind = [0; 1];
    if flow.read_exact(&mut kind).await.is_err() {
        return;
    }
    drain.signaled().await;
    assert!(drain.is_signaled());
    let _ = drained.send(());
    if kind[0] == b'c' {
        let _ = flow.write_all(b"bye").await;
    } else {
        std::future::pending::<()>().await;
    }
}

struct Harness {
    server: Server,
    addr: std::net::SocketAddr,
    drained: mpsc::UnboundedReceiver<()>,
}

fn start() -> Harness {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let addr = tcp.local_socket_addr();
    let (tx, drained) = mpsc::unbounded_channel();
    let server = Server::builder()
        .listener(tcp)
        .serve(move |flow, drain| handler(flow, drain, tx.clone()));
    Harness {
        server,
        addr,
        drained,
    }
}

/// A client whose handler is running, of `kind` `c` or `s`.
async fn client(addr: std::net::SocketAddr, kind: u8) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut hi = [0; 2];
    stream.read_exact(&mut hi).await.expect("greeting");
    stream.write_all(&[kind]).await.expect("kind");
    stream
}

/// Reads to the end; an abort may show up as a reset.
async fn read_to_end(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut rest = Vec::new();
    tokio::time::timeout(PROMPT, stream.read_to_end(&mut rest))
        .await
        .expect("the server closes in time")?;
    Ok(rest)
}

#[tokio::test]
async fn the_report_counts_finished_and_aborted_connections() {
    struct Case {
        cooperative: usize,
        stubborn: usize,
    }
    let cases = [
        Case {
            cooperative: 0,
            stubborn: 0,
        },
        Case {
            cooperative: 1,
            stubborn: 0,
        },
        Case {
            cooperative: 0,
            stubborn: 1,
        },
        Case {
            cooperative: 2,
            stubborn: 1,
        },
    ];
    let grace = Duration::from_millis(300);
    for case in cases {
        let name = format!(
            "{} cooperative, {} stubborn",
            case.cooperative, case.stubborn
        );
        let harness = start();
        let mut cooperative = Vec::new();
        for _ in 0..case.cooperative {
            cooperative.push(client(harness.addr, b'c').await);
        }
        let mut stubborn = Vec::new();
        for _ in 0..case.stubborn {
            stubborn.push(client(harness.addr, b's').await);
        }
        let started = Instant::now();
        let report = harness.server.shutdown(grace).await;
        let took = started.elapsed();
        assert_eq!(report.finished, case.cooperative, "{name}: {report:?}");
        assert_eq!(report.aborted, case.stubborn, "{name}: {report:?}");
        if case.stubborn > 0 {
            assert!(
                took >= grace,
                "{name}: aborted only at the deadline ({took:?})"
            );
        } else {
            assert!(
                took < grace,
                "{name}: no need to wait for the deadline ({took:?})"
            );
        }
        assert!(took < PROMPT, "{name}: {took:?}");
        for stream in &mut cooperative {
            assert_eq!(
                read_to_end(stream).await.expect("clean close"),
                b"bye",
                "{name}"
            );
        }
        for stream in &mut stubborn {
            // Aborted: closed without a goodbye.
            let rest = read_to_end(stream).await.unwrap_or_default();
            assert!(rest.is_empty(), "{name}");
        }
    }
}

#[tokio::test]
async fn nothing_is_accepted_once_shutdown_has_begun() {
    let mut harness = start();
    let _stubborn = client(harness.addr, b's').await;
    let shutdown = tokio::spawn(harness.server.shutdown(Duration::from_millis(500)));
    // The handler saw the drain signal: shutdown is under way.
    tokio::time::timeout(PROMPT, harness.drained.recv())
        .await
        .expect("drained in time")
        .expect("the handler reports");
    let err = TcpStream::connect(harness.addr)
        .await
        .expect_err("the listener is closed");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let report = shutdown.await.expect("shutdown task");
    assert_eq!((report.finished, report.aborted), (0, 1));
}

#[tokio::test]
async fn handshakes_in_progress_are_closed_at_once() {
    let (_ca, tls, addr) = support::localhost_tls("Shutdown CA");
    let server = Server::builder()
        .listener(tls)
        .serve(|_flow, _drain| std::future::pending());
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    // Wait until the server has accepted it.
    for _ in 0..1000 {
        if server.active_connections() == 1 {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(server.active_connections(), 1);
    let started = Instant::now();
    let report = server.shutdown(PROMPT).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no wait for the handshake timeout"
    );
    assert_eq!((report.finished, report.aborted), (1, 0));
    let mut buf = [0; 8];
    assert!(matches!(silent.read(&mut buf).await, Ok(0) | Err(_)));
}

#[tokio::test]
async fn dropping_the_server_aborts_everything() {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let addr = tcp.local_socket_addr();
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let (ended_tx, ended) = oneshot::channel::<()>();
    let ended_tx = std::sync::Mutex::new(Some(ended_tx));
    let server = Server::builder().listener(tcp).serve(move |_flow, _drain| {
        // Dropped with the task: `ended` then sees the sender gone.
        let guard = ended_tx.lock().expect("lock").take();
        let started_tx = started_tx.clone();
        async move {
            let _guard = guard;
            let _ = started_tx.send(());
            std::future::pending::<()>().await;
        }
    });
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    started.recv().await.expect("the handler runs");
    drop(server);
    tokio::time::timeout(PROMPT, ended)
        .await
        .expect("the handler is dropped in time")
        .expect_err("aborted, never completed");
    let rest = read_to_end(&mut stream).await.unwrap_or_default();
    assert!(rest.is_empty());
    // The listener is closed too.
    let err = TcpStream::connect(addr).await.expect_err("closed");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

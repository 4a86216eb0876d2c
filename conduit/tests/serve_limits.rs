//! The server: several listeners, the connection limit, handshakes in the
//! connection tasks, the error hook.

mod support;

use std::io;
use std::time::Duration;

use conduit::listener::{
    Connecting, Listener, TcpListener, TlsAcceptor, TlsListener, UnixListener,
};
use conduit::serve::{Drain, Failure, Server};
use mimic::flow::Addr;
use mimic::{Flow, Info};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc;

use support::{Ca, PROMPT, TempDir, client_config, tls_connect};

fn inet(addr: &Addr) -> std::net::SocketAddr {
    match addr {
        Addr::Inet(addr) => *addr,
        other => panic!("not an IP address: {other}"),
    }
}

/// Greets with the flow's protocols, then holds the connection until the
/// client closes it.
async fn greet_and_hold(mut flow: Flow, _drain: Drain) {
    let protocols: Vec<_> = flow.info().protocols().collect();
    let greeting = format!("{}\n", protocols.join(","));
    if flow.write_all(greeting.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = [0; 64];
    while let Ok(n) = flow.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

async fn read_line<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut line = Vec::new();
    let mut byte = [0; 1];
    loop {
        let n = stream.read(&mut byte).await.expect("read a line");
        if n == 0 || byte[0] == b'\n' {
            return String::from_utf8(line).expect("UTF-8");
        }
        line.push(byte[0]);
    }
}

/// Something the error hook saw, reduced to what the tests compare.
#[derive(Debug, PartialEq)]
enum Seen {
    Accept(io::ErrorKind, Duration),
    Handshake,
    HandshakeTimeout,
}

fn recording_hook() -> (
    impl Fn(&Failure) + Send + Sync + 'static,
    mpsc::UnboundedReceiver<Seen>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let hook = move |error: &Failure| {
        let seen = match error {
            Failure::Accept {
                error, retry_in, ..
            } => Seen::Accept(error.kind(), *retry_in),
            Failure::Handshake { .. } => Seen::Handshake,
            Failure::HandshakeTimeout { .. } => Seen::HandshakeTimeout,
            other => panic!("unexpected {other}"),
        };
        let _ = tx.send(seen);
    };
    (hook, rx)
}

#[tokio::test]
async fn serves_tcp_tls_and_unix_at_once() {
    let dir = TempDir::new("serve-all");
    let ca = Ca::new("All CA");
    let acceptor = TlsAcceptor::builder()
        .identity(ca.server(&["localhost"]).identity())
        .build()
        .expect("acceptor");
    let tcp = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind TCP");
    let tls = TlsListener::new(
        TcpListener::bind("[::1]:0".parse().expect("address")).expect("bind TLS"),
        acceptor,
    );
    let unix = UnixListener::bind(dir.join("s.sock")).expect("bind Unix");
    let builder = Server::builder().listener(tcp).listener(tls).listener(unix);
    let addrs = builder.local_addrs();
    let server = builder.serve(greet_and_hold);
    assert_eq!(
        server.local_addrs(),
        addrs,
        "addresses are known before serving"
    );

    let mut tcp = TcpStream::connect(inet(&addrs[0]))
        .await
        .expect("TCP connect");
    assert_eq!(read_line(&mut tcp).await, "tcp");
    let mut tls = tls_connect(inet(&addrs[1]), "localhost", client_config(&ca, &[], None))
        .await
        .expect("TLS connect");
    assert_eq!(read_line(&mut tls).await, "tls,tcp");
    let mut unix = UnixStream::connect(dir.join("s.sock"))
        .await
        .expect("Unix connect");
    assert_eq!(read_line(&mut unix).await, "unix");
    assert_eq!(server.active_connections(), 3);

    drop((tcp, tls, unix));
    let report = server.shutdown(PROMPT).await;
    assert_eq!(report.aborted, 0);
}

#[tokio::test]
async fn the_connection_after_the_limit_waits_until_one_closes() {
    // The waiting client connects to the same listener, or to another one:
    // the limit is shared, and a listener without a permit does not hold
    // one back from the others.
    for waiting_on_other_listener in [false, true] {
        let first = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind");
        let second = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind");
        let (a, b) = (first.local_socket_addr(), second.local_socket_addr());
        let server = Server::builder()
            .listener(first)
            .listener(second)
            .max_connections(2)
            .serve(greet_and_hold);

        let mut one = TcpStream::connect(a).await.expect("connect 1");
        assert_eq!(read_line(&mut one).await, "tcp");
        let mut two = TcpStream::connect(b).await.expect("connect 2");
        assert_eq!(read_line(&mut two).await, "tcp");

        // The system completes the connection (it is in the backlog), but
        // the server does not accept it while two are open.
        let mut three = TcpStream::connect(if waiting_on_other_listener { b } else { a })
            .await
            .expect("connect 3");
        let mut byte = [0; 1];
        let early = tokio::time::timeout(Duration::from_millis(300), three.read(&mut byte)).await;
        assert!(
            early.is_err(),
            "connection 3 must not be served at the limit"
        );
        assert_eq!(server.active_connections(), 2);

        drop(one);
        let greeting = tokio::time::timeout(PROMPT, read_line(&mut three))
            .await
            .expect("connection 3 is served once connection 1 closed");
        assert_eq!(greeting, "tcp");
        drop((two, three));
        server.shutdown(PROMPT).await;
    }
}

#[tokio::test]
async fn a_slow_handshake_does_not_block_accepting() {
    let (ca, tls, addr) = support::localhost_tls("Slow CA");
    let server = Server::builder().listener(tls).serve(greet_and_hold);
    // Two clients that connect and never start their handshake.
    let _silent = [
        TcpStream::connect(addr).await.expect("silent 1"),
        TcpStream::connect(addr).await.expect("silent 2"),
    ];
    let mut client = tokio::time::timeout(
        PROMPT,
        tls_connect(addr, "localhost", client_config(&ca, &[], None)),
    )
    .await
    .expect("served while others are stuck in their handshakes")
    .expect("TLS connect");
    assert_eq!(read_line(&mut client).await, "tls,tcp");
    drop(client);
    let report = server.shutdown(PROMPT).await;
    assert_eq!(
        report.aborted, 0,
        "handshakes in progress are closed at once"
    );
}

#[tokio::test]
async fn handshakes_time_out_and_fail_into_the_hook() {
    let (_ca, tls, addr) = support::localhost_tls("Timeout CA");
    let (hook, mut seen) = recording_hook();
    let server = Server::builder()
        .listener(tls)
        .handshake_timeout(Duration::from_millis(200))
        .on_error(hook)
        .serve(greet_and_hold);

    let mut silent = TcpStream::connect(addr).await.expect("silent");
    let event = tokio::time::timeout(PROMPT, seen.recv())
        .await
        .expect("in time");
    assert_eq!(event, Some(Seen::HandshakeTimeout));
    let mut buf = [0; 16];
    let closed = silent.read(&mut buf).await;
    assert!(
        matches!(closed, Ok(0) | Err(_)),
        "the server closed it: {closed:?}"
    );

    let mut garbage = TcpStream::connect(addr).await.expect("garbage");
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let event = tokio::time::timeout(PROMPT, seen.recv())
        .await
        .expect("in time");
    assert_eq!(event, Some(Seen::Handshake));
    server.shutdown(PROMPT).await;
}

/// A listener of in-memory streams whose accept results the test scripts.
struct Scripted {
    results: mpsc::UnboundedReceiver<io::Result<DuplexStream>>,
}

impl Listener for Scripted {
    async fn accept(&mut self) -> io::Result<Connecting> {
        match self.results.recv().await {
            Some(Ok(stream)) => Ok(Connecting::ready(Flow::new(
                stream,
                Info::new("mem").with_local_addr(self.local_addr()),
            ))),
            Some(Err(err)) => Err(err),
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> Addr {
        Addr::Mem("scripted".into())
    }
}

#[tokio::test(start_paused = true)]
async fn accept_errors_go_to_the_hook_with_backoff() {
    let (tx, rx) = mpsc::unbounded_channel();
    let (hook, mut seen) = recording_hook();
    let server = Server::builder()
        .listener(Scripted { results: rx })
        .on_error(hook)
        .serve(greet_and_hold);
    let emfile = || io::Error::from_raw_os_error(libc::EMFILE);
    let connect = || {
        let (client, server) = tokio::io::duplex(64);
        (client, Ok(server))
    };

    // A connection that failed while queued: skipped silently.
    tx.send(Err(io::ErrorKind::ConnectionAborted.into()))
        .expect("send");
    let (mut c1, s1) = connect();
    tx.send(s1).expect("send");
    assert_eq!(read_line(&mut c1).await, "mem");

    // Out of descriptors: reported, with a pause that doubles, then resets.
    for _ in 0..3 {
        tx.send(Err(emfile())).expect("send");
    }
    let (mut c2, s2) = connect();
    tx.send(s2).expect("send");
    tx.send(Err(emfile())).expect("send");
    assert_eq!(read_line(&mut c2).await, "mem");
    let kind = emfile().kind();
    let mut delays = Vec::new();
    for _ in 0..4 {
        match seen.recv().await {
            Some(Seen::Accept(k, delay)) if k == kind => delays.push(delay.as_millis()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(delays, [50, 100, 200, 50]);
    assert!(
        seen.try_recv().is_err(),
        "the aborted connection was not reported"
    );

    server.shutdown(PROMPT).await;
}

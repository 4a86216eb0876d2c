//! TCP listeners over loopback: IPv4, IPv6, dual-stack, options, errors.

mod support;

use std::io;
use std::net::SocketAddr;

use conduit::listener::{Listener, TcpListener};
use mimic::flow::Addr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::PROMPT;

struct Case {
    name: &'static str,
    bind: &'static str,
    /// The client connects to this host on the bound port.
    connect: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "IPv4",
        bind: "127.0.0.1:0",
        connect: "127.0.0.1",
    },
    Case {
        name: "IPv6",
        bind: "[::1]:0",
        connect: "::1",
    },
    Case {
        name: "dual-stack [::] with an IPv4 client",
        bind: "[::]:0",
        connect: "127.0.0.1",
    },
    Case {
        name: "dual-stack [::] with an IPv6 client",
        bind: "[::]:0",
        connect: "::1",
    },
];

#[tokio::test]
async fn accepts_over_loopback() {
    for case in CASES {
        let bind: SocketAddr = case.bind.parse().expect("bind address");
        let mut listener = TcpListener::bind(bind).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let Addr::Inet(local) = listener.local_addr() else {
            panic!("{}: not an IP address", case.name);
        };
        assert_eq!(local.ip(), bind.ip(), "{}", case.name);
        assert_ne!(
            local.port(),
            0,
            "{}: port 0 must report the chosen port",
            case.name
        );

        let target = SocketAddr::new(case.connect.parse().expect("client host"), local.port());
        let mut client = TcpStream::connect(target)
            .await
            .unwrap_or_else(|e| panic!("{}: connect: {e}", case.name));
        let connecting = tokio::time::timeout(PROMPT, listener.accept())
            .await
            .expect("accept in time")
            .expect("accept");
        let client_addr = client.local_addr().expect("client address");
        assert_eq!(
            connecting.peer_addr(),
            Some(&Addr::Inet(client_addr)),
            "{}",
            case.name
        );
        let mut flow = connecting.await.expect("a TCP flow is ready");

        let info = flow.info();
        assert_eq!(
            info.protocols().collect::<Vec<_>>(),
            ["tcp"],
            "{}",
            case.name
        );
        assert_eq!(
            info.peer_addr(),
            Some(&Addr::Inet(client_addr)),
            "{}",
            case.name
        );
        assert_eq!(
            info.local_addr(),
            Some(&Addr::Inet(target)),
            "{}",
            case.name
        );
        let stream: &TcpStream = flow.downcast_ref().expect("a tokio TcpStream");
        assert!(
            stream.nodelay().expect("TCP_NODELAY"),
            "{}: TCP_NODELAY",
            case.name
        );

        client.write_all(b"ping").await.expect("client write");
        let mut buf = [0; 4];
        flow.read_exact(&mut buf).await.expect("server read");
        assert_eq!(&buf, b"ping", "{}", case.name);
    }
}

#[tokio::test]
async fn only_v6_refuses_ipv4_clients() {
    let listener = TcpListener::builder("[::]:0".parse().expect("address"))
        .only_v6(true)
        .bind()
        .expect("bind");
    let Addr::Inet(local) = listener.local_addr() else {
        panic!("not an IP address")
    };
    let err = TcpStream::connect(("127.0.0.1", local.port()))
        .await
        .expect_err("an IPv6-only socket does not take IPv4 clients");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn nodelay_can_be_turned_off() {
    let mut listener = TcpListener::builder("127.0.0.1:0".parse().expect("address"))
        .nodelay(false)
        .backlog(16)
        .bind()
        .expect("bind");
    let _client = TcpStream::connect(listener.local_socket_addr())
        .await
        .expect("connect");
    let flow = listener
        .accept()
        .await
        .expect("accept")
        .await
        .expect("flow");
    let stream: &TcpStream = flow.downcast_ref().expect("a tokio TcpStream");
    assert!(!stream.nodelay().expect("TCP_NODELAY"));
}

#[tokio::test]
async fn a_taken_port_is_an_actionable_error() {
    let first = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let addr = first.local_socket_addr();
    let err = TcpListener::bind(addr).expect_err("the port is taken");
    assert!(err.is_listen() && err.is_addr_in_use(), "{err:?}");
    assert!(!err.is_connect() && !err.is_tls() && err.report().is_none());
    // `{}`: the error and the advice; `{:#}`: and the system's own words.
    assert_eq!(
        err.to_string(),
        format!(
            "cannot listen on {addr} (bind failed; \
             another socket is bound there: stop it or choose another address)"
        )
    );
    let cause = std::error::Error::source(&err)
        .and_then(|e| e.downcast_ref::<io::Error>())
        .expect("the system's error");
    assert_eq!(cause.kind(), io::ErrorKind::AddrInUse);
    assert_eq!(format!("{err:#}"), format!("{err}: {cause}"));
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::AddrInUse);
}

#[tokio::test]
async fn from_std_reports_the_bound_address() {
    let std = std::net::TcpListener::bind("127.0.0.1:0").expect("std bind");
    let addr = std.local_addr().expect("std address");
    let mut listener = TcpListener::from_std(std).expect("wrap");
    assert_eq!(listener.local_addr(), Addr::Inet(addr));
    let _client = TcpStream::connect(addr).await.expect("connect");
    let flow = tokio::time::timeout(PROMPT, listener.accept())
        .await
        .expect("in time")
        .expect("accept")
        .await
        .expect("flow");
    assert_eq!(flow.info().protocol(), "tcp");
}

//! Real loopback connections: TCP over IPv4 and IPv6, Happy Eyeballs
//! falling back across families, Unix sockets, in-memory pipes and DNS.

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mimic::flow::Addr;
use mimic::report::{Chain, Outcome, ResolveErrorKind};
use mimic::{Ctx, dns::Dns, keys, mem, tcp, unix};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// Accepts one connection and echoes what it reads until EOF.
fn echo_once<S>(accepted: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let (mut r, mut w) = tokio::io::split(accepted);
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
}

async fn round_trip(flow: &mut mimic::Flow) {
    flow.write_all(b"ping").await.expect("write");
    let mut buf = [0; 4];
    flow.read_exact(&mut buf).await.expect("read the echo");
    assert_eq!(&buf, b"ping");
}

async fn tcp_echo(listener: TcpListener) {
    let (stream, _) = listener.accept().await.expect("accept");
    echo_once(stream);
}

fn host_port(host: &str, port: u16) -> Ctx {
    Ctx::new()
        .with_builtins()
        .with(&keys::HOST, host.to_string())
        .with(&keys::PORT, port)
}

#[tokio::test]
async fn tcp_over_ipv4_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(tcp_echo(listener));

    let mut flow = host_port("127.0.0.1", addr.port())
        .resolve()
        .await
        .expect("connects");
    assert_eq!(flow.info().protocol(), "tcp");
    assert_eq!(flow.info().peer_addr(), Some(&Addr::Inet(addr)));
    assert!(matches!(flow.info().local_addr(), Some(Addr::Inet(a)) if a.ip() == addr.ip()));
    let stream: &TcpStream = flow.downcast_ref().expect("a TcpStream inside");
    assert!(
        stream.nodelay().expect("nodelay readable"),
        "TCP_NODELAY is on"
    );
    round_trip(&mut flow).await;

    // Vectored writes reach the socket as such.
    assert!(tokio::io::AsyncWrite::is_write_vectored(&flow));
    let parts = [std::io::IoSlice::new(b"pi"), std::io::IoSlice::new(b"ng")];
    let written = flow.write_vectored(&parts).await.expect("vectored write");
    assert_eq!(written, 4, "one call writes both slices to a TCP socket");
    let mut buf = [0; 4];
    flow.read_exact(&mut buf).await.expect("read the echo");
    assert_eq!(&buf, b"ping");
}

#[tokio::test]
async fn tcp_over_ipv6_loopback() {
    let listener = match TcpListener::bind("[::1]:0").await {
        Ok(listener) => listener,
        Err(e) if std::env::var_os("PAF_REQUIRE_PEERS").is_none() => {
            eprintln!("SKIPPED tcp_over_ipv6_loopback: no IPv6 loopback here ({e})");
            return;
        }
        Err(e) => panic!("IPv6 loopback required: {e}"),
    };
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(tcp_echo(listener));

    let mut flow = host_port("[::1]", addr.port())
        .resolve()
        .await
        .expect("connects");
    assert_eq!(flow.info().peer_addr(), Some(&Addr::Inet(addr)));
    round_trip(&mut flow).await;
}

/// A port with nothing listening: bound, then closed.
async fn closed_port(ip: IpAddr) -> u16 {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind");
    listener.local_addr().expect("bound address").port()
}

#[tokio::test]
async fn happy_eyeballs_moves_to_the_next_address_when_one_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let live = listener.local_addr().expect("bound address");
    tokio::spawn(tcp_echo(listener));
    let dead = SocketAddr::new(
        Ipv4Addr::new(127, 0, 0, 1).into(),
        closed_port(Ipv4Addr::LOCALHOST.into()).await,
    );
    let v6 = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), live.port());

    // Given as [v4 dead, v4 live, v6]: tried as [v6, v4 dead, v4 live].
    let ctx = Ctx::new()
        .with_protocol(&tcp::registration(tcp::Tcp::new()))
        .with(&tcp::ENDPOINT, tcp::TcpEndpoint::new([dead, live, v6]));
    let planned: Vec<_> = ctx
        .explain()
        .await
        .entries()
        .iter()
        .map(|e| e.endpoint.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        planned,
        [v6.to_string(), dead.to_string(), live.to_string()]
    );

    let begun = std::time::Instant::now();
    let mut flow = ctx.resolve().await.expect("the live address connects");
    assert!(
        begun.elapsed() < std::time::Duration::from_millis(250),
        "refusals start the next attempt at once"
    );
    assert_eq!(flow.info().peer_addr(), Some(&Addr::Inet(live)));
    let report = flow.info().report().expect("a report");
    let failed: Vec<_> = report
        .entries()
        .iter()
        .filter_map(|e| match &e.outcome {
            Outcome::Failed { stage, cause, .. } => {
                Some((e.endpoint.clone(), *stage, cause.to_string()))
            }
            _ => None,
        })
        .collect();
    assert!(
        failed.iter().any(
            |(ep, stage, cause)| ep.as_deref() == Some(&*dead.to_string())
                && *stage == "tcp"
                && cause.to_lowercase().contains("refused")
        ),
        "{report}"
    );
    round_trip(&mut flow).await;
}

#[tokio::test]
async fn a_refused_connection_is_reported_with_its_address() {
    let port = closed_port(Ipv4Addr::LOCALHOST.into()).await;
    let err = host_port("127.0.0.1", port)
        .resolve()
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "tcp (priority 20) 127.0.0.1:{port}: tcp failed after"
        )),
        "{text}"
    );
    assert!(text.to_lowercase().contains("connection refused"), "{text}");
    // The cause is in the report, not in `source`: it is shown once.
    assert!(std::error::Error::source(&err).is_none());
    assert_eq!(format!("{err:#}"), text);
    let io = err
        .report()
        .entries()
        .iter()
        .find_map(|e| match &e.outcome {
            Outcome::Failed { cause, .. } => cause.downcast_ref::<std::io::Error>(),
            _ => None,
        })
        .expect("an io::Error in the report");
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn without_dns_a_literal_connects_and_a_name_says_dns_is_missing() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(tcp_echo(listener));
    let mut flow = host_port("127.0.0.1", addr.port())
        .resolve()
        .await
        .expect("a literal needs no DNS");
    round_trip(&mut flow).await;

    let err = host_port("localhost", addr.port())
        .resolve()
        .await
        .expect_err("no DNS in the context");
    assert_eq!(err.kind(), ResolveErrorKind::NoCandidate);
    let text = err.to_string();
    assert!(
        text.contains(
            "tcp (priority 20): not built: derivation of `ip addresses` failed (for `tcp endpoint`): \
             `localhost` is a name, not an IP address, and this context has no DNS: \
             call `Ctx::with_system_dns` or `Ctx::with_dns` after `with_builtins`"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn localhost_resolves_through_the_system_configuration() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(tcp_echo(listener));
    let mut flow = host_port("localhost", addr.port())
        .with_system_dns()
        .resolve()
        .await
        .expect("connects");
    assert_eq!(flow.info().peer_addr(), Some(&Addr::Inet(addr)));
    round_trip(&mut flow).await;
}

/// Hickory with no name server at all: nothing leaves the machine.
fn offline_dns() -> Dns {
    Dns::from_config(
        hickory_resolver::config::ResolverConfig::default(),
        hickory_resolver::config::ResolverOpts::default(),
    )
}

#[tokio::test]
async fn dns_literals_need_no_lookup_and_names_use_hosts_or_the_os() {
    let dns = offline_dns();
    // No name server is configured: a literal still resolves, a name fails.
    assert_eq!(
        dns.lookup("::1").await.expect("literal"),
        vec![IpAddr::from(Ipv6Addr::LOCALHOST)]
    );
    assert_eq!(
        dns.lookup("[::1]").await.expect("bracketed literal"),
        vec![IpAddr::from(Ipv6Addr::LOCALHOST)]
    );
    let err = dns
        .lookup("nothing.invalid")
        .await
        .expect_err("no name server");
    assert_eq!(err.host(), "nothing.invalid");
    // `{}` is the error's own text, `source` the resolver's answer, `{:#}` both.
    assert_eq!(err.to_string(), "no address for nothing.invalid");
    let cause = std::error::Error::source(&err).expect("the resolver's answer");
    // `.invalid` never exists (RFC 6761): hickory answers without a server.
    assert_eq!(cause.to_string(), "the name does not exist (NXDOMAIN)");
    assert_eq!(
        format!("{err:#}"),
        "no address for nothing.invalid: the name does not exist (NXDOMAIN)"
    );
    assert!(err.is_not_found(), "{err:?}");
    // The answer is put in words: the chain ends there, and nothing is
    // said twice.
    assert!(cause.source().is_none(), "{err:#}");

    let system = Dns::system()
        .lookup("localhost")
        .await
        .expect("localhost from /etc/hosts");
    assert!(
        system.contains(&IpAddr::from(Ipv4Addr::LOCALHOST)),
        "{system:?}"
    );
    let os = Dns::os()
        .lookup("localhost")
        .await
        .expect("localhost from the OS resolver");
    assert!(os.iter().all(|ip| ip.is_loopback()), "{os:?}");
}

#[tokio::test]
async fn a_failed_lookup_is_reported_for_the_candidate() {
    let dns = offline_dns();
    let ctx = host_port("nothing.invalid", 80).with_dns(dns);
    let err = ctx.resolve().await.expect_err("nothing resolves");
    let text = err.to_string();
    // The report line shows the lookup error with its whole chain.
    let lookup = match err.report().entries() {
        [.., last] => match &last.outcome {
            Outcome::NotBuilt(mimic::report::NotBuilt::DerivationFailed { cause, .. }) => {
                cause.clone()
            }
            other => panic!("not a failed derivation: {other}"),
        },
        [] => panic!("an empty report"),
    };
    assert!(
        text.contains(&format!(
            "tcp (priority 20): not built: derivation of `ip addresses` failed (for `tcp endpoint`): {}",
            Chain(&*lookup)
        )),
        "{text}"
    );
    assert!(
        Chain(&*lookup)
            .to_string()
            .starts_with("no address for nothing.invalid: "),
        "{text}"
    );
}

#[tokio::test]
async fn unix_socket() {
    let path = support::socket_path("unix");
    let listener = UnixListener::bind(&path).expect("bind");
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        echo_once(stream);
    });
    let ctx = Ctx::new().with_builtins().with(&unix::PATH, path.clone());
    let mut flow = ctx.resolve().await.expect("connects");
    assert_eq!(flow.info().protocol(), "unix");
    assert_eq!(flow.info().peer_addr(), Some(&Addr::Unix(path.clone())));
    assert!(flow.is::<UnixStream>());
    round_trip(&mut flow).await;
    std::fs::remove_file(&path).expect("remove the socket file");

    let err = ctx.resolve().await.expect_err("the socket is gone");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "unix (priority 10) unix:{}: unix failed after",
            path.display()
        )),
        "{text}"
    );
    assert!(text.contains("No such file or directory"), "{text}");
}

#[tokio::test]
async fn in_memory_pipes() {
    let hub = mem::Hub::new();
    let mut listener = hub.bind("svc").expect("bind");
    assert_eq!(
        hub.bind("svc").expect_err("name taken").kind(),
        std::io::ErrorKind::AddrInUse
    );
    let ctx = Ctx::new()
        .with_protocol(&mem::registration(hub.clone()))
        .with(&mem::ADDRESS, "svc".to_string());
    let server = tokio::spawn(async move {
        let flow = listener.accept().await.expect("accept");
        assert_eq!(flow.info().local_addr(), Some(&Addr::Mem("svc".into())));
        echo_once(flow);
        listener
    });
    let mut flow = ctx.resolve().await.expect("connects");
    assert_eq!(flow.info().peer_addr(), Some(&Addr::Mem("svc".into())));
    round_trip(&mut flow).await;

    drop(server.await.expect("server task"));
    let err = ctx.resolve().await.expect_err("the listener is gone");
    assert!(
        err.to_string()
            .contains("no in-memory listener named `svc`"),
        "{err}"
    );
    hub.bind("svc").expect("the name is free again");
}

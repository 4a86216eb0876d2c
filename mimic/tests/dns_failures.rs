//! What a failed lookup says: the name server's answer and who gave it,
//! against a name server on loopback that answers every query the same way,
//! or never.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig, ResolverOpts,
};
use mimic::dns::Dns;
use mimic::report::{Chain, NotBuilt, Outcome};
use mimic::{Ctx, keys};
use tokio::net::UdpSocket;

/// A name server on loopback answering every query with `rcode` and no
/// record, or never answering when `rcode` is `None`.
async fn name_server(rcode: Option<u8>) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("address");
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                return;
            };
            if let Some(answer) = rcode.and_then(|rcode| answer(&buf[..n], rcode)) {
                let _ = socket.send_to(&answer, from).await;
            }
        }
    });
    addr
}

/// The query's id and question, flagged as a response with `rcode`,
/// recursion available, no record.
fn answer(query: &[u8], rcode: u8) -> Option<Vec<u8>> {
    let mut end = 12;
    while *query.get(end)? != 0 {
        end += 1 + usize::from(query[end]);
    }
    let question = query.get(12..end + 5)?;
    let mut out = vec![
        query[0],
        query[1],
        0x81,
        0x80 | rcode,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
    ];
    out.extend_from_slice(question);
    Some(out)
}

fn dns(server: SocketAddr, timeout: Duration) -> Dns {
    let mut connection = ConnectionConfig::new(ProtocolConfig::Udp);
    connection.port = server.port();
    let servers = vec![NameServerConfig::new(server.ip(), true, vec![connection])];
    let mut options = ResolverOpts::default();
    options.timeout = timeout;
    options.attempts = 1;
    Dns::from_config(ResolverConfig::from_name_servers(servers), options)
}

#[tokio::test]
async fn a_name_that_does_not_exist_says_nxdomain_and_who_said_it() {
    let server = name_server(Some(3)).await;
    let err = dns(server, Duration::from_secs(5))
        .lookup("dockr")
        .await
        .expect_err("NXDOMAIN");
    assert!(err.is_not_found() && !err.is_timeout(), "{err:?}");
    assert_eq!(err.to_string(), "no address for dockr");
    assert_eq!(
        format!("{err:#}"),
        format!("no address for dockr: the name does not exist (NXDOMAIN from {server})")
    );
    let cause = std::error::Error::source(&err).expect("the answer");
    assert!(cause.source().is_none(), "said once: {err:#}");
}

#[tokio::test]
async fn a_failing_server_is_named_with_its_answer() {
    let server = name_server(Some(2)).await;
    let err = dns(server, Duration::from_secs(5))
        .lookup("db.internal")
        .await
        .expect_err("SERVFAIL");
    assert!(!err.is_not_found(), "{err:?}");
    assert_eq!(
        format!("{err:#}"),
        format!(
            "no address for db.internal: the DNS server failed to answer (SERVFAIL from {server})"
        )
    );
}

#[tokio::test]
async fn a_silent_server_times_out_and_says_after_how_long() {
    let server = name_server(None).await;
    let err = dns(server, Duration::from_millis(300))
        .lookup("dockr")
        .await
        .expect_err("no answer");
    assert!(err.is_timeout() && !err.is_not_found(), "{err:?}");
    let text = format!("{err:#}");
    let expected = format!("no address for dockr: no answer from {server}: timed out after ");
    assert!(text.starts_with(&expected), "{text}");
    assert!(text.ends_with(" ms") || text.ends_with(" s"), "{text}");
}

/// In a resolution, the report line carries the same words.
#[tokio::test]
async fn the_report_shows_the_answer() {
    let server = name_server(Some(3)).await;
    let ctx = Ctx::new()
        .with_builtins()
        .with_dns(dns(server, Duration::from_secs(5)))
        .with(&keys::HOST, "dockr".to_string())
        .with(&keys::PORT, 80);
    let err = ctx.resolve().await.expect_err("NXDOMAIN");
    let cause = err
        .report()
        .entries()
        .iter()
        .find_map(|e| match &e.outcome {
            Outcome::NotBuilt(NotBuilt::DerivationFailed { cause, .. }) => Some(cause.clone()),
            _ => None,
        })
        .expect("the DNS derivation failed");
    let line = format!("no address for dockr: the name does not exist (NXDOMAIN from {server})");
    assert_eq!(Chain(&*cause).to_string(), line);
    assert!(err.to_string().contains(&line), "{err}");
}

//! Every way a candidate can end, in one context.
//!
//! `explain()` shows the plan without connecting: which candidates could not
//! be built and why (a missing input, a derivation that does not apply, one
//! that fails, a cycle), and which would be tried. `resolve()` then races
//! the rest: one refused, one timed out, one cancelled when another won, one
//! connected, one never attempted. The timings are chosen so that every run
//! shows the same outcomes.
//!
//! Run it with `cargo run -p examples --example explain`.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mimic::tcp::{Tcp, TcpEndpoint};
use mimic::{Ctx, Key, Protocol, Registration, Strategy, keys, req};
use tokio::io::DuplexStream;
use tokio::net::TcpListener;

/// The race starts the next candidate after this long...
const STAGGER: Duration = Duration::from_millis(200);
/// ...or as soon as one fails or runs out of this time.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);

// Inputs of derivations; `proxy address` is never set.
static PROXY_ADDRESS: Key<SocketAddr> = Key::new("proxy address");
static CONFIGURED: Key<String> = Key::new("configured address");
static BACKUP: Key<TcpEndpoint> = Key::new("backup endpoint");

/// A protocol whose connections never complete, like a server that accepts
/// nothing and answers nothing.
struct Stall;

impl Protocol for Stall {
    type Endpoint = &'static str;
    type Flow = DuplexStream;

    async fn connect(&self, _: &&'static str) -> io::Result<DuplexStream> {
        std::future::pending().await
    }

    fn describe(&self, endpoint: &&'static str) -> String {
        endpoint.to_string()
    }
}

/// A TCP registration on an endpoint key of its own, named after it.
fn tcp(name: &'static str, priority: i32) -> Registration<TcpEndpoint> {
    Registration::new(name, priority, Tcp::new())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let open = listener.local_addr()?;
    // A port that was just free: nothing listens there any more.
    let closed = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;

    // Candidates with an endpoint, in priority order.
    let closed_port = tcp("closed-port", 1);
    let black_hole = Registration::new("black-hole", 2, Stall);
    let tarpit = Registration::new("tarpit", 3, Stall);
    let server = tcp("server", 4);
    let backup = tcp("backup", 5);
    // Candidates whose endpoint cannot be built.
    let via_proxy = tcp("via-proxy", 6);
    let ipv6_only = tcp("ipv6-only", 7);
    let from_config = tcp("from-config", 8);
    let failover = tcp("failover", 9);

    let ctx = Ctx::new()
        .with_strategy(Strategy::Race { stagger: STAGGER })
        .with_attempt_timeout(ATTEMPT_TIMEOUT)
        .with(&keys::ADDRS, vec![open.ip()])
        .with(&keys::PORT, open.port())
        .with(&CONFIGURED, "localhost:http".to_string())
        // Refused: nothing listens on `closed`. The next one starts at once.
        .with_protocol(&closed_port)
        .with(closed_port.endpoint(), closed.into())
        // Timed out: still running when ATTEMPT_TIMEOUT passes.
        .with_protocol(&black_hole)
        .with(black_hole.endpoint(), "never answers")
        // Cancelled: started after STAGGER, still running when `server` connects.
        .with_protocol(&tarpit)
        .with(tarpit.endpoint(), "never answers either")
        // Connected: starts as soon as `black-hole` times out.
        .with_protocol(&server)
        .with(server.endpoint(), open.into())
        // Not attempted: `server` connected first.
        .with_protocol(&backup)
        .with(backup.endpoint(), open.into())
        // Missing input: `proxy address` has no value and no derivation.
        .with_protocol(&via_proxy)
        .derive(
            via_proxy.endpoint(),
            req(&PROXY_ADDRESS),
            |proxy| async move { Ok::<_, Infallible>(Some(TcpEndpoint::from(proxy))) },
        )
        // Not applicable: the host has no IPv6 address.
        .with_protocol(&ipv6_only)
        .derive(
            ipv6_only.endpoint(),
            (req(&keys::ADDRS), req(&keys::PORT)),
            |(addrs, port)| async move {
                let v6 = addrs.into_iter().filter(IpAddr::is_ipv6);
                let addrs: Vec<_> = v6.map(|ip| SocketAddr::new(ip, port)).collect();
                Ok::<_, Infallible>((!addrs.is_empty()).then(|| TcpEndpoint::new(addrs)))
            },
        )
        // Derivation failed: `localhost:http` is not a socket address.
        .with_protocol(&from_config)
        .derive(
            from_config.endpoint(),
            req(&CONFIGURED),
            |text| async move { text.parse::<SocketAddr>().map(|addr| Some(addr.into())) },
        )
        // Cycle: `failover` and `backup endpoint` are derived from each other.
        .with_protocol(&failover)
        .derive(failover.endpoint(), req(&BACKUP), |backup| async move {
            Ok::<_, Infallible>(Some(backup))
        })
        .derive(&BACKUP, req(failover.endpoint()), |failover| async move {
            Ok::<_, Infallible>(Some(failover))
        });

    println!("explain(): the plan; derivations run, nothing connects\n");
    print!("{}", ctx.explain().await);

    println!(
        "\nresolve(): a race with a {} ms stagger and {} ms per attempt\n",
        STAGGER.as_millis(),
        ATTEMPT_TIMEOUT.as_millis()
    );
    let flow = ctx.resolve().await?;
    if let Some(report) = flow.info().report() {
        print!("{report}");
    }
    let peer = flow
        .info()
        .peer_addr()
        .ok_or("the flow has no peer address")?;
    println!("\nconnected over `{}` to {peer}", flow.info().protocol());
    Ok(())
}

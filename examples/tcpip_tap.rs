//! paf on a TAP device, at the stack's own address: the kernel side of the
//! device reaches it like any other host.
//!
//! ```sh
//! sudo ip tuntap add tap0 mode tap user $USER
//! sudo ip addr add 10.0.0.1/24 dev tap0 && sudo ip link set tap0 up
//! cargo run -p examples --example tcpip_tap -- --tap tap0 --cidr 10.0.0.2/24
//! curl http://10.0.0.2/            # HTTP/1.1
//! curl --http2-prior-knowledge http://10.0.0.2/bytes/1000000 -o /dev/null
//! curl -k https://10.0.0.2/        # TLS, h2 by ALPN
//! ping 10.0.0.2
//! ```
//!
//! Options:
//! - `--tap NAME` (required), `--mtu N` (default 1500);
//! - `--cidr ADDR/PREFIX` (repeatable: IPv4 and IPv6), `--gateway IP`,
//!   `--dns IP`, or `--dhcp` for an IPv4 address, gateway and DNS servers;
//! - `--cert-out FILE`: write the certificate made on the spot (for the
//!   names `tcpip.test` and the stack's addresses) to FILE;
//! - `--pcap FILE`: capture every frame;
//! - `--fetch URL`: instead of serving, fetch URL with paf's client through
//!   the stack (host names resolved by the stack's DNS), print the status
//!   and the body, and exit.
//!
//! It serves HTTP/1.1 and h2c on port 80, TLS (HTTP/1.1 and h2 by ALPN) on
//! 443; `/bytes/N` answers N bytes, anything else a greeting. Ctrl-C or
//! SIGTERM shuts it down gracefully.

use std::convert::Infallible;
use std::error::Error;
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use conduit::listener::{Identity, TlsAcceptor, TlsListener};
use conduit::serve::Server;
use http::{Request, Response};
use paf::Body;
use paf::server::{Auto, Serve};
use tcpip::link::{Capture, Link, TapLink};
use tcpip::{Cidr, Config, Stack};

#[derive(Debug, Default)]
struct Args {
    tap: String,
    mtu: usize,
    cidrs: Vec<Cidr>,
    gateway: Option<IpAddr>,
    dns: Vec<IpAddr>,
    dhcp: bool,
    cert_out: Option<String>,
    pcap: Option<String>,
    fetch: Option<String>,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        mtu: 1500,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--dhcp" {
            args.dhcp = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--tap" => args.tap = value,
            "--mtu" => args.mtu = value.parse()?,
            "--cidr" => args.cidrs.push(value.parse()?),
            "--gateway" => args.gateway = Some(value.parse()?),
            "--dns" => args.dns.push(value.parse()?),
            "--cert-out" => args.cert_out = Some(value),
            "--pcap" => args.pcap = Some(value),
            "--fetch" => args.fetch = Some(value),
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }
    if args.tap.is_empty() || (args.cidrs.is_empty() && !args.dhcp) {
        return Err(
            "usage: tcpip_tap --tap NAME (--cidr ADDR/PREFIX | --dhcp) [--gateway IP] \
                    [--dns IP] [--mtu N] [--cert-out FILE] [--pcap FILE] [--fetch URL]"
                .into(),
        );
    }
    Ok(args)
}

fn stack(args: &Args) -> Result<Stack, Box<dyn Error>> {
    let mut config = Config::new().dhcp(args.dhcp);
    for cidr in &args.cidrs {
        config = config.address(*cidr);
    }
    if let Some(gateway) = args.gateway {
        config = config.gateway(gateway);
    }
    for dns in &args.dns {
        config = config.dns_server(*dns);
    }
    let tap = TapLink::open_with_mtu(&args.tap, args.mtu)?;
    let link: Box<dyn Link> = match &args.pcap {
        Some(path) => Box::new(Capture::new(tap, path)?),
        None => Box::new(tap),
    };
    Ok(Stack::new(link, config)?)
}

async fn handle(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    if let Some(n) = req.uri().path().strip_prefix("/bytes/") {
        let n: usize = n.parse().unwrap_or(0).min(1 << 30);
        return Ok(Response::new(Body::full(Bytes::from(vec![b'x'; n]))));
    }
    let text = format!(
        "Hello from a user-space TCP/IP stack, over {:?}!\n",
        req.version()
    );
    Ok(Response::new(Body::full(text)))
}

/// A certificate for `tcpip.test` and the stack's addresses.
fn identity(stack: &Stack, cert_out: Option<&str>) -> Result<Identity, Box<dyn Error>> {
    let mut names = vec!["tcpip.test".to_string()];
    names.extend(stack.addresses().iter().map(|c| c.addr().to_string()));
    let certified = rcgen::generate_simple_self_signed(names)?;
    let cert = certified.cert.pem();
    if let Some(path) = cert_out {
        std::fs::write(path, &cert)?;
    }
    let key = certified.signing_key.serialize_pem();
    Ok(Identity::from_pem(cert.as_bytes(), key.as_bytes())?)
}

async fn serve(stack: Stack, args: &Args) -> Result<(), Box<dyn Error>> {
    let ip = stack.ipv4().await;
    let auto = Auto::new();
    let acceptor = TlsAcceptor::builder()
        .identity(identity(&stack, args.cert_out.as_deref())?)
        .alpn(auto.alpn_protocols())
        .build()?;
    let server = Server::builder()
        .listener(stack.listen("0.0.0.0:80".parse()?)?)
        .listener(TlsListener::new(
            stack.listen("0.0.0.0:443".parse()?)?,
            acceptor,
        ))
        .on_error(|failure| eprintln!("tcpip_tap: {failure:#}"))
        .serve(auto.handler(paf::service_fn(handle)));
    println!("tcpip_tap: serving on {ip} (http://{ip}/ and https://{ip}/)");
    stop_signal().await?;
    let report = server.shutdown(Duration::from_secs(5)).await;
    eprintln!(
        "tcpip_tap: {} finished, {} aborted",
        report.finished, report.aborted
    );
    Ok(())
}

async fn stop_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = term.recv() => Ok(()),
    }
}

async fn fetch(stack: Stack, url: &str) -> Result<bool, Box<dyn Error>> {
    stack.ipv4().await;
    let resolver = conduit::Resolver::builder()
        .base(stack.context())
        .dns(None)
        .services_file(None)
        .build()?;
    let client = paf::Client::builder()
        .resolver(resolver)
        .proxies(paf::client::Proxies::none())
        .build()?;
    let res = client.get(url).await?;
    let status = res.status();
    println!(
        "{status} {:?} over {:?}",
        res.version(),
        res.connection().protocols().collect::<Vec<_>>()
    );
    let body = res.bytes().await?;
    println!("{}", String::from_utf8_lossy(&body));
    Ok(status.is_success())
}

#[tokio::main]
async fn main() {
    let run = async {
        let args = parse_args()?;
        let stack = stack(&args)?;
        match &args.fetch {
            Some(url) => fetch(stack, url).await,
            None => serve(stack, &args).await.map(|()| true),
        }
    };
    match run.await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(err) => {
            eprintln!("tcpip_tap: {}", mimic::report::Chain(&*err));
            std::process::exit(2);
        }
    }
}

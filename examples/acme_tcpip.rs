//! The unikernel case: a certificate from an ACME CA with everything on the
//! user-space TCP/IP stack. The ACME client (paf's, through the stack), the
//! challenge answers and the HTTPS server all run on smoltcp over a TAP
//! device; the kernel's side of the device only carries frames to the CA.
//!
//! ```sh
//! sudo ip tuntap add tap0 mode tap user $USER
//! sudo ip addr add 10.0.0.1/24 dev tap0 && sudo ip link set tap0 up
//! # a CA reachable from the stack, such as pebble on 10.0.0.1:14000 whose
//! # DNS answers 10.0.0.2 for every name
//! cargo run -p examples --example acme_tcpip -- --tap tap0 --cidr 10.0.0.2/24 \
//!     --directory https://10.0.0.1:14000/dir --root pebble-cert.pem --name example.com
//! curl --cacert pebble-root.pem --resolve example.com:443:10.0.0.2 https://example.com/
//! ```
//!
//! Options:
//! - `--tap NAME`, `--cidr ADDR/PREFIX`, `--gateway IP`, `--dns IP` (the
//!   stack, as in the `tcpip_tap` example);
//! - `--directory URL` (required), `--root PEM` (a CA certificate to trust
//!   for the directory's HTTPS, repeatable), `--name NAME` (repeatable, at
//!   least one), `--challenge http-01|tls-alpn-01`, `--cache DIR`,
//!   `--email ADDR`.
//!
//! It serves HTTP on the stack's port 80 (with HTTP-01 answers) and HTTPS
//! on 443 (with TLS-ALPN-01 answers), prints each ACME event, and renews
//! the certificate until Ctrl-C or SIGTERM.

use std::convert::Infallible;
use std::error::Error;
use std::net::IpAddr;
use std::time::Duration;

use acme::{Acme, ChallengeKind};
use conduit::listener::{TlsAcceptor, TlsListener};
use conduit::serve::Server;
use http::{Request, Response};
use mimic::Ctx;
use paf::Body;
use paf::server::{Auto, Serve};
use tcpip::link::TapLink;
use tcpip::{Cidr, Config, Stack};
use tower_layer::Layer;

#[derive(Debug, Default)]
struct Args {
    tap: String,
    cidrs: Vec<Cidr>,
    gateway: Option<IpAddr>,
    dns: Vec<IpAddr>,
    directory: String,
    roots: Vec<String>,
    names: Vec<String>,
    challenge: ChallengeKind,
    cache: Option<String>,
    email: Option<String>,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--tap" => args.tap = value,
            "--cidr" => args.cidrs.push(value.parse()?),
            "--gateway" => args.gateway = Some(value.parse()?),
            "--dns" => args.dns.push(value.parse()?),
            "--directory" => args.directory = value,
            "--root" => args.roots.push(value),
            "--name" => args.names.push(value),
            "--challenge" => args.challenge = value.parse()?,
            "--cache" => args.cache = Some(value),
            "--email" => args.email = Some(value),
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }
    if args.tap.is_empty() || args.cidrs.is_empty() || args.directory.is_empty() {
        return Err(
            "usage: acme_tcpip --tap NAME --cidr ADDR/PREFIX --directory URL \
                    --name NAME [--name NAME...] [--root PEM] [--challenge KIND] \
                    [--cache DIR] [--email ADDR] [--gateway IP] [--dns IP]"
                .into(),
        );
    }
    Ok(args)
}

fn stack(args: &Args) -> Result<Stack, Box<dyn Error>> {
    let mut config = Config::new();
    for cidr in &args.cidrs {
        config = config.address(*cidr);
    }
    if let Some(gateway) = args.gateway {
        config = config.gateway(gateway);
    }
    for dns in &args.dns {
        config = config.dns_server(*dns);
    }
    Ok(Stack::new(TapLink::open(&args.tap)?, config)?)
}

/// paf's client connecting only through the stack, trusting `roots` on
/// top of the webpki roots.
fn client(stack: &Stack, roots: &[String]) -> Result<paf::Client, Box<dyn Error>> {
    let mut tls = mimic::tls::Tls::builder();
    for root in roots {
        tls = tls.add_ca_file(root);
    }
    let base = stack.install(tls.build()?.install(Ctx::new()));
    let resolver = conduit::Resolver::builder()
        .base(base)
        .dns(None)
        .services_file(None)
        .build()?;
    Ok(paf::Client::builder()
        .resolver(resolver)
        .proxies(paf::client::Proxies::none())
        .build()?)
}

fn manager(stack: &Stack, args: &Args) -> Result<Acme, Box<dyn Error>> {
    let mut builder = Acme::builder()
        .directory(&args.directory)
        .names(&args.names)
        .challenge(args.challenge)
        .accept_terms()
        .client(client(stack, &args.roots)?)
        .on_event(|event| println!("acme_tcpip: acme: {event}"));
    if let Some(dir) = &args.cache {
        builder = builder.cache(dir);
    }
    if let Some(email) = &args.email {
        builder = builder.contact(email);
    }
    Ok(builder.build()?)
}

async fn hello(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let text = format!(
        "Hello over {:?}, with a certificate from ACME, from a user-space TCP/IP stack!\n",
        req.version()
    );
    Ok(Response::new(Body::full(text)))
}

async fn serve(stack: Stack, args: &Args) -> Result<(), Box<dyn Error>> {
    let ip = stack.ipv4().await;
    let acme = manager(&stack, args)?;
    let auto = Auto::new();
    let acceptor = TlsAcceptor::from_config(acme.server_config(&auto.alpn_protocols())?);
    let server = Server::builder()
        .listener(stack.listen("0.0.0.0:80".parse()?)?)
        .listener(TlsListener::new(
            stack.listen("0.0.0.0:443".parse()?)?,
            acceptor,
        ))
        .serve(auto.handler(acme.http01_layer().layer(paf::service_fn(hello))));
    println!("acme_tcpip: serving on {ip} (http://{ip}/ and https://{ip}/)");
    let renewals = tokio::spawn(acme.run());
    stop_signal().await?;
    renewals.abort();
    server.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

async fn stop_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = term.recv() => Ok(()),
    }
}

#[tokio::main]
async fn main() {
    let run = async {
        let args = parse_args()?;
        let stack = stack(&args)?;
        serve(stack, &args).await
    };
    if let Err(err) = run.await {
        eprintln!("acme_tcpip: {}", mimic::report::Chain(&*err));
        std::process::exit(2);
    }
}

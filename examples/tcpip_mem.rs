//! Two user-space TCP/IP stacks in one process, joined by an in-memory
//! link: paf's server on one, paf's client on the other, over TLS (h2 by
//! ALPN), then HTTP/1.1 in clear text. No privileges, no kernel sockets.
//!
//! ```sh
//! cargo run -p examples --example tcpip_mem
//! cargo run -p examples --example tcpip_mem -- --pcap /tmp/tcpip.pcap   # then: tcpdump -r /tmp/tcpip.pcap
//! ```

use std::convert::Infallible;
use std::error::Error;
use std::time::Duration;

use conduit::listener::{Identity, TlsAcceptor, TlsListener};
use conduit::serve::Server;
use conduit::{Destination, Resolver};
use http::{Request, Response};
use paf::Body;
use paf::server::{Auto, Serve};
use tcpip::link::{Capture, Link, MemLink, MemLinkConfig};
use tcpip::{Config, Stack};

async fn hello(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let text = format!("Hello over {:?} from the server's stack!", req.version());
    Ok(Response::new(Body::full(text)))
}

/// paf on the server's stack: port 443 with TLS, port 80 in clear text.
fn server(stack: &Stack, identity: Identity) -> Result<Server, Box<dyn Error>> {
    let auto = Auto::new();
    let acceptor = TlsAcceptor::builder()
        .identity(identity)
        .alpn(auto.alpn_protocols())
        .build()?;
    Ok(Server::builder()
        .listener(TlsListener::new(
            stack.listen("10.0.0.2:443".parse()?)?,
            acceptor,
        ))
        .listener(stack.listen("10.0.0.2:80".parse()?)?)
        .serve(auto.handler(paf::service_fn(hello))))
}

/// paf's client on the client's stack, trusting `ca_pem`, sending
/// `server.test` to the server's address.
fn client(stack: &Stack, ca_pem: &str) -> Result<paf::Client, Box<dyn Error>> {
    let tls = mimic::tls::Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(ca_pem.as_bytes().to_vec())
        .build()?;
    let resolver = Resolver::builder()
        .base(stack.install(tls.install(mimic::Ctx::new())))
        .dns(None)
        .services_file(None)
        .static_host(
            "server.test",
            Destination::Host {
                host: "10.0.0.2".into(),
                port: None,
            },
        )
        .build()?;
    Ok(paf::Client::builder()
        .resolver(resolver)
        .proxies(paf::client::Proxies::none())
        .build()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let pcap = std::env::args().skip_while(|a| a != "--pcap").nth(1);
    let (a, b) = MemLink::pair(MemLinkConfig::default());
    let a: Box<dyn Link> = match &pcap {
        Some(path) => Box::new(Capture::new(a, path)?),
        None => Box::new(a),
    };
    let client_stack = Stack::new(a, Config::new().address("10.0.0.1/24".parse()?))?;
    let server_stack = Stack::new(b, Config::new().address("10.0.0.2/24".parse()?))?;

    let certified = rcgen::generate_simple_self_signed(vec!["server.test".to_string()])?;
    let ca_pem = certified.cert.pem();
    let identity = Identity::from_pem(
        ca_pem.as_bytes(),
        certified.signing_key.serialize_pem().as_bytes(),
    )?;
    let server = server(&server_stack, identity)?;
    let client = client(&client_stack, &ca_pem)?;

    for url in ["https://server.test/", "http://server.test/"] {
        let res = client.get(url).await?;
        let info = res.connection().clone();
        let stack: Vec<_> = info.protocols().collect();
        let peer = info
            .peer_addr()
            .map(ToString::to_string)
            .unwrap_or_default();
        println!(
            "{url}: {} {:?} over {} to {peer}",
            res.status(),
            res.version(),
            stack.join("/")
        );
        println!("  {}", res.text().await?);
    }
    let report = server.shutdown(Duration::from_secs(5)).await;
    println!(
        "server: {} connections finished, {} aborted",
        report.finished, report.aborted
    );
    if let Some(path) = pcap {
        println!("frames captured in {path}");
    }
    Ok(())
}

//! The stack as a mimic protocol, and its DNS as a mimic derivation.
//!
//! The protocol is registered on mimic's own TCP endpoint key
//! ([`mimic::tcp::ENDPOINT`]), so everything that builds a TCP endpoint
//! (conduit's resolver and its rules, `keys::HOST` + `keys::PORT`, a
//! literal `TcpEndpoint`) reaches it unchanged, and every layer (TLS, h2
//! over TLS) runs over it.
//!
//! - Instead of the kernel's TCP: [`Stack::context`] (TLS, the stack's TCP
//!   and its DNS, nothing of the OS), or [`Stack::install`] over a context
//!   of your own.
//! - Beside it: `Ctx::new().with_builtins().with_protocol(&registration(&stack))`;
//!   both are then candidates for the same endpoint, raced as usual.
//!
//! ```no_run
//! use mimic::keys;
//! use tcpip::{Config, Stack};
//! use tcpip::link::{MemLink, MemLinkConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (link, _peer) = MemLink::pair(MemLinkConfig::default());
//! let stack = Stack::new(link, Config::new()
//!     .address("10.0.0.2/24".parse()?)
//!     .dns_server("10.0.0.1".parse()?))?;
//! let flow = stack
//!     .context()
//!     .with(&keys::HOST, "service.test".to_string())
//!     .with(&keys::PORT, 80)
//!     .resolve()
//!     .await?;
//! assert_eq!(flow.info().protocol(), "tcpip");
//! # Ok(()) }
//! ```

use std::io;

use mimic::tcp::{self, TcpEndpoint};
use mimic::{Ctx, Info, Protocol, Registration, keys, req};

use crate::stack::Stack;
use crate::tcp::TcpStream;

/// The name of the registration, and the protocol of its flows.
pub const NAME: &str = "tcpip";

/// The priority of [`registration`], the same as the kernel's TCP.
pub const PRIORITY: i32 = tcp::PRIORITY;

/// TCP through a [`Stack`], as a mimic [`Protocol`] on mimic's
/// [`TcpEndpoint`].
#[derive(Clone, Debug)]
pub struct StackTcp {
    stack: Stack,
}

impl StackTcp {
    /// TCP through `stack`.
    pub fn new(stack: Stack) -> StackTcp {
        StackTcp { stack }
    }
}

impl Protocol for StackTcp {
    type Endpoint = TcpEndpoint;
    type Flow = TcpStream;

    /// Connects to the endpoint's addresses one after the other (the
    /// resolver normally splits them and races them instead).
    async fn connect(&self, endpoint: &TcpEndpoint) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in endpoint.addrs() {
            match self.stack.connect(*addr).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "tcp endpoint has no address")
        }))
    }

    fn split(&self, endpoint: &TcpEndpoint) -> Vec<TcpEndpoint> {
        if endpoint.addrs().len() <= 1 {
            return vec![endpoint.clone()];
        }
        tcp::rfc8305_order(endpoint.addrs())
            .into_iter()
            .map(TcpEndpoint::from)
            .collect()
    }

    fn describe(&self, endpoint: &TcpEndpoint) -> String {
        endpoint.to_string()
    }

    fn info(&self, _: &TcpEndpoint, flow: &TcpStream) -> Info {
        Info::default()
            .with_local_addr(flow.local_addr())
            .with_peer_addr(flow.peer_addr())
    }
}

/// A registration of TCP through `stack`, named [`NAME`], at [`PRIORITY`],
/// on [`mimic::tcp::ENDPOINT`].
pub fn registration(stack: &Stack) -> Registration<TcpEndpoint> {
    Registration::with_key(&tcp::ENDPOINT, NAME, PRIORITY, StackTcp::new(stack.clone()))
}

impl Stack {
    /// Adds to `ctx` what connecting through this stack needs: the
    /// [`registration`], the TCP endpoint derived from
    /// [`keys::ADDRS`] and [`keys::PORT`], and [`keys::ADDRS`] derived from
    /// [`keys::HOST`] by the stack's DNS ([`with_dns`](Stack::with_dns)).
    pub fn install(&self, ctx: Ctx) -> Ctx {
        let ctx = ctx.with_protocol(&registration(self)).derive(
            &tcp::ENDPOINT,
            (req(&keys::ADDRS), req(&keys::PORT)),
            |(addrs, port)| async move {
                let addrs = addrs
                    .into_iter()
                    .map(|ip| std::net::SocketAddr::new(ip, port));
                Ok::<_, std::convert::Infallible>(Some(TcpEndpoint::new(addrs)))
            },
        );
        self.with_dns(ctx)
    }

    /// Derives [`keys::ADDRS`] from [`keys::HOST`] with
    /// [`lookup`](Stack::lookup), replacing the key's derivation: host
    /// names are resolved through the stack, with no OS resolver. IP
    /// literals are not looked up.
    pub fn with_dns(&self, ctx: Ctx) -> Ctx {
        let stack = self.clone();
        ctx.derive(&keys::ADDRS, req(&keys::HOST), move |host: String| {
            let stack = stack.clone();
            async move { stack.lookup(&host).await.map(Some) }
        })
    }

    /// A context that connects only through this stack: the TLS layer
    /// (webpki roots; set [`mimic::tls::SERVER_NAME`] to use it), TCP
    /// through the stack, and the stack's DNS. Use it as the base of a
    /// `conduit::Resolver` built with `.dns(None)`, so that the resolver
    /// keeps the stack's DNS.
    pub fn context(&self) -> Ctx {
        self.install(mimic::tls::Tls::new().install(Ctx::new()))
    }
}

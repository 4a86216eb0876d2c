//! The standard set of derivations and registrations.

use std::error::Error as StdError;
use std::fmt;

use crate::Ctx;

impl Ctx {
    /// Registers every built-in protocol enabled by cargo features, with
    /// their default priorities, and the standard derivations:
    ///
    /// - `unix` (priority 10) on [`unix::PATH`](crate::unix::PATH);
    /// - `tcp` (priority 20) on [`tcp::ENDPOINT`](crate::tcp::ENDPOINT),
    ///   derived from [`keys::ADDRS`](crate::keys::ADDRS) and [`keys::PORT`](crate::keys::PORT);
    /// - [`keys::ADDRS`](crate::keys::ADDRS) derived from
    ///   [`keys::HOST`](crate::keys::HOST) when the host is an IP literal. A
    ///   host name fails that derivation with a message saying the context
    ///   has no DNS: add DNS with [`with_system_dns`](Ctx::with_system_dns)
    ///   or [`with_dns`](Ctx::with_dns) *after* this call (the later
    ///   derivation of a key replaces the earlier one);
    /// - the `tls` layer (priority 0) on [`tls::ENDPOINT`](crate::tls::ENDPOINT),
    ///   derived from [`tls::SERVER_NAME`](crate::tls::SERVER_NAME) and
    ///   [`tls::ALPN`](crate::tls::ALPN), with webpki roots: set the server
    ///   name and every candidate is wrapped in TLS.
    ///
    /// Features only add protocols: what this does for a host does not
    /// depend on the `dns` feature, which provides the DNS derivation without
    /// installing it. `mem` is not included: it needs the
    /// [`mem::Hub`](crate::mem::Hub) its listeners use.
    ///
    /// ```
    /// use mimic::{Ctx, keys};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let named = Ctx::new()
    ///     .with_builtins()
    ///     .with(&keys::HOST, "localhost".to_string())
    ///     .with(&keys::PORT, 80);
    /// let err = named.resolve().await.expect_err("no DNS in this context");
    /// assert!(err.to_string().contains("this context has no DNS"));
    /// # }
    /// ```
    pub fn with_builtins(self) -> Ctx {
        let ctx = self;
        #[cfg(all(feature = "unix", unix))]
        let ctx = ctx.with_protocol(&crate::unix::registration());
        #[cfg(feature = "tcp")]
        let ctx = ctx
            .with_protocol(&crate::tcp::registration(crate::tcp::Tcp::new()))
            .derive(
                &crate::tcp::ENDPOINT,
                (
                    crate::req(&crate::keys::ADDRS),
                    crate::req(&crate::keys::PORT),
                ),
                |(addrs, port)| async move {
                    let addrs = addrs
                        .into_iter()
                        .map(|ip| std::net::SocketAddr::new(ip, port));
                    Ok::<_, std::convert::Infallible>(Some(crate::tcp::TcpEndpoint::new(addrs)))
                },
            );
        let ctx = ctx.derive(
            &crate::keys::ADDRS,
            crate::req(&crate::keys::HOST),
            |host: String| async move {
                match crate::keys::ip_literal(&host) {
                    Some(ip) => Ok(Some(vec![ip])),
                    None => Err(NoDns { host }),
                }
            },
        );
        #[cfg(feature = "tls")]
        let ctx = crate::tls::Tls::new().install(ctx);
        ctx
    }
}

/// A host name in a context that resolves IP literals only.
#[derive(Debug)]
struct NoDns {
    host: String,
}

impl fmt::Display for NoDns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is a name, not an IP address, and this context has no DNS: \
             call `Ctx::with_system_dns` or `Ctx::with_dns` after `with_builtins`",
            self.host
        )
    }
}

impl StdError for NoDns {}

//! The standard set of derivations and registrations.

use crate::Ctx;

impl Ctx {
    /// Registers every built-in protocol enabled by cargo features, with
    /// their default priorities, and the standard derivations:
    ///
    /// - `unix` (priority 10) on [`unix::PATH`](crate::unix::PATH);
    /// - `tcp` (priority 20) on [`tcp::ENDPOINT`](crate::tcp::ENDPOINT),
    ///   derived from [`keys::ADDRS`](crate::keys::ADDRS) and [`keys::PORT`](crate::keys::PORT);
    /// - [`keys::ADDRS`](crate::keys::ADDRS) derived from [`keys::HOST`](crate::keys::HOST) by DNS (IP literals only
    ///   without the `dns` feature);
    /// - the `tls` layer (priority 0) on [`tls::ENDPOINT`](crate::tls::ENDPOINT),
    ///   derived from [`tls::SERVER_NAME`](crate::tls::SERVER_NAME) and
    ///   [`tls::ALPN`](crate::tls::ALPN), with webpki roots: set the server
    ///   name and every candidate is wrapped in TLS.
    ///
    /// `mem` is not included: it needs the [`mem::Hub`](crate::mem::Hub) its
    /// listeners use.
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
        #[cfg(feature = "dns")]
        let ctx = ctx.with_dns(crate::dns::Dns::system());
        #[cfg(not(feature = "dns"))]
        let ctx = ctx.derive(
            &crate::keys::ADDRS,
            crate::req(&crate::keys::HOST),
            |host: String| async move {
                let ip = crate::keys::ip_literal(&host);
                Ok::<_, std::convert::Infallible>(ip.map(|ip| vec![ip]))
            },
        );
        #[cfg(feature = "tls")]
        let ctx = crate::tls::Tls::new().install(ctx);
        ctx
    }
}

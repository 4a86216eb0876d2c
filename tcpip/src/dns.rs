//! Host names to addresses through the stack's own DNS client.

use std::future::poll_fn;
use std::net::IpAddr;
use std::task::Poll;

use smoltcp::socket::dns::{self, GetQueryResultError, QueryHandle};
use smoltcp::wire::DnsQueryType;

use crate::error::Error;
use crate::stack::Stack;

/// Cancels a query that was dropped before it finished.
struct Query<'a> {
    stack: &'a Stack,
    handle: Option<QueryHandle>,
}

impl Drop for Query<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let mut core = self.stack.shared.lock();
            let dns = core.dns;
            core.sockets
                .get_mut::<dns::Socket>(dns)
                .cancel_query(handle);
        }
    }
}

/// An IP literal, bracketed or not.
pub(crate) fn ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

impl Stack {
    /// The addresses of `host`, asked of the stack's DNS servers (from
    /// [`Config::dns_server`](crate::Config::dns_server) or DHCP) over the
    /// stack itself: no resolver of the operating system is used. AAAA is
    /// asked when the stack has an IPv6 address, A when it has an IPv4 one
    /// (or none at all); IPv6 answers come first. An IP literal is returned
    /// as is.
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, Error> {
        if let Some(ip) = ip_literal(host) {
            return Ok(vec![ip]);
        }
        let addresses = self.addresses();
        let v6 = addresses.iter().any(|c| c.addr().is_ipv6());
        let v4 = addresses.iter().any(|c| c.addr().is_ipv4()) || !v6;
        let (aaaa, a) = tokio::join!(
            async {
                match v6 {
                    true => self.query(host, DnsQueryType::Aaaa).await,
                    false => Ok(Vec::new()),
                }
            },
            async {
                match v4 {
                    true => self.query(host, DnsQueryType::A).await,
                    false => Ok(Vec::new()),
                }
            }
        );
        let mut found = Vec::new();
        let mut failure = None;
        for answer in [aaaa, a] {
            match answer {
                Ok(addrs) => found.extend(addrs),
                Err(err) => failure = Some(err),
            }
        }
        match (found.is_empty(), failure) {
            (false, _) => Ok(found),
            (true, Some(err)) => Err(err),
            (true, None) => Err(Error::lookup(host, "no address records".into())),
        }
    }

    async fn query(&self, host: &str, kind: DnsQueryType) -> Result<Vec<IpAddr>, Error> {
        let handle = {
            let mut core = self.shared.lock();
            if core.dns_servers == 0 {
                return Err(Error::lookup(
                    host,
                    "the stack has no DNS server: give one with `Config::dns_server`, \
                     or turn DHCP on"
                        .into(),
                ));
            }
            let core = &mut *core;
            let cx = core.iface.context();
            core.sockets
                .get_mut::<dns::Socket>(core.dns)
                .start_query(cx, host, kind)
                .map_err(|e| Error::lookup(host, Box::new(e)))?
        };
        self.shared.kick();
        let mut query = Query {
            stack: self,
            handle: Some(handle),
        };
        let result = poll_fn(|cx| {
            let mut core = self.shared.lock();
            let dns = core.dns;
            let socket = core.sockets.get_mut::<dns::Socket>(dns);
            match socket.get_query_result(handle) {
                Err(GetQueryResultError::Pending) => {
                    socket.register_query_waker(handle, cx.waker());
                    Poll::Pending
                }
                done => Poll::Ready(done),
            }
        })
        .await;
        // The slot is free once a result was taken.
        query.handle = None;
        match result {
            Ok(addrs) => Ok(addrs.into_iter().map(IpAddr::from).collect()),
            Err(_) => Err(Error::lookup(
                host,
                format!("no answer to the {kind:?} query from the stack's DNS servers").into(),
            )),
        }
    }
}

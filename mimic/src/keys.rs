//! Keys shared by the built-in protocols and derivations.
//!
//! [`Ctx::with_builtins`](crate::Ctx::with_builtins) derives [`ADDRS`] from
//! an IP literal in [`HOST`] and the TCP endpoint from [`ADDRS`] and
//! [`PORT`]; [`Ctx::with_system_dns`](crate::Ctx::with_system_dns) (feature
//! `dns`) derives [`ADDRS`] from host names too.

use std::net::IpAddr;

use crate::Key;

/// A host: a domain name or an IP literal (`example.com`, `127.0.0.1`, `::1`, `[::1]`).
pub static HOST: Key<String> = Key::new("host");

/// A port number.
pub static PORT: Key<u16> = Key::new("port");

/// The IP addresses of the host, in the order the resolver gave them.
pub static ADDRS: Key<Vec<IpAddr>> = Key::new("ip addresses");

/// Parses an IP literal, with or without brackets.
pub(crate) fn ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

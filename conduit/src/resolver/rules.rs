//! Static entries, rewrite rules and per-request overrides.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::endpoint::Endpoint;

/// Where a rule sends a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Destination {
    /// A Unix domain socket.
    Unix(PathBuf),
    /// These socket addresses, without DNS.
    Addrs(Vec<SocketAddr>),
    /// Another host, and port if given (else the URI's or the scheme's).
    Host {
        /// The host name or IP literal.
        host: String,
        /// The port, when it changes.
        port: Option<u16>,
    },
}

impl Destination {
    pub(crate) fn describe(&self) -> String {
        match self {
            Destination::Unix(path) => format!("unix://{}", path.display()),
            Destination::Addrs(addrs) => {
                let addrs: Vec<_> = addrs.iter().map(|a| a.to_string()).collect();
                addrs.join(", ")
            }
            Destination::Host {
                host,
                port: Some(port),
            } => Endpoint::tcp(host.clone(), *port).to_string(),
            Destination::Host { host, port: None } => format!("host {host}"),
        }
    }
}

/// Whether `host` is `domain` or a subdomain of it, label by label:
/// `example.com` matches `api.example.com`, never `badexample.com`.
pub(crate) fn in_domain(host: &str, domain: &str) -> bool {
    let domain = domain.trim_start_matches('.').trim_end_matches('.');
    // Bytes, not `str`: the split may fall inside a character of a
    // non-ASCII host, and then the tail cannot match anyway.
    let (host, domain) = (host.trim_end_matches('.').as_bytes(), domain.as_bytes());
    let Some(split) = host.len().checked_sub(domain.len()) else {
        return false;
    };
    let (head, tail) = host.split_at(split);
    tail.eq_ignore_ascii_case(domain) && (head.is_empty() || head.ends_with(b"."))
}

/// Per-request overrides, like curl's `--unix-socket`, `--connect-to` and
/// `--resolve`. They come before every other rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    unix_socket: Option<PathBuf>,
    connect_to: Vec<ConnectTo>,
    pins: Vec<(String, u16, Vec<IpAddr>)>,
}

/// One `--connect-to HOST1:PORT1:HOST2:PORT2` rule; empty parts match any
/// host or port, or keep them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ConnectTo {
    from_host: Option<String>,
    from_port: Option<u16>,
    to_host: Option<String>,
    to_port: Option<u16>,
}

fn optional_port(text: &str) -> Result<Option<u16>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("`{text}` is not a port"))
}

/// A rule's host: a name or an IP address (IPv6 with or without brackets);
/// empty means none.
fn optional_host(text: &str) -> Result<Option<String>, String> {
    let host = text.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Ok(None);
    }
    let name = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if name || host.parse::<std::net::Ipv6Addr>().is_ok() {
        Ok(Some(host.to_ascii_lowercase()))
    } else {
        Err(format!("`{text}` is not a host name or IP address"))
    }
}

/// Splits on `:` outside brackets.
fn fields(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

impl Overrides {
    /// No overrides.
    pub fn new() -> Overrides {
        Overrides::default()
    }

    /// Connects to this Unix socket whatever the URI's host (`--unix-socket`).
    pub fn unix_socket(mut self, path: impl Into<PathBuf>) -> Overrides {
        self.unix_socket = Some(path.into());
        self
    }

    /// Adds a `--connect-to HOST1:PORT1:HOST2:PORT2` rule: connections to
    /// HOST1:PORT1 go to HOST2:PORT2 (the URI's host is still the TLS server
    /// name). Empty fields match anything or keep the value.
    pub fn connect_to(mut self, rule: &str) -> Result<Overrides, String> {
        let parts = fields(rule);
        let [from_host, from_port, to_host, to_port] = parts[..] else {
            return Err(format!("`{rule}` is not HOST1:PORT1:HOST2:PORT2"));
        };
        self.connect_to.push(ConnectTo {
            from_host: optional_host(from_host)?,
            from_port: optional_port(from_port)?,
            to_host: optional_host(to_host)?,
            to_port: optional_port(to_port)?,
        });
        Ok(self)
    }

    /// Adds a `--resolve HOST:PORT:ADDR[,ADDR...]` entry: HOST on PORT
    /// resolves to these addresses without DNS.
    pub fn resolve(mut self, entry: &str) -> Result<Overrides, String> {
        let parts = fields(entry);
        let [host, port, ..] = parts[..] else {
            return Err(format!("`{entry}` is not HOST:PORT:ADDR[,ADDR...]"));
        };
        // Everything after HOST:PORT: is addresses, bare IPv6 included.
        let addrs = parts[2..].join(":");
        if addrs.is_empty() {
            return Err(format!("`{entry}` is not HOST:PORT:ADDR[,ADDR...]"));
        }
        let host = optional_host(host)?.ok_or_else(|| format!("`{entry}` has no host"))?;
        let port = optional_port(port)?.ok_or_else(|| format!("`{entry}` has no port"))?;
        let addrs = addrs
            .split(',')
            .map(|a| {
                let a = a.trim_start_matches('[').trim_end_matches(']');
                a.parse::<IpAddr>()
                    .map_err(|_| format!("`{a}` is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.pins.push((host, port, addrs));
        Ok(self)
    }

    pub(crate) fn socket(&self) -> Option<&PathBuf> {
        self.unix_socket.as_ref()
    }

    /// The first `--connect-to` rule that matches, applied.
    pub(crate) fn redirect(&self, host: &str, port: u16) -> Option<(String, u16)> {
        self.connect_to.iter().find_map(|rule| {
            let host_ok = rule.from_host.as_deref().is_none_or(|h| h == host);
            let port_ok = rule.from_port.is_none_or(|p| p == port);
            (host_ok && port_ok).then(|| {
                (
                    rule.to_host.clone().unwrap_or_else(|| host.to_string()),
                    rule.to_port.unwrap_or(port),
                )
            })
        })
    }

    pub(crate) fn pinned(&self, host: &str, port: u16) -> Option<&[IpAddr]> {
        self.pins
            .iter()
            .find(|(h, p, _)| h == host && *p == port)
            .map(|(_, _, addrs)| &addrs[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_match_by_label() {
        for (host, domain, expected) in [
            ("example.com", "example.com", true),
            ("api.example.com", "example.com", true),
            ("a.b.example.com", ".example.com", true),
            ("API.Example.COM.", "example.com", true),
            ("badexample.com", "example.com", false),
            ("example.com.evil", "example.com", false),
            ("com", "example.com", false),
            // The split falls inside `é` (two bytes).
            ("éxxxxxxxxxxxx", "internal.test", false),
            ("ééééééé", "internal.test", false),
            ("é.internal.test", "internal.test", true),
        ] {
            assert_eq!(in_domain(host, domain), expected, "{host} in {domain}");
        }
    }

    #[test]
    fn curl_style_overrides_parse() {
        let o = Overrides::new()
            .connect_to("example.com:443:[::1]:8443")
            .expect("valid")
            .connect_to("::other:81")
            .expect("valid")
            .resolve("example.com:443:127.0.0.1,[::1]")
            .expect("valid");
        assert_eq!(o.redirect("example.com", 443), Some(("::1".into(), 8443)));
        assert_eq!(o.redirect("x.test", 80), Some(("other".into(), 81)));
        assert_eq!(
            o.pinned("example.com", 443),
            Some(&["127.0.0.1".parse().expect("ip"), "::1".parse().expect("ip")][..])
        );
        assert_eq!(o.pinned("example.com", 80), None);
        for bad in [
            "a:b",
            "h:x:h:1",
            "h:80:\u{e9}t\u{e9}.test:81",
            "h:80:a/b:81",
            "[h:80::81",
        ] {
            assert!(Overrides::new().connect_to(bad).is_err(), "{bad}");
        }
        for bad in ["h:80", "h::1.1.1.1", "h:80:nope", "h\u{e9}:80:1.1.1.1"] {
            assert!(Overrides::new().resolve(bad).is_err(), "{bad}");
        }
    }
}

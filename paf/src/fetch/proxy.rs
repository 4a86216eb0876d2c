//! Which requests go through a proxy: `HTTP_PROXY`, `HTTPS_PROXY`,
//! `NO_PROXY`, or settings of the program's own.

use std::fmt;
use std::net::IpAddr;

use http::HeaderValue;

use crate::error::{Error, Kind};

/// An HTTP proxy: `http://[user:password@]host[:port]` (port 1080 when
/// absent, as curl does).
///
/// `http` requests are sent to it in absolute-form; `https` requests go
/// through a `CONNECT` tunnel, with TLS to the origin server inside it.
/// User information becomes a `proxy-authorization: Basic` field.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// `http://host:port`, without user information.
    uri: String,
    authorization: Option<HeaderValue>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("uri", &self.uri)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

fn invalid(text: &str, why: &str) -> Error {
    Error::with(Kind::Request, format!("invalid proxy `{text}`: {why}"))
}

impl Proxy {
    /// Reads a proxy URI; a bare `host:port` is taken as `http://host:port`.
    pub fn new(text: &str) -> Result<Proxy, Error> {
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("http://{text}")
        };
        let (scheme, rest) = with_scheme
            .split_once("://")
            .ok_or_else(|| invalid(text, "no scheme"))?;
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(invalid(
                text,
                "only `http://` proxies are supported (HTTPS goes through them in a CONNECT tunnel)",
            ));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        if host_port.is_empty() {
            return Err(invalid(text, "no host"));
        }
        let parsed: http::uri::Authority = host_port
            .parse()
            .map_err(|_| invalid(text, "bad host or port"))?;
        let uri = match parsed.port_u16() {
            Some(_) => format!("http://{host_port}"),
            None => format!("http://{}:1080", host_port.trim_end_matches(':')),
        };
        let authorization = match userinfo {
            None => None,
            Some(info) => {
                let (user, password) = info.split_once(':').unwrap_or((info, ""));
                let decode = |s: &str| {
                    percent_decode(s).ok_or_else(|| {
                        invalid(text, "bad percent-encoding in the user information")
                    })
                };
                let credentials = format!("{}:{}", decode(user)?, decode(password)?);
                let value = format!("Basic {}", base64(credentials.as_bytes()));
                let mut value = HeaderValue::from_str(&value)
                    .map_err(|_| invalid(text, "bad user information"))?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(Proxy { uri, authorization })
    }

    /// `http://host:port`, without the user information.
    pub(crate) fn uri(&self) -> &str {
        &self.uri
    }

    /// The `proxy-authorization` value, when the URI has user information.
    pub(crate) fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }
}

/// Which proxy each request uses.
///
/// [`Proxies::from_env`] (what [`Client::new`](super::Client::new) uses)
/// reads, as curl does, `http_proxy` (lowercase only: the uppercase form
/// can be set by a CGI request's `Proxy:` field), `HTTPS_PROXY` or
/// `https_proxy`, `ALL_PROXY` or `all_proxy` for both, and `NO_PROXY` or
/// `no_proxy`: a comma-separated list of host names (a name matches itself
/// and its subdomains; a leading `.` or `*.` is ignored), IP addresses,
/// CIDR blocks (`10.0.0.0/8`), or `*` for every host. Values that cannot be
/// read are ignored with a warning.
///
/// Only `http` and `https` URIs are proxied; Unix sockets and custom
/// schemes never are.
#[derive(Clone, Debug, Default)]
pub struct Proxies {
    http: Option<Proxy>,
    https: Option<Proxy>,
    no_proxy: Vec<NoProxy>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum NoProxy {
    All,
    Domain(String),
    Net { addr: IpAddr, prefix: u8 },
}

impl Proxies {
    /// No proxy for any request.
    pub fn none() -> Proxies {
        Proxies::default()
    }

    /// The settings of the process environment.
    pub fn from_env() -> Proxies {
        Proxies::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings read through `var`, as [`from_env`](Proxies::from_env)
    /// reads the environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Proxies {
        let get = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| var(n).filter(|v| !v.trim().is_empty()))
        };
        let read = |names: &[&str]| {
            let text = get(names)?;
            match Proxy::new(text.trim()) {
                Ok(proxy) => Some(proxy),
                Err(err) => {
                    tracing::warn!(variable = names[0], %err, "ignoring the proxy setting");
                    None
                }
            }
        };
        let all = read(&["ALL_PROXY", "all_proxy"]);
        let mut proxies = Proxies {
            http: read(&["http_proxy"]).or_else(|| all.clone()),
            https: read(&["HTTPS_PROXY", "https_proxy"]).or(all),
            no_proxy: Vec::new(),
        };
        if let Some(list) = get(&["NO_PROXY", "no_proxy"]) {
            proxies = proxies.no_proxy(&list);
        }
        proxies
    }

    /// Sends `http` requests through `proxy`.
    pub fn http(mut self, proxy: Proxy) -> Proxies {
        self.http = Some(proxy);
        self
    }

    /// Sends `https` requests through `proxy`, in a `CONNECT` tunnel.
    pub fn https(mut self, proxy: Proxy) -> Proxies {
        self.https = Some(proxy);
        self
    }

    /// Adds exceptions, in `NO_PROXY`'s syntax.
    pub fn no_proxy(mut self, list: &str) -> Proxies {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            self.no_proxy.push(parse_no_proxy(entry));
        }
        self
    }

    /// The proxy for a request to `host` (no brackets) by `scheme`.
    pub(crate) fn for_target(&self, scheme: &str, host: &str) -> Option<&Proxy> {
        let proxy = match scheme {
            "http" => self.http.as_ref()?,
            "https" => self.https.as_ref()?,
            _ => return None,
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        let excepted = self.no_proxy.iter().any(|rule| match rule {
            NoProxy::All => true,
            NoProxy::Domain(domain) => {
                host == *domain
                    || (host.len() > domain.len()
                        && host.ends_with(domain.as_str())
                        && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
            }
            NoProxy::Net { addr, prefix } => ip.is_some_and(|ip| in_net(ip, *addr, *prefix)),
        });
        (!excepted).then_some(proxy)
    }
}

fn parse_no_proxy(entry: &str) -> NoProxy {
    if entry == "*" {
        return NoProxy::All;
    }
    let bare = entry.trim_start_matches('[');
    let (addr, prefix) = match bare.split_once('/') {
        Some((a, p)) => (a.trim_end_matches(']'), p.parse::<u8>().ok()),
        None => (bare.trim_end_matches(']'), None),
    };
    if let Ok(addr) = addr.parse::<IpAddr>() {
        let full = if addr.is_ipv4() { 32 } else { 128 };
        return NoProxy::Net {
            addr,
            prefix: prefix.unwrap_or(full).min(full),
        };
    }
    // A port is accepted and ignored, as curl does.
    let name = entry
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .split(':')
        .next()
        .unwrap_or_default();
    NoProxy::Domain(name.trim_end_matches('.').to_ascii_lowercase())
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let (ip, net, bits) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(a.to_bits()), u128::from(b.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
        _ => return false,
    };
    let prefix = u32::from(prefix);
    if prefix == 0 {
        return true;
    }
    let shift = bits - prefix;
    (ip >> shift) == (net >> shift)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Standard base64 with padding (RFC 4648), for Basic credentials.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }
}

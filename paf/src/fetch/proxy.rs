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

/// The error for a proxy setting that cannot be read; the user
/// information is left out of the message, as it may hold a password.
fn invalid(text: &str, why: &str) -> Error {
    let shown = redact(text.trim());
    Error::with(Kind::Request, format!("invalid proxy `{shown}`: {why}"))
}

/// `text` with the user information of its authority replaced by `***`.
fn redact(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(at) => text.split_at(at + 3),
        None => ("", text),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => text.to_string(),
    }
}

/// `host[:port]` or `[v6][:port]`: the host, lowercase and without
/// brackets, and the port if one is given (an empty one is none).
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (v6, after) = rest.split_once(']')?;
            v6.parse::<std::net::Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':')?),
            };
            (format!("[{v6}]"), port)
        }
        None => {
            let (host, port) = match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            };
            let valid = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            if !valid {
                return None;
            }
            (host.to_ascii_lowercase(), port)
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse::<u16>().ok().filter(|&p| p != 0)?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

impl Proxy {
    /// Reads a proxy URI: `http://[user:password@]host[:port][/]`, the
    /// user information percent-encoded; a bare `host:port` is taken as
    /// `http://host:port`, and the port is 1080 when absent.
    ///
    /// Fails on other schemes (an `https://` proxy, which would need TLS
    /// to the proxy itself, and SOCKS proxies are not supported), a
    /// missing host, a bad port, or a path.
    ///
    /// ```
    /// use paf::client::Proxy;
    ///
    /// let proxy = Proxy::new("http://proxy.internal:3128")?;
    /// assert_eq!(proxy.to_string(), "http://proxy.internal:3128");
    /// assert!(Proxy::new("https://proxy.internal").is_err());
    /// # Ok::<(), paf::Error>(())
    /// ```
    pub fn new(text: &str) -> Result<Proxy, Error> {
        let trimmed = text.trim();
        let rest = match trimmed.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(invalid(
                    text,
                    &format!(
                        "`{scheme}://` proxies are not supported, only `http://` ones \
                         (HTTPS requests go through them in a CONNECT tunnel)"
                    ),
                ));
            }
            None => trimmed,
        };
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        if !path.is_empty() && path != "/" {
            return Err(invalid(text, "a proxy URI has no path, query or fragment"));
        }
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port).ok_or_else(|| {
            invalid(
                text,
                "expected `host`, `host:port` or `[IPv6]:port` after the scheme",
            )
        })?;
        let uri = format!("http://{host}:{}", port.unwrap_or(1080));
        let authorization = match userinfo {
            None | Some("") => None,
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
/// reads the variables curl reads, the lowercase name first when both are
/// set:
///
/// | variable | used for |
/// |---|---|
/// | `http_proxy` | `http` requests |
/// | `https_proxy`, `HTTPS_PROXY` | `https` requests |
/// | `all_proxy`, `ALL_PROXY` | both, when the variable above is not set |
/// | `no_proxy`, `NO_PROXY` | the exceptions |
///
/// **`HTTP_PROXY` in uppercase is ignored**, as curl ignores it: a CGI
/// program receives a request's `Proxy:` field as `HTTP_PROXY` in its
/// environment, so a client that honoured the variable would let whoever
/// sends the request choose the proxy ("httpoxy", CVE-2016-5385 and
/// friends). Set `http_proxy` or `ALL_PROXY` instead, or build the
/// settings with [`http`](Proxies::http).
///
/// A value is a [`Proxy::new`] URI. An empty value counts as unset; a value
/// that cannot be read is ignored with a warning, as if it were unset (so
/// `ALL_PROXY`, if set, applies instead).
///
/// `NO_PROXY` is a comma-separated list of:
/// - `*`: no request is proxied;
/// - host names: a name matches itself and its subdomains (`example.com`
///   matches `a.example.com`, not `notexample.com`); a leading `.` or `*.`
///   is ignored, as are a port and a trailing `.`; case does not matter;
/// - IP addresses (IPv6 with or without brackets) and CIDR blocks
///   (`10.0.0.0/8`, `fd00::/8`), matched against hosts that are IP
///   literals (names are not resolved to check them).
///
/// Only `http` and `https` URIs are proxied; Unix sockets and custom
/// schemes never are.
///
/// ```
/// use paf::client::{Proxies, Proxy};
///
/// let proxy = Proxy::new("http://proxy.internal:3128")?;
/// let proxies = Proxies::none()
///     .http(proxy.clone())
///     .https(proxy)
///     .no_proxy("localhost, 127.0.0.0/8, .internal");
/// # let _ = proxies;
/// # Ok::<(), paf::Error>(())
/// ```
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
    ///
    /// ```
    /// use paf::client::Proxies;
    ///
    /// let vars = [("https_proxy", "proxy.internal:3128"), ("NO_PROXY", "localhost")];
    /// let proxies = Proxies::from_vars(|name| {
    ///     vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    /// });
    /// # let _ = proxies;
    /// ```
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Proxies {
        let get = |names: &[&'static str]| {
            names.iter().find_map(|&name| {
                let value = var(name)?;
                let value = value.trim();
                (!value.is_empty()).then(|| (name, value.to_string()))
            })
        };
        let read = |names: &[&'static str]| {
            let (name, text) = get(names)?;
            match Proxy::new(&text) {
                Ok(proxy) => Some(proxy),
                Err(err) => {
                    tracing::warn!(variable = name, %err, "ignoring the proxy setting");
                    None
                }
            }
        };
        let all = read(&["all_proxy", "ALL_PROXY"]);
        let mut proxies = Proxies {
            http: read(&["http_proxy"]).or_else(|| all.clone()),
            https: read(&["https_proxy", "HTTPS_PROXY"]).or(all),
            no_proxy: Vec::new(),
        };
        if let Some((_, list)) = get(&["no_proxy", "NO_PROXY"]) {
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

    /// Adds exceptions, in `NO_PROXY`'s syntax (see [`Proxies`]). Entries
    /// that cannot be read, such as a bad CIDR block, are ignored with a
    /// warning.
    pub fn no_proxy(mut self, list: &str) -> Proxies {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match parse_no_proxy(entry) {
                Some(rule) => self.no_proxy.push(rule),
                None => tracing::warn!(entry, "ignoring a NO_PROXY entry that cannot be read"),
            }
        }
        self
    }

    /// The proxy for a request to `host` (brackets around an IPv6 address
    /// are allowed) by `scheme`.
    pub(crate) fn for_target(&self, scheme: &str, host: &str) -> Option<&Proxy> {
        let proxy = if scheme.eq_ignore_ascii_case("http") {
            self.http.as_ref()?
        } else if scheme.eq_ignore_ascii_case("https") {
            self.https.as_ref()?
        } else {
            return None;
        };
        let host = host.trim_end_matches('.');
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        let excepted = self.no_proxy.iter().any(|rule| match rule {
            NoProxy::All => true,
            NoProxy::Domain(domain) => {
                host == *domain
                    || host
                        .strip_suffix(domain.as_str())
                        .is_some_and(|sub| sub.ends_with('.'))
            }
            NoProxy::Net { addr, prefix } => ip.is_some_and(|ip| in_net(ip, *addr, *prefix)),
        });
        (!excepted).then_some(proxy)
    }
}

/// One `NO_PROXY` entry; `None` when it cannot be read.
fn parse_no_proxy(entry: &str) -> Option<NoProxy> {
    if entry == "*" {
        return Some(NoProxy::All);
    }
    // `[v6]`, `[v6]:port`, `[v6]/prefix`.
    let (addr, prefix) = match entry.strip_prefix('[') {
        Some(rest) => {
            let (addr, after) = rest.split_once(']')?;
            let prefix = after.strip_prefix('/');
            if prefix.is_none() && !after.is_empty() && !after.starts_with(':') {
                return None;
            }
            (addr, prefix)
        }
        None => match entry.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (entry, None),
        },
    };
    let ip = addr.parse::<IpAddr>();
    if let Ok(addr) = ip {
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => full,
            Some(bits) => bits.parse::<u8>().ok().filter(|&b| b <= full)?,
        };
        return Some(NoProxy::Net { addr, prefix });
    }
    if prefix.is_some() {
        return None;
    }
    // A port is accepted and ignored, as curl does: `127.0.0.1:8080`.
    let host = entry.split(':').next().unwrap_or_default();
    if let Ok(addr) = host.parse::<IpAddr>() {
        let full = if addr.is_ipv4() { 32 } else { 128 };
        return Some(NoProxy::Net { addr, prefix: full });
    }
    let name = host
        .strip_prefix("*.")
        .or_else(|| host.strip_prefix('.'))
        .unwrap_or(host)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    valid.then_some(NoProxy::Domain(name))
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
            let hex = bytes.get(i + 1..i + 3)?;
            let digit = |b: u8| char::from(b).to_digit(16);
            let (high, low) = (digit(hex[0])?, digit(hex[1])?);
            out.push(u8::try_from(high * 16 + low).ok()?);
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

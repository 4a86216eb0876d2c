//! Which requests go through a proxy: `http_proxy`, `HTTPS_PROXY`,
//! `NO_PROXY`, or settings of the program's own.

use std::fmt;
use std::net::IpAddr;

use http::HeaderValue;

use super::auth::basic_auth;
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

/// `text` with everything between the scheme and the last `@` replaced by
/// `***`: the user information, even when a password holds an unencoded
/// `/` or `#` that would end the authority.
fn redact(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(at) => text.split_at(at + 3),
        None => ("", text),
    };
    match rest.rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => text.to_string(),
    }
}

/// `host[:port]` or `[v6][:port]`: the host, lowercase (an IPv6 address
/// keeps its brackets), and the port if one is given (an empty one is
/// none).
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
    /// Reads a proxy URI: `http://[user:password@]host[:port]`, the user
    /// information percent-encoded; a bare `host:port` is taken as
    /// `http://host:port`, and the port is 1080 when absent. A path is
    /// ignored, as curl ignores it.
    ///
    /// Fails on other schemes (an `https://` proxy, which would need TLS
    /// to the proxy itself, and SOCKS proxies are not supported), a
    /// missing or malformed host, or a bad port.
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
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
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
                Some(basic_auth(&decode(user)?, &decode(password)?))
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
/// sends the request choose the proxy ("httpoxy", CVE-2016-5385 and its
/// kin). Set `http_proxy` or `ALL_PROXY` instead, or build the
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
                    tracing::warn!(variable = name, error = %format_args!("{err:#}"), "ignoring the proxy setting");
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn proxy(text: &str) -> Proxy {
        match Proxy::new(text) {
            Ok(proxy) => proxy,
            Err(err) => panic!("`{text}` should be a valid proxy: {err}"),
        }
    }

    fn rejection(text: &str) -> String {
        match Proxy::new(text) {
            Ok(proxy) => panic!("`{text}` should be rejected, got {proxy:?}"),
            Err(err) => {
                assert!(err.is_request(), "{err}");
                format!("{err:#}")
            }
        }
    }

    fn auth(proxy: &Proxy) -> Option<&str> {
        proxy
            .authorization()
            .map(|v| v.to_str().unwrap_or("<binary>"))
    }

    /// The proxy `proxies` picks for `uri` (`scheme://host`), as its URI.
    fn pick(proxies: &Proxies, uri: &str) -> Option<String> {
        let (scheme, host) = uri.split_once("://").unwrap_or(("http", uri));
        proxies
            .for_target(scheme, host)
            .map(|p| p.uri().to_string())
    }

    fn with_exceptions(list: &str) -> Proxies {
        Proxies::none()
            .http(proxy("http://proxy:3128"))
            .https(proxy("http://proxy:3128"))
            .no_proxy(list)
    }

    fn vars(pairs: &[(&str, &str)]) -> Proxies {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Proxies::from_vars(move |name| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn proxy_uris_are_read_in_their_usual_forms() {
        for (text, uri) in [
            ("http://h:3128", "http://h:3128"),
            ("HTTP://h:3128/", "http://h:3128"),
            ("http://h:3128/ignored?path#too", "http://h:3128"),
            ("h:3128", "http://h:3128"),
            ("  h:3128\n", "http://h:3128"),
            ("http://h", "http://h:1080"),
            ("h", "http://h:1080"),
            ("http://h:", "http://h:1080"),
            (
                "http://Proxy.Example.COM:8080",
                "http://proxy.example.com:8080",
            ),
            ("http://10.1.2.3:3128", "http://10.1.2.3:3128"),
            ("http://[::1]:3128", "http://[::1]:3128"),
            ("[fd00::1]", "http://[fd00::1]:1080"),
        ] {
            let proxy = proxy(text);
            assert_eq!(proxy.uri(), uri, "{text}");
            assert_eq!(proxy.to_string(), uri, "{text}");
            assert_eq!(auth(&proxy), None, "{text}");
        }
    }

    #[test]
    fn user_information_becomes_basic_credentials() {
        let with_auth = proxy("http://user:p%40ss@h:8080");
        assert_eq!(with_auth.uri(), "http://h:8080");
        // base64("user:p@ss")
        assert_eq!(auth(&with_auth), Some("Basic dXNlcjpwQHNz"));
        assert!(
            with_auth
                .authorization()
                .is_some_and(HeaderValue::is_sensitive)
        );

        // A bare `host:port` takes user information too; no password is an
        // empty one; an `@` in the password may be left unencoded.
        assert_eq!(
            auth(&proxy("ada:lovelace@h:3128")),
            basic_auth("ada", "lovelace").to_str().ok()
        );
        assert_eq!(
            auth(&proxy("http://ada@h")),
            basic_auth("ada", "").to_str().ok()
        );
        assert_eq!(
            auth(&proxy("http://ada:p@ss@h")),
            basic_auth("ada", "p@ss").to_str().ok()
        );
        assert_eq!(
            auth(&proxy("http://%C3%A9mile:%3A%2F@h")),
            basic_auth("émile", ":/").to_str().ok()
        );
        // `http://@h`: no credentials at all.
        assert_eq!(auth(&proxy("http://@h:1")), None);
    }

    #[test]
    fn credentials_stay_out_of_debug_and_errors() {
        let with_auth = proxy("http://user:secret@h:8080");
        let debug = format!("{with_auth:?}");
        assert!(
            !debug.contains("secret") && !debug.contains("dXNlcjpzZWNyZXQ"),
            "{debug}"
        );
        assert!(debug.contains("<hidden>"), "{debug}");
        assert_eq!(with_auth.to_string(), "http://h:8080");

        let err = rejection("http://user:secret@h:99999");
        assert!(!err.contains("secret"), "{err}");
        assert!(err.contains("http://***@h:99999"), "{err}");
        let err = rejection("user:secret@bad host");
        assert!(!err.contains("secret"), "{err}");
        let err = rejection("http://user:se/cret@h:1");
        assert!(!err.contains("se/cret") && !err.contains("cret"), "{err}");
    }

    #[test]
    fn other_schemes_are_refused_with_the_reason() {
        let err = rejection("https://h:3128");
        assert!(
            err.contains("`https://` proxies are not supported"),
            "{err}"
        );
        assert!(err.contains("only `http://`"), "{err}");
        let err = rejection("socks5://h:1080");
        assert!(
            err.contains("`socks5://` proxies are not supported"),
            "{err}"
        );
    }

    #[test]
    fn garbage_is_refused() {
        for text in [
            "",
            "   ",
            "http://",
            "http://:3128",
            "http://user:pass@",
            "http://h:port",
            "http://h:99999",
            "http://h:0",
            "http://h:-1",
            "http://h:3128:1",
            "http://bad host:3128",
            "http://[::1",
            "http://[not-v6]:1",
            "http://[::1]x",
            "http://::1:3128",
            "http://u:%zz@h",
            "http://u:%4@h",
            "http://u:%+1@h",
            "http://u:%ff@h",
            "://h",
        ] {
            let err = rejection(text);
            assert!(err.contains("invalid proxy `"), "{text}: {err}");
        }
    }

    #[test]
    fn lowercase_http_proxy_only() {
        let env = vars(&[("http_proxy", "http://lower:1")]);
        assert_eq!(
            pick(&env, "http://a.example").as_deref(),
            Some("http://lower:1")
        );
        assert_eq!(pick(&env, "https://a.example"), None);

        // `HTTP_PROXY` can come from a CGI request's `Proxy:` field.
        let env = vars(&[("HTTP_PROXY", "http://upper:1")]);
        assert_eq!(pick(&env, "http://a.example"), None);
        assert_eq!(pick(&env, "https://a.example"), None);
        let env = vars(&[("HTTP_PROXY", "http://upper:1"), ("http_proxy", "lower:2")]);
        assert_eq!(
            pick(&env, "http://a.example").as_deref(),
            Some("http://lower:2")
        );
    }

    #[test]
    fn https_proxy_in_either_case_lowercase_first() {
        let env = vars(&[("HTTPS_PROXY", "upper:1")]);
        assert_eq!(
            pick(&env, "https://a.example").as_deref(),
            Some("http://upper:1")
        );
        assert_eq!(pick(&env, "http://a.example"), None);
        let env = vars(&[("https_proxy", "lower:2")]);
        assert_eq!(
            pick(&env, "https://a.example").as_deref(),
            Some("http://lower:2")
        );
        let env = vars(&[("HTTPS_PROXY", "upper:1"), ("https_proxy", "lower:2")]);
        assert_eq!(
            pick(&env, "https://a.example").as_deref(),
            Some("http://lower:2")
        );
    }

    #[test]
    fn all_proxy_is_the_fallback() {
        for name in ["ALL_PROXY", "all_proxy"] {
            let env = vars(&[(name, "all:3")]);
            assert_eq!(
                pick(&env, "http://a.example").as_deref(),
                Some("http://all:3")
            );
            assert_eq!(
                pick(&env, "https://a.example").as_deref(),
                Some("http://all:3")
            );
        }
        let env = vars(&[
            ("ALL_PROXY", "all:3"),
            ("http_proxy", "plain:1"),
            ("https_proxy", "secure:2"),
        ]);
        assert_eq!(
            pick(&env, "http://a.example").as_deref(),
            Some("http://plain:1")
        );
        assert_eq!(
            pick(&env, "https://a.example").as_deref(),
            Some("http://secure:2")
        );
        // Uppercase `HTTP_PROXY` does not hide `ALL_PROXY` either.
        let env = vars(&[("ALL_PROXY", "all:3"), ("HTTP_PROXY", "upper:1")]);
        assert_eq!(
            pick(&env, "http://a.example").as_deref(),
            Some("http://all:3")
        );
    }

    #[test]
    fn empty_and_invalid_values_count_as_unset() {
        let env = vars(&[
            ("http_proxy", ""),
            ("https_proxy", "  "),
            ("HTTPS_PROXY", "upper:1"),
            ("no_proxy", ""),
            ("NO_PROXY", "a.example"),
        ]);
        assert_eq!(pick(&env, "http://a.example"), None);
        assert_eq!(
            pick(&env, "https://b.example").as_deref(),
            Some("http://upper:1")
        );
        assert_eq!(pick(&env, "https://a.example"), None);

        let env = vars(&[
            ("http_proxy", "https://secure:1"),
            ("https_proxy", "bad host"),
        ]);
        assert_eq!(pick(&env, "http://a.example"), None);
        assert_eq!(pick(&env, "https://a.example"), None);

        let env = vars(&[("https_proxy", "socks5://s:1"), ("ALL_PROXY", "all:3")]);
        assert_eq!(
            pick(&env, "https://a.example").as_deref(),
            Some("http://all:3")
        );

        let nothing = vars(&[]);
        assert_eq!(pick(&nothing, "http://a.example"), None);
        assert_eq!(pick(&nothing, "https://a.example"), None);
    }

    #[test]
    fn only_http_and_https_are_proxied() {
        let proxies = with_exceptions("");
        assert!(pick(&proxies, "http://a.example").is_some());
        assert!(pick(&proxies, "HTTPS://a.example").is_some());
        for scheme in ["ws", "wss", "h2c", "unix", "http+unix", "ftp", "grpc", ""] {
            assert_eq!(proxies.for_target(scheme, "a.example"), None, "{scheme}");
        }
        assert_eq!(Proxies::none().for_target("http", "a.example"), None);
    }

    #[test]
    fn no_proxy_star_excepts_everything() {
        let proxies = with_exceptions("*");
        for uri in ["http://a.example", "https://10.0.0.1", "https://::1"] {
            assert_eq!(pick(&proxies, uri), None, "{uri}");
        }
        let proxies = with_exceptions("a.example, *");
        assert_eq!(pick(&proxies, "http://b.example"), None);
        // `*` inside a name is no wildcard.
        let proxies = with_exceptions("a*.example");
        assert!(pick(&proxies, "http://ab.example").is_some());
    }

    #[test]
    fn no_proxy_names_match_themselves_and_subdomains() {
        for list in [
            "example.com",
            ".example.com",
            "*.example.com",
            "EXAMPLE.com",
            "example.com.",
            "example.com:8080",
            " other.test ,example.com , ",
        ] {
            let proxies = with_exceptions(list);
            for excepted in [
                "http://example.com",
                "https://a.example.com",
                "http://a.b.example.com",
                "http://Example.COM",
                "http://example.com.",
                "https://A.Example.Com.",
            ] {
                assert_eq!(pick(&proxies, excepted), None, "{list}: {excepted}");
            }
            for proxied in [
                "http://notexample.com",
                "http://example.com.evil",
                "http://example.co",
                "http://com",
                "https://xexample.com",
            ] {
                assert!(
                    pick(&proxies, proxied).is_some(),
                    "{list}: {proxied} should be proxied"
                );
            }
        }
    }

    #[test]
    fn no_proxy_addresses_and_blocks() {
        let proxies = with_exceptions("10.0.0.0/8, 192.168.1.7, ::1, [fd00::]/8, 172.16.0.1:8080");
        for excepted in [
            "http://10.0.0.1",
            "https://10.255.255.255",
            "http://192.168.1.7",
            "http://::1",
            "http://[::1]",
            "https://fd12:3456::1",
            "http://172.16.0.1",
        ] {
            assert_eq!(pick(&proxies, excepted), None, "{excepted}");
        }
        for proxied in [
            "http://11.0.0.1",
            "http://192.168.1.8",
            "http://::2",
            "http://fe80::1",
            "http://172.16.0.2",
            // Names are not resolved to check them against addresses.
            "http://localhost",
            "http://10.example",
        ] {
            assert!(pick(&proxies, proxied).is_some(), "{proxied}");
        }

        let proxies = with_exceptions("[::1]:8080, 127.0.0.1/32, 0.0.0.0/0");
        assert_eq!(pick(&proxies, "http://::1"), None);
        assert_eq!(pick(&proxies, "http://8.8.8.8"), None);
        assert!(
            pick(&proxies, "http://::2").is_some(),
            "an IPv4 block is no IPv6 one"
        );
        let proxies = with_exceptions("::/0");
        assert_eq!(pick(&proxies, "http://2001:db8::1"), None);
        assert!(pick(&proxies, "http://10.0.0.1").is_some());
    }

    #[test]
    fn unreadable_no_proxy_entries_are_skipped() {
        let proxies = with_exceptions(
            "10.0.0.0/33, 10.0.0.0/x, name/8, [::1, [::1]x, bad host, ., *., a.test",
        );
        assert_eq!(proxies.no_proxy, [NoProxy::Domain("a.test".into())]);
        assert!(pick(&proxies, "http://10.0.0.1").is_some());
        assert_eq!(pick(&proxies, "http://b.a.test"), None);
    }

    #[test]
    fn cidr_prefixes_compare_the_right_bits() {
        let net = |text: &str| match parse_no_proxy(text) {
            Some(NoProxy::Net { addr, prefix }) => (addr, prefix),
            other => panic!("{text}: {other:?}"),
        };
        let (addr, prefix) = net("10.1.2.3/31");
        assert!(in_net("10.1.2.2".parse().unwrap(), addr, prefix));
        assert!(!in_net("10.1.2.4".parse().unwrap(), addr, prefix));
        let (addr, prefix) = net("2001:db8::/32");
        assert!(in_net("2001:db8:ffff::1".parse().unwrap(), addr, prefix));
        assert!(!in_net("2001:db9::1".parse().unwrap(), addr, prefix));
        assert_eq!(net("::1"), ("::1".parse().unwrap(), 128));
        assert_eq!(net("[::1]"), ("::1".parse().unwrap(), 128));
        assert_eq!(net("1.2.3.4"), ("1.2.3.4".parse().unwrap(), 32));
    }
}

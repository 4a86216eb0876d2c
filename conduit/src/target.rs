//! Reading a URI into what resolution needs: scheme, host, port, Unix path.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::Error;

/// A URI as conduit reads it. Unlike [`http::Uri`], it accepts
/// `unix:///path` and `http+unix://<percent-encoded path>/request/path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    scheme: String,
    host: Option<String>,
    port: Option<u16>,
    unix: Option<PathBuf>,
    path: String,
    text: String,
}

impl Target {
    /// The scheme, lowercased.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host, lowercased, without brackets around IPv6 literals.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The explicit port, if the URI has one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The socket path of a `unix:` or `*+unix:` URI.
    pub fn unix_path(&self) -> Option<&std::path::Path> {
        self.unix.as_deref()
    }

    /// The request path and query (`/` when empty).
    pub fn path_and_query(&self) -> &str {
        &self.path
    }

    /// The scheme without a `+unix` suffix: `http` for `http+unix`.
    pub fn base_scheme(&self) -> &str {
        self.scheme.strip_suffix("+unix").unwrap_or(&self.scheme)
    }

    /// The `http+unix://` URI of `path` on the Unix socket `socket`, which
    /// this type reads back: every byte of the socket path but the
    /// unreserved ones is percent-encoded, as a `/`, `?` or `#` left as it
    /// is would end the host.
    ///
    /// ```
    /// let uri = conduit::Target::unix_socket_uri("/run/docker.sock".as_ref(), "/version");
    /// assert_eq!(uri, "http+unix://%2Frun%2Fdocker.sock/version");
    /// let target: conduit::Target = uri.parse()?;
    /// assert_eq!(target.unix_path(), Some("/run/docker.sock".as_ref()));
    /// # Ok::<(), conduit::Error>(())
    /// ```
    pub fn unix_socket_uri(socket: &std::path::Path, path: &str) -> String {
        let mut uri = String::from("http+unix://");
        for &b in socket.as_os_str().as_encoded_bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                uri.push(char::from(b));
            } else {
                uri.push_str(&format!("%{b:02X}"));
            }
        }
        uri.push_str(path);
        uri
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn invalid(uri: &str, reason: &str) -> Error {
    Error::invalid_uri(uri, reason)
}

fn valid_scheme(scheme: &str) -> bool {
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// Decodes `%XX` escapes; `None` on a malformed escape or non-UTF-8 result.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
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

/// Splits `host[:port]` (with `[v6]` literals); userinfo must be removed.
pub(crate) fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    // A colon outside brackets is only part of a bare IPv6 address: any
    // other host with one could not be written back (`[a:b]` is no address).
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c))
        && (!host.contains(':') || host.parse::<std::net::Ipv6Addr>().is_ok());
    if !valid_host {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    // The root's dot goes, and with it a host made of dots only.
    let host = host.trim_end_matches('.');
    if host.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), port))
}

impl FromStr for Target {
    type Err = Error;

    fn from_str(uri: &str) -> Result<Target, Error> {
        let (scheme, rest) = uri
            .split_once(':')
            .ok_or_else(|| invalid(uri, "no scheme"))?;
        if !valid_scheme(scheme) {
            return Err(invalid(
                uri,
                "the scheme has characters a scheme cannot have",
            ));
        }
        let scheme = scheme.to_ascii_lowercase();
        let mut target = Target {
            scheme,
            host: None,
            port: None,
            unix: None,
            path: "/".to_string(),
            text: uri.to_string(),
        };
        if target.scheme == "unix" {
            // unix:///abs/path or unix:/abs/path
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if !path.starts_with('/') {
                return Err(invalid(uri, "a unix: URI needs an absolute path"));
            }
            let path = percent_decode(path).ok_or_else(|| invalid(uri, "bad percent-encoding"))?;
            target.unix = Some(PathBuf::from(path));
            return Ok(target);
        }
        let rest = rest
            .strip_prefix("//")
            .ok_or_else(|| invalid(uri, "expected `//` after the scheme"))?;
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let path = path.split('#').next().unwrap_or("");
        if !path.is_empty() {
            target.path = if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            };
        }
        if target.scheme.ends_with("+unix") {
            let socket =
                percent_decode(authority).ok_or_else(|| invalid(uri, "bad percent-encoding"))?;
            if !socket.starts_with('/') {
                return Err(invalid(
                    uri,
                    "the host of a +unix URI must be a percent-encoded absolute socket path",
                ));
            }
            target.unix = Some(PathBuf::from(socket));
            return Ok(target);
        }
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host_port.is_empty() {
            return Err(invalid(uri, "no host"));
        }
        let (host, port) =
            split_host_port(host_port).ok_or_else(|| invalid(uri, "bad host or port"))?;
        target.host = Some(host);
        target.port = port;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// URI, scheme, host, port, Unix path, path and query.
    type Case = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<u16>,
        Option<&'static str>,
        &'static str,
    );

    #[test]
    fn reads_every_form() {
        let cases: &[Case] = &[
            (
                "http://Example.COM/a?b",
                "http",
                Some("example.com"),
                None,
                None,
                "/a?b",
            ),
            (
                "https://example.com:8443",
                "https",
                Some("example.com"),
                Some(8443),
                None,
                "/",
            ),
            (
                "http://[::1]:80/x",
                "http",
                Some("::1"),
                Some(80),
                None,
                "/x",
            ),
            (
                "http://user:pw@host.",
                "http",
                Some("host"),
                None,
                None,
                "/",
            ),
            (
                "unix:///var/run/docker.sock",
                "unix",
                None,
                None,
                Some("/var/run/docker.sock"),
                "/",
            ),
            (
                "unix:/tmp/x.sock",
                "unix",
                None,
                None,
                Some("/tmp/x.sock"),
                "/",
            ),
            (
                "http+unix://%2Fvar%2Frun%2Fdocker.sock/version?all=1",
                "http+unix",
                None,
                None,
                Some("/var/run/docker.sock"),
                "/version?all=1",
            ),
            ("ws://h:1?q", "ws", Some("h"), Some(1), None, "/?q"),
        ];
        for (uri, scheme, host, port, unix, path) in cases {
            let t: Target = uri.parse().expect(uri);
            assert_eq!(t.scheme(), *scheme, "{uri}");
            assert_eq!(t.host(), *host, "{uri}");
            assert_eq!(t.port(), *port, "{uri}");
            assert_eq!(t.unix_path().and_then(|p| p.to_str()), *unix, "{uri}");
            assert_eq!(t.path_and_query(), *path, "{uri}");
        }
    }

    /// Found by fuzzing (`fuzz/corpus/conduit_target/colon-in-host`): the
    /// host `exaep.mlemlaxpe.com:2211111111111111111:128.0.0.1` was read,
    /// and the endpoint made of it could not be written back.
    #[test]
    fn a_host_with_a_colon_is_an_ipv6_address_or_refused() {
        for uri in [
            "https://exaep.mlemlaxpe.com:2211111111111111111:128.0.0.1:8443",
            "http://a:b:80/",
            "http://user@h:1:2/",
        ] {
            let err = uri.parse::<Target>().expect_err(uri);
            assert!(err.to_string().ends_with("bad host or port"), "{err}");
        }
        let bare: Target = "http://::1:80/x".parse().expect("a bare IPv6 address");
        assert_eq!((bare.host(), bare.port()), (Some("::1"), Some(80)));
    }

    /// Found by fuzzing (`fuzz/corpus/conduit_target/dots-for-a-host`): a
    /// host of dots lost them all as the root's dot, leaving an empty host.
    #[test]
    fn a_host_of_dots_only_is_refused() {
        for uri in ["http://./", "http://user@.....:80/x", "https://.."] {
            let err = uri.parse::<Target>().expect_err(uri);
            assert!(err.to_string().ends_with("bad host or port"), "{err}");
        }
        let root: Target = "http://example.com./"
            .parse()
            .expect("a fully qualified name");
        assert_eq!(root.host(), Some("example.com"));
    }

    #[test]
    fn rejects_malformed_uris_with_a_reason() {
        for (uri, reason) in [
            ("example.com", "no scheme"),
            (
                "1http://x",
                "the scheme has characters a scheme cannot have",
            ),
            ("http:/x", "expected `//` after the scheme"),
            ("http:///path", "no host"),
            ("http://h:99999/", "bad host or port"),
            ("http://h w/", "bad host or port"),
            ("http://[zz]/", "bad host or port"),
            ("unix://relative", "a unix: URI needs an absolute path"),
            (
                "http+unix://relative/x",
                "the host of a +unix URI must be a percent-encoded absolute socket path",
            ),
            ("http+unix://%2/x", "bad percent-encoding"),
        ] {
            let err = uri.parse::<Target>().expect_err(uri);
            assert_eq!(err.to_string(), format!("invalid URI `{uri}`: {reason}"));
        }
    }
}

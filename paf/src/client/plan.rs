//! Where a request goes: conduit's resolution, then the proxy settings,
//! made once per origin and kept.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use conduit::{Endpoint, Resolution};
use http::Uri;
use http::header::HeaderValue;
use mimic::{Ctx, tls};

use super::Client;
use super::pool::Route;
use super::tunnel;
use crate::error::{Error, Kind};

/// How one request reaches its server.
pub(super) struct Plan {
    pub(super) route: Arc<Route>,
    pub(super) ctx: Ctx,
    /// The forward proxy's credentials (`Route::Forward`).
    pub(super) proxy_auth: Option<HeaderValue>,
    /// Whether the first connection may speak HTTP/2: prior knowledge in
    /// clear text, or ALPN offering `h2`.
    pub(super) may_h2: bool,
}

impl Client {
    /// Where a request goes: conduit's resolution, then the proxy settings.
    /// The plan for `text`'s origin, made once and kept: resolving it
    /// again would give the same route and context.
    pub(super) fn plan(&self, text: &str, uri: &Uri) -> Result<Arc<Plan>, Error> {
        let plans = &self.shared.plans;
        let origin = origin(text);
        if let Some(plan) = lock(plans).get(origin) {
            return Ok(plan.clone());
        }
        let plan = Arc::new(self.make_plan(text, uri)?);
        let mut plans = lock(plans);
        if plans.len() >= MAX_PLANS {
            plans.clear();
        }
        plans.insert(origin.to_string(), plan.clone());
        Ok(plan)
    }

    /// Resolves `text`, then routes it directly or through its proxy.
    fn make_plan(&self, text: &str, uri: &Uri) -> Result<Plan, Error> {
        let shared = &*self.shared;
        if uri.scheme().is_none() || uri.authority().is_none() {
            return Err(request_error(text, "the URI must be absolute"));
        }
        let resolution = shared
            .resolver
            .resolve_with(text, &shared.overrides)
            .map_err(|e| Error::with(Kind::Request, e))?;
        let target = &resolution.target;
        let unix = matches!(resolution.endpoint, Endpoint::Unix(_));
        let proxy = match (unix, target.host()) {
            (false, Some(h)) => shared.proxies.for_target(target.base_scheme(), h),
            _ => None,
        };
        let direct = self.direct(resolution.endpoint, resolution.ctx);
        let Some(proxy) = proxy else {
            return Ok(Plan {
                route: Arc::new(Route::Direct(direct.endpoint)),
                ctx: direct.ctx,
                proxy_auth: None,
                may_h2: direct.may_h2,
            });
        };
        let via = shared
            .resolver
            .resolve(proxy.uri())
            .map_err(|e| Error::with(Kind::Request, e))?;
        if !matches!(direct.endpoint, Endpoint::Tls { .. }) {
            return Ok(Plan {
                route: Arc::new(Route::Forward(via.endpoint)),
                ctx: via.ctx,
                proxy_auth: proxy.authorization().cloned(),
                may_h2: false,
            });
        }
        let port = target.port().or_else(|| uri.port_u16()).unwrap_or(443);
        let host = target.host().unwrap_or_default();
        let tunnel = tunnel::TunnelEndpoint {
            authority: authority(host, port),
            authorization: proxy.authorization().cloned(),
        };
        Ok(tunneled(direct, via, tunnel, host))
    }

    /// The way without a proxy: the resolved endpoint, and the context with
    /// the client's ALPN choice.
    fn direct(&self, endpoint: Endpoint, mut ctx: Ctx) -> Direct {
        let shared = &*self.shared;
        if let Some(alpn) = &shared.alpn_http1
            && ctx.contains(&tls::SERVER_NAME)
        {
            ctx = ctx.with(&tls::ALPN, alpn.clone());
        }
        // conduit refuses a TLS endpoint without a TLS layer.
        let is_tls = matches!(endpoint, Endpoint::Tls { .. });
        let may_h2 = if is_tls {
            ctx.get(&tls::ALPN)
                .is_some_and(|alpn| alpn.iter().any(|p| p == b"h2"))
        } else {
            shared.conn.is_prior_knowledge()
        };
        Direct {
            endpoint,
            ctx,
            may_h2,
        }
    }
}

/// The target's endpoint and context, before any proxy.
struct Direct {
    endpoint: Endpoint,
    ctx: Ctx,
    may_h2: bool,
}

/// `direct`'s TLS connection, through a `CONNECT` tunnel to the proxy
/// `via`: the target's TLS settings, not the proxy's, apply inside.
fn tunneled(direct: Direct, via: Resolution, tunnel: tunnel::TunnelEndpoint, host: &str) -> Plan {
    let mut ctx = tunnel::through(via.ctx, tunnel).with(&tls::SERVER_NAME, host.to_string());
    if let Some(alpn) = direct.ctx.get(&tls::ALPN) {
        ctx = ctx.with(&tls::ALPN, alpn.clone());
    }
    if let Some(config) = direct.ctx.get(&tls::CONFIG) {
        ctx = ctx.with(&tls::CONFIG, config.clone());
    }
    Plan {
        route: Arc::new(Route::Tunnel {
            proxy: via.endpoint,
            target: direct.endpoint,
        }),
        ctx,
        proxy_auth: None,
        may_h2: direct.may_h2,
    }
}

/// `host:port`, with an IPv6 literal in brackets.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The most origins whose plans are kept; past it, they are made again.
const MAX_PLANS: usize = 256;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where `://` starts, after the scheme. (A byte scan: a substring search
/// costs more to set up than it saves on a URI.)
fn scheme_end(text: &str) -> Option<usize> {
    let colon = text.bytes().position(|b| b == b':')?;
    text.as_bytes()
        .get(colon + 1..colon + 3)
        .is_some_and(|slashes| slashes == b"//")
        .then_some(colon)
}

/// `scheme://authority` of a URI: what its plan depends on. A `unix:`
/// URI is all socket path: the whole of it.
fn origin(text: &str) -> &str {
    if is_unix_scheme(text) {
        return text;
    }
    let start = scheme_end(text).map_or(0, |i| i + 3);
    let end = text[start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| start + i);
    &text[..end]
}

/// Whether `text` is a `unix:` URI (`unix:///run/app.sock`, `unix:/run/app.sock`).
fn is_unix_scheme(text: &str) -> bool {
    text.get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("unix:"))
}

/// The `http` form of a URI conduit reads. conduit decides which URIs are
/// accepted, and its parse error is the one reported, so that the client
/// takes exactly what `conduit::connect` takes. A Unix socket's URI
/// (`unix:///run/app.sock`, `http+unix://%2Frun%2Fapp.sock/path`) becomes
/// `http://localhost/path`.
pub(super) fn http_uri(text: &str) -> Result<Uri, Error> {
    // The common case, without a second parse per request: a URI `http`
    // reads whole, with a scheme and an authority. conduit's verdict on it
    // depends only on its origin, which it reads when the origin's plan is
    // made (and refuses there, with the same error).
    if !is_socket_uri(text)
        && let Ok(uri) = text.parse::<Uri>()
        && uri.scheme().is_some()
        && uri.authority().is_some_and(|a| port_fits(a.as_str()))
    {
        return Ok(uri);
    }
    let target: conduit::Target = text.parse().map_err(|e| Error::with(Kind::Request, e))?;
    if target.unix_path().is_some() {
        let path = target.path_and_query();
        return format!("http://localhost{path}")
            .parse()
            .map_err(|e| invalid(text, e));
    }
    // The text as written, userinfo and all, when `http` reads it; else
    // the parts conduit read (`http://::1:80/` has its host bracketed).
    if let Ok(uri) = text.parse::<Uri>() {
        return Ok(uri);
    }
    let host = target.host().unwrap_or_default();
    let mut form = format!("{}://{}", target.scheme(), authority_host(host));
    if let Some(port) = target.port() {
        form = format!("{form}:{port}");
    }
    form.push_str(target.path_and_query());
    form.parse().map_err(|e| invalid(text, e))
}

/// A host as an authority writes it: an IPv6 literal in brackets.
fn authority_host(host: &str) -> std::borrow::Cow<'_, str> {
    match host.contains(':') {
        true => format!("[{host}]").into(),
        false => host.into(),
    }
}

/// A URI conduit reads but an HTTP request cannot carry (a space in the
/// path), as conduit's invalid-URI error.
fn invalid(text: &str, why: http::uri::InvalidUri) -> Error {
    let reason = format!("an HTTP request cannot carry it ({why})");
    Error::with(Kind::Request, conduit::Error::invalid_uri(text, reason))
}

/// Whether an authority's port, if it has one, is a port number (`http`
/// takes any digits).
fn port_fits(authority: &str) -> bool {
    authority
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.ends_with(']') || port.parse::<u16>().is_ok())
}

/// Whether `text` names a Unix socket: `unix:` or a `+unix` scheme.
fn is_socket_uri(text: &str) -> bool {
    is_unix_scheme(text) || scheme_end(text).is_some_and(|at| is_plus_unix(&text[..at]))
}

fn is_plus_unix(scheme: &str) -> bool {
    scheme.len() > 5 && scheme.as_bytes()[scheme.len() - 5..].eq_ignore_ascii_case(b"+unix")
}

/// `http+unix://<socket>` of a Unix socket URI: a `+unix` URI's own, or a
/// `unix:` URI's socket path percent-encoded into one.
pub(super) fn unix_prefix(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    if is_unix_scheme(text) {
        let target: conduit::Target = text.parse().ok()?;
        return Some(conduit::Target::unix_socket_uri(target.unix_path()?, "").into());
    }
    let at = scheme_end(text)?;
    let (scheme, rest) = (&text[..at], &text[at + 3..]);
    if !is_plus_unix(scheme) {
        return None;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    Some(text[..scheme.len() + 3 + end].into())
}

pub(super) fn request_error(uri: &str, why: impl fmt::Display) -> Error {
    Error::with(Kind::Request, format!("`{uri}`: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_socket_uris_get_an_http_form() {
        let text = "http+unix://%2Frun%2Fapp.sock/v1/x?y=1";
        assert_eq!(
            unix_prefix(text).as_deref(),
            Some("http+unix://%2Frun%2Fapp.sock")
        );
        let uri = http_uri(text).map(|u| u.to_string()).ok();
        assert_eq!(uri.as_deref(), Some("http://localhost/v1/x?y=1"));
        assert_eq!(unix_prefix("http://example.com/a"), None);
        for text in ["unix:///run/my app.sock", "UNIX:/run/my%20app.sock"] {
            let uri = http_uri(text).map(|u| u.to_string()).ok();
            assert_eq!(uri.as_deref(), Some("http://localhost/"), "{text}");
            assert_eq!(
                unix_prefix(text).as_deref(),
                Some("http+unix://%2Frun%2Fmy%20app.sock"),
                "{text}"
            );
            assert_eq!(origin(text), text, "the socket path is the origin");
        }
    }

    /// conduit's reading, not `http`'s: what it takes works, what it
    /// refuses fails with its words.
    #[test]
    fn uris_are_read_as_conduit_reads_them() {
        let uri = |text| http_uri(text).map(|u| u.to_string());
        assert_eq!(
            uri("http://::1:8080/x").ok().as_deref(),
            Some("http://[::1]:8080/x")
        );
        assert_eq!(uri("http://u:p@h/").ok().as_deref(), Some("http://u:p@h/"));
        for (text, reason) in [
            ("localhost:8000/x", "expected `//` after the scheme"),
            ("/relative", "no scheme"),
            ("http://h:99999/", "bad host or port"),
        ] {
            let err = uri(text).expect_err(text);
            assert!(err.is_request(), "{err:?}");
            let cause = std::error::Error::source(&err).expect("conduit's error");
            let conduit = cause
                .downcast_ref::<conduit::Error>()
                .expect("conduit's error");
            assert!(conduit.is_invalid_uri(), "{conduit:?}");
            assert_eq!(
                conduit.to_string(),
                format!("invalid URI `{text}`: {reason}")
            );
            assert_eq!(format!("{err:#}"), format!("invalid request: {conduit}"));
        }
    }
}

//! Following redirects: which to follow, and the request each one becomes.

use http::header::{self, HeaderMap};
use http::{Method, StatusCode, Uri};

use crate::error::{Error, Kind};

/// Which redirects [`Client`](super::Client) follows.
///
/// The default follows up to 10. A followed redirect changes the request
/// as browsers and curl do:
///
/// - `303 See Other` becomes a `GET` without a body (a `HEAD` stays `HEAD`);
///   so do `301` and `302` answering a `POST`.
/// - `307` and `308` keep the method and the body; when the body was
///   streamed and cannot be sent again, the redirect response itself is
///   returned.
/// - When the scheme, host or port changes, `authorization`, `cookie` and
///   `proxy-authorization` are dropped, so that credentials never reach
///   another server.
/// - A redirect from `https` to `http` is followed only with
///   [`Redirect::allow_downgrade`].
/// - Only `http` and `https` are followed, whatever the resolver knows:
///   a `location` in another scheme (`gopher://`, `redis://`, `file:`,
///   `http+unix://`) fails with
///   [`Error::is_redirect`](crate::Error::is_redirect), naming the scheme.
///   A request to a Unix socket is redirected within it by a path (or its
///   `http://localhost/...` form); a request in a custom scheme may be
///   redirected within its own scheme and authority: the server cannot
///   send the client anywhere new that way.
///
/// More redirects than the limit fail with
/// [`Error::is_redirect`](crate::Error::is_redirect), naming the chain.
#[derive(Clone, Debug)]
pub struct Redirect {
    limit: usize,
    downgrade: bool,
}

impl Default for Redirect {
    fn default() -> Redirect {
        Redirect::limit(10)
    }
}

impl Redirect {
    /// Follows at most `max` redirects per request.
    pub fn limit(max: usize) -> Redirect {
        Redirect {
            limit: max,
            downgrade: false,
        }
    }

    /// Follows none: 3xx responses are returned as they are.
    pub fn none() -> Redirect {
        Redirect::limit(0)
    }

    /// Also follows redirects from `https` to `http`.
    pub fn allow_downgrade(mut self) -> Redirect {
        self.downgrade = true;
        self
    }

    pub(crate) fn is_none(&self) -> bool {
        self.limit == 0
    }
}

/// What a 3xx response asks for.
pub(crate) enum Next {
    /// Return the response as it is.
    Stop,
    /// Send this request next; `keep_body` says whether the body goes too.
    Follow {
        uri: Uri,
        method: Method,
        keep_body: bool,
    },
}

/// Decides about one response; `chain` holds the URIs visited so far, the
/// current one last.
pub(crate) fn next(
    policy: &Redirect,
    status: StatusCode,
    method: &Method,
    headers: &HeaderMap,
    chain: &[Uri],
) -> Result<Next, Error> {
    let (keep_method, keep_body) = match status {
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => {
            let post = *method == Method::POST;
            (!post, !post)
        }
        StatusCode::SEE_OTHER => (*method == Method::HEAD, false),
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => (true, true),
        _ => return Ok(Next::Stop),
    };
    let Some(location) = headers.get(header::LOCATION) else {
        return Ok(Next::Stop);
    };
    let Some(current) = chain.last() else {
        return Ok(Next::Stop);
    };
    let uri = target(current, location.as_bytes())?;
    if chain.len() > policy.limit {
        let hops: Vec<String> = chain.iter().map(Uri::to_string).collect();
        return Err(Error::with(
            Kind::Redirect,
            format!(
                "more than {} redirects: {} -> {uri}",
                policy.limit,
                hops.join(" -> ")
            ),
        ));
    }
    if current.scheme_str() == Some("https")
        && uri.scheme_str() == Some("http")
        && !policy.downgrade
    {
        return Ok(Next::Stop);
    }
    let method = if keep_method {
        method.clone()
    } else {
        Method::GET
    };
    Ok(Next::Follow {
        uri,
        method,
        keep_body,
    })
}

/// Where `location` leads from `current`, if it may be followed: `http` or
/// `https`, or `current`'s own custom scheme within its origin.
fn target(current: &Uri, location: &[u8]) -> Result<Uri, Error> {
    let shown = || String::from_utf8_lossy(location);
    let refused = |scheme: &str| {
        let why = format!(
            "`location: {}` from {current}: the scheme `{scheme}` is not followed, only http and https",
            shown()
        );
        Error::with(Kind::Redirect, why)
    };
    // Checked before resolving, so that `file:` or `data:` is refused by
    // its name rather than as an unusable URI.
    if let Some(scheme) = scheme_of(location)
        && !is_http(scheme)
        && !current
            .scheme_str()
            .is_some_and(|own| own.eq_ignore_ascii_case(scheme))
    {
        return Err(refused(scheme));
    }
    let uri = resolve(current, location).ok_or_else(|| {
        let why = format!("`location: {}` from {current} is not a usable URI", shown());
        Error::with(Kind::Redirect, why)
    })?;
    if let Some(scheme) = uri.scheme_str()
        && !is_http(scheme)
        && !same_origin(current, &uri)
    {
        return Err(refused(scheme));
    }
    Ok(uri)
}

fn is_http(scheme: &str) -> bool {
    scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
}

/// The scheme `location` starts with, if any.
fn scheme_of(location: &[u8]) -> Option<&str> {
    let location = std::str::from_utf8(location).ok()?.trim();
    has_scheme(location).then(|| location.split_once(':').map(|(scheme, _)| scheme))?
}

/// Whether two URIs have the same origin: scheme, host and port.
pub(crate) fn same_origin(a: &Uri, b: &Uri) -> bool {
    a.scheme() == b.scheme() && a.host() == b.host() && a.port_u16() == b.port_u16()
}

/// Drops what must not follow a redirect: credentials to another origin,
/// and the body's fields when the body is not sent again.
pub(crate) fn scrub(headers: &mut HeaderMap, cross_origin: bool, keep_body: bool) {
    if cross_origin {
        for name in [
            header::AUTHORIZATION,
            header::COOKIE,
            header::PROXY_AUTHORIZATION,
        ] {
            headers.remove(name);
        }
    }
    if !keep_body {
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CONTENT_ENCODING,
            header::TRANSFER_ENCODING,
        ] {
            headers.remove(name);
        }
    }
    headers.remove(header::HOST);
}

/// Resolves a `location` against the current URI (RFC 3986, section 5.2,
/// for the forms servers send: absolute, scheme-relative, absolute path,
/// relative path, query only).
fn resolve(base: &Uri, location: &[u8]) -> Option<Uri> {
    let location = std::str::from_utf8(location).ok()?.trim();
    if location.is_empty() {
        return None;
    }
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let text = if has_scheme(location) {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if location.starts_with('?') {
        format!("{scheme}://{authority}{}{location}", base.path())
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!(
            "{scheme}://{authority}{}",
            normalize(&format!("{dir}{location}"))
        )
    };
    // A fragment is the client's own business.
    let text = text.split('#').next()?;
    let uri: Uri = text.parse().ok()?;
    uri.scheme()?;
    uri.host()?;
    Some(uri)
}

/// Whether `reference` starts with `scheme:` (RFC 3986, section 3.1): a
/// relative reference may hold `://` further on (`next?to=http://x`).
fn has_scheme(reference: &str) -> bool {
    let Some((scheme, _)) = reference.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// Removes `.` and `..` segments from a path (with its query, untouched).
fn normalize(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut path = out.join("/");
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().expect("a valid URI")
    }

    #[test]
    fn locations_resolve_against_the_current_uri() {
        let base = uri("http://a.test:8080/x/y/z?q=1");
        for (location, expected) in [
            ("http://b.test/p", "http://b.test/p"),
            ("//c.test/p", "http://c.test/p"),
            ("/abs?k=v", "http://a.test:8080/abs?k=v"),
            ("rel", "http://a.test:8080/x/y/rel"),
            ("../up", "http://a.test:8080/x/up"),
            ("./here/", "http://a.test:8080/x/y/here/"),
            ("../../../../top", "http://a.test:8080/top"),
            ("?only=query", "http://a.test:8080/x/y/z?only=query"),
            ("/frag#part", "http://a.test:8080/frag"),
            (
                "next?to=http://b.test/",
                "http://a.test:8080/x/y/next?to=http://b.test/",
            ),
        ] {
            let got = resolve(&base, location.as_bytes()).map(|u| u.to_string());
            assert_eq!(got.as_deref(), Some(expected), "{location}");
        }
        assert!(resolve(&base, b"").is_none());
        assert!(resolve(&base, b"http://").is_none());
    }

    fn follow(status: u16, method: Method) -> Option<(Method, bool)> {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, http::HeaderValue::from_static("/next"));
        let status = StatusCode::from_u16(status).expect("a status");
        match next(
            &Redirect::default(),
            status,
            &method,
            &headers,
            &[uri("http://a.test/")],
        ) {
            Ok(Next::Follow {
                method, keep_body, ..
            }) => Some((method, keep_body)),
            _ => None,
        }
    }

    #[test]
    fn methods_change_as_browsers_do() {
        assert_eq!(follow(303, Method::POST), Some((Method::GET, false)));
        assert_eq!(follow(303, Method::HEAD), Some((Method::HEAD, false)));
        assert_eq!(follow(302, Method::POST), Some((Method::GET, false)));
        assert_eq!(follow(301, Method::PUT), Some((Method::PUT, true)));
        assert_eq!(follow(307, Method::POST), Some((Method::POST, true)));
        assert_eq!(follow(308, Method::DELETE), Some((Method::DELETE, true)));
        assert_eq!(follow(304, Method::GET), None);
        assert_eq!(follow(200, Method::GET), None);
    }

    #[test]
    fn too_many_redirects_name_the_chain() {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, http::HeaderValue::from_static("/c"));
        let chain = [uri("http://a.test/a"), uri("http://a.test/b")];
        let err = next(
            &Redirect::limit(1),
            StatusCode::FOUND,
            &Method::GET,
            &headers,
            &chain,
        )
        .err()
        .expect("over the limit");
        assert!(err.is_redirect());
        assert_eq!(err.to_string(), "cannot follow the redirect");
        assert_eq!(
            format!("{err:#}"),
            "cannot follow the redirect: more than 1 redirects: http://a.test/a -> http://a.test/b -> http://a.test/c"
        );
    }

    #[test]
    fn downgrades_and_credentials() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LOCATION,
            http::HeaderValue::from_static("http://a.test/"),
        );
        let from = [uri("https://a.test/")];
        let stop = next(
            &Redirect::default(),
            StatusCode::FOUND,
            &Method::GET,
            &headers,
            &from,
        );
        assert!(matches!(stop, Ok(Next::Stop)));
        let go = next(
            &Redirect::default().allow_downgrade(),
            StatusCode::FOUND,
            &Method::GET,
            &headers,
            &from,
        );
        assert!(matches!(go, Ok(Next::Follow { .. })));

        let mut fields = HeaderMap::new();
        for (k, v) in [
            ("authorization", "x"),
            ("cookie", "y"),
            ("content-type", "z"),
            ("x-keep", "k"),
        ] {
            fields.insert(
                http::HeaderName::from_static(k),
                http::HeaderValue::from_static(v),
            );
        }
        scrub(&mut fields, true, false);
        assert_eq!(fields.len(), 1);
        assert!(fields.contains_key("x-keep"));
        assert!(!same_origin(
            &uri("http://a.test/"),
            &uri("http://a.test:81/")
        ));
        assert!(same_origin(
            &uri("http://a.test/x"),
            &uri("http://a.test/y")
        ));
    }

    /// Where a `302` with `location` from `current` leads: the next URI,
    /// or the error's whole text.
    fn redirect(current: &str, location: &str) -> Result<String, String> {
        let mut headers = HeaderMap::new();
        let value = http::HeaderValue::from_str(location).expect("a field value");
        headers.insert(header::LOCATION, value);
        let chain = [uri(current)];
        let policy = Redirect::default();
        match next(&policy, StatusCode::FOUND, &Method::GET, &headers, &chain) {
            Ok(Next::Follow { uri, .. }) => Ok(uri.to_string()),
            Ok(Next::Stop) => Err("stopped".into()),
            Err(err) if err.is_redirect() => Err(format!("{err:#}")),
            Err(err) => panic!("not a redirect error: {err:#}"),
        }
    }

    #[test]
    fn only_http_and_https_are_followed() {
        let web = |location| redirect("http://a.test/p", location);
        assert_eq!(web("https://b.test/x").as_deref(), Ok("https://b.test/x"));
        assert_eq!(web("HTTP://b.test/x").as_deref(), Ok("http://b.test/x"));
        assert_eq!(web("//b.test/x").as_deref(), Ok("http://b.test/x"));
        for (location, scheme) in [
            ("gopher://127.0.0.1:70/x", "gopher"),
            ("redis://127.0.0.1:6379/", "redis"),
            ("REDIS://127.0.0.1/", "REDIS"),
            ("ftp://b.test/f", "ftp"),
            ("file:///etc/passwd", "file"),
            ("data:text/plain,hi", "data"),
            ("javascript:alert(1)", "javascript"),
            (
                "http+unix://%2Frun%2Fdocker.sock/containers/json",
                "http+unix",
            ),
        ] {
            let err = web(location).expect_err(location);
            let expected = format!(
                "cannot follow the redirect: `location: {location}` from http://a.test/p: \
                 the scheme `{scheme}` is not followed, only http and https"
            );
            assert_eq!(err, expected);
        }
    }

    #[test]
    fn a_custom_scheme_is_followed_within_its_origin() {
        let custom = |location| redirect("app://svc/a", location);
        assert_eq!(custom("/b").as_deref(), Ok("app://svc/b"));
        assert_eq!(custom("APP://svc/c").as_deref(), Ok("APP://svc/c"));
        for elsewhere in ["app://other/b", "//other/b"] {
            let err = custom(elsewhere).expect_err(elsewhere);
            assert!(err.contains("the scheme `app` is not followed"), "{err}");
        }
        assert_eq!(custom("https://b.test/").as_deref(), Ok("https://b.test/"));
    }
}

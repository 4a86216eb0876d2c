//! Writing a client's request head: the target's form (RFC 9112 §3.2),
//! `host`, and the body framing the plan chose.

use bytes::BytesMut;
use http::request::Parts;
use http::{Method, Uri, Version};

use super::encode_head::{RequestHeadOut, encode_request_head};
use super::framing::Framing;
use super::plan::{InvalidLength, plan_request};

/// Appends the head of a request whose body is `length` bytes when known
/// to `dst`; returns the body's framing. `scratch` holds a target that has
/// to be assembled.
pub(crate) fn encode_request(
    parts: &Parts,
    length: Option<u64>,
    absolute_form: bool,
    scratch: &mut Vec<u8>,
    dst: &mut BytesMut,
) -> Result<Framing, InvalidLength> {
    let framing = plan_request(&parts.method, &parts.headers, length)?;
    // RFC 9112 §3.2: without an authority, `host` is sent empty.
    let host = parts
        .uri
        .authority()
        .map_or("", |authority| host(authority.as_str()));
    let head = RequestHeadOut {
        method: &parts.method,
        target: target(&parts.method, &parts.uri, absolute_form, scratch),
        version: Version::HTTP_11,
        headers: &parts.headers,
        host: Some(host.as_bytes()),
        framing,
    };
    encode_request_head(&head, dst);
    Ok(framing)
}

/// The request target (RFC 9112 §3.2): authority-form for CONNECT,
/// absolute-form when asked (for proxies), origin-form otherwise.
fn target<'a>(
    method: &Method,
    uri: &'a Uri,
    absolute_form: bool,
    scratch: &'a mut Vec<u8>,
) -> &'a [u8] {
    if *method == Method::CONNECT
        && let Some(authority) = uri.authority()
    {
        return authority.as_str().as_bytes();
    }
    let path = uri.path_and_query().map_or("", |path| path.as_str());
    if absolute_form && let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) {
        scratch.clear();
        scratch.extend_from_slice(scheme.as_str().as_bytes());
        scratch.extend_from_slice(b"://");
        scratch.extend_from_slice(host(authority.as_str()).as_bytes());
        if !path.starts_with('/') {
            scratch.push(b'/');
        }
        scratch.extend_from_slice(path.as_bytes());
        return scratch;
    }
    match path {
        "" => b"/",
        // `http://host?q` has a query and no path.
        _ if path.starts_with('?') => {
            scratch.clear();
            scratch.push(b'/');
            scratch.extend_from_slice(path.as_bytes());
            scratch
        }
        _ => path.as_bytes(),
    }
}

/// The authority without user information, which never goes on the wire.
fn host(authority: &str) -> &str {
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let cases = [
            ("GET", "http://a.example:8080/x?y", false, "/x?y"),
            ("GET", "http://a.example", false, "/"),
            ("GET", "http://a.example?q", false, "/?q"),
            ("OPTIONS", "*", false, "*"),
            ("GET", "/relative", false, "/relative"),
            ("CONNECT", "a.example:443", false, "a.example:443"),
            ("GET", "http://u:p@a.example/x", true, "http://a.example/x"),
            ("GET", "http://a.example?q", true, "http://a.example/?q"),
            ("GET", "/relative", true, "/relative"),
        ];
        for (method, uri, absolute, expected) in cases {
            let method = Method::from_bytes(method.as_bytes()).unwrap_or_default();
            let uri: Uri = uri.parse().unwrap_or_default();
            let mut scratch = Vec::new();
            let target = target(&method, &uri, absolute, &mut scratch);
            assert_eq!(String::from_utf8_lossy(target), expected, "{method} {uri}");
        }
    }

    #[test]
    fn host_drops_user_information() {
        assert_eq!(host("user:pass@a.example:81"), "a.example:81");
        assert_eq!(host("a.example"), "a.example");
    }
}

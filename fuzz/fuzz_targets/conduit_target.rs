//! conduit's URI reader (`Target`), and the resolver's rules on what it
//! reads (no I/O: no DNS, no services file).
//!
//! The first line is the URI; each further line is tried as a
//! `--connect-to` rule and as a `--resolve` entry.
//!
//! Checks that a URI that reads shows as its own text, with a lowercase
//! scheme, a lowercase non-empty host without brackets, a request path that
//! starts with `/`, and an absolute Unix path exactly for `unix:` and
//! `*+unix:` schemes; and that the endpoint the resolver makes of it shows
//! as text that reads back as the same endpoint.
#![no_main]

use std::sync::LazyLock;

use conduit::{Destination, Endpoint, Overrides, Resolver, Target};
use libfuzzer_sys::fuzz_target;

static RESOLVER: LazyLock<Resolver> = LazyLock::new(|| {
    Resolver::builder()
        .dns(None)
        .services_file(None)
        .static_host("docker.test", Destination::Unix("/run/docker.sock".into()))
        .rewrite_domain(
            "internal.test",
            Destination::Host {
                host: "127.0.0.1".into(),
                port: Some(8080),
            },
        )
        .build()
        .expect("a resolver without a services file builds")
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let uri = lines.next().unwrap_or_default();
    if let Ok(target) = uri.parse::<Target>() {
        check_target(uri, &target);
    }
    if let Ok(resolution) = RESOLVER.resolve(uri) {
        assert_eq!(resolution.target.to_string(), uri);
        round_trips(&resolution.endpoint);
    }
    let mut overrides = Overrides::new();
    for rule in lines {
        overrides = overrides.clone().connect_to(rule).unwrap_or(overrides);
        overrides = overrides.clone().resolve(rule).unwrap_or(overrides);
    }
    // Rules may name any host: only the absence of a panic is checked.
    let _ = RESOLVER.resolve_with(uri, &overrides);
});

fn check_target(uri: &str, target: &Target) {
    assert_eq!(target.to_string(), uri, "a target shows as its text");
    let scheme = target.scheme();
    assert_eq!(scheme, scheme.to_ascii_lowercase());
    assert!(uri.to_ascii_lowercase().starts_with(&format!("{scheme}:")));
    if let Some(host) = target.host() {
        assert!(!host.is_empty(), "{uri}: an empty host");
        assert_eq!(host, host.to_ascii_lowercase(), "{uri}");
        assert!(!host.contains(['[', ']', '@', '/']), "{uri}: host {host}");
    }
    assert!(target.path_and_query().starts_with('/'), "{uri}");
    let unix = scheme == "unix" || scheme.ends_with("+unix");
    assert_eq!(target.unix_path().is_some(), unix, "{uri}");
    assert_eq!(target.host().is_some(), !unix, "{uri}");
    if let Some(path) = target.unix_path() {
        assert!(path.is_absolute(), "{uri}: {}", path.display());
    }
}

/// An endpoint shows as text that reads back as itself.
fn round_trips(endpoint: &Endpoint) {
    let text = endpoint.to_string();
    match text.parse::<Endpoint>() {
        Ok(again) => assert_eq!(&again, endpoint, "{text}"),
        Err(err) => panic!("{endpoint:?} shows as {text:?}, which does not read: {err:#}"),
    }
}

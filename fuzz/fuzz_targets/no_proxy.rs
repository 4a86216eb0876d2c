//! paf's `NO_PROXY` lists and which requests they keep off the proxy.
//!
//! The first line is a `NO_PROXY` list, the second another one; each
//! further line, and each entry of the lists, is a host to ask about.
//!
//! Checks that
//! - `*` keeps every host off the proxy, and only `http` and `https` are
//!   ever proxied, whatever the scheme's case;
//! - adding entries never sends through the proxy a host that was kept off
//!   it, and two lists added one after the other decide as their join;
//! - an entry that is a host name or an IP address keeps that very host
//!   off the proxy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paf::client::{Proxies, Proxy};
use paf::fuzzing::proxy_for;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default();
    let second = lines.next().unwrap_or_default();
    let entries = first.split(',').chain(second.split(',')).map(str::trim);
    let hosts: Vec<&str> = lines.chain(entries.clone()).collect();

    let none = proxied();
    let one = proxied().no_proxy(first);
    let both = proxied().no_proxy(first).no_proxy(second);
    let joined = proxied().no_proxy(&format!("{first},{second}"));
    let all = proxied().no_proxy(first).no_proxy("*");
    for host in &hosts {
        for scheme in ["http", "HTTPS", "hTtP"] {
            let direct = |proxies: &Proxies| proxy_for(proxies, scheme, host).is_none();
            assert!(!direct(&none), "{scheme}://{host} goes through the proxy");
            assert!(direct(&all), "`*` keeps {host} off the proxy");
            assert!(
                !direct(&one) || direct(&both),
                "more entries, {host} proxied"
            );
            assert_eq!(
                direct(&both),
                direct(&joined),
                "{first:?} then {second:?}: {host}"
            );
        }
        for scheme in ["ws", "unix", "http+unix", "ftp", ""] {
            assert_eq!(proxy_for(&none, scheme, host), None, "{scheme}://{host}");
        }
    }
    for entry in entries {
        if names_a_host(entry) {
            let own = proxied().no_proxy(entry);
            assert_eq!(
                proxy_for(&own, "http", entry),
                None,
                "{entry:?} excepts itself"
            );
        }
    }
});

/// Both schemes through one proxy.
fn proxied() -> Proxies {
    let proxy = Proxy::new("http://proxy.test:3128").expect("a valid proxy URI");
    Proxies::none().http(proxy.clone()).https(proxy)
}

/// An IP address (IPv6 with or without brackets), or a host name: letters,
/// digits, `-`, `_` and dots, with at least one letter or digit.
fn names_a_host(entry: &str) -> bool {
    let bare = entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(entry);
    bare.parse::<std::net::IpAddr>().is_ok()
        || (entry.bytes().any(|b| b.is_ascii_alphanumeric())
            && entry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
}

//! paf's proxy settings: `Proxy::new`, as `http_proxy` and its kin are read.
//!
//! Checks that a proxy that reads shows as `http://host:port` with a port,
//! which reads back as the same proxy without credentials; that user
//! information becomes a sensitive `proxy-authorization` value; and that a
//! password never shows, in the proxy's text, its `Debug` or an error,
//! whatever surrounds it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paf::client::Proxy;
use paf::fuzzing::proxy_authorization;

/// Put in the password of every input; it must never show.
const SECRET: &str = "pw-s3cr3t-";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(proxy) = Proxy::new(text) {
        check_proxy(text, &proxy);
    }
    // The input around a password: `http://user:SECRET<input>@<input>`.
    if text.to_ascii_lowercase().contains(SECRET) {
        return;
    }
    let with_secret = format!("http://user:{SECRET}{text}@{text}");
    let shown = match Proxy::new(&with_secret) {
        Ok(proxy) => {
            check_proxy(&with_secret, &proxy);
            format!("{proxy} {proxy:?}")
        }
        Err(err) => format!("{err} {err:#} {err:?}"),
    };
    assert!(
        !shown.to_ascii_lowercase().contains(SECRET),
        "{with_secret:?} shows its password: {shown}"
    );
});

fn check_proxy(text: &str, proxy: &Proxy) {
    let shown = proxy.to_string();
    let authority = shown.strip_prefix("http://").expect("an http:// proxy");
    let (host, port) = authority.rsplit_once(':').expect("a proxy shows its port");
    assert!(!host.is_empty(), "{text:?} shows as {shown}");
    assert!(port.parse::<u16>().is_ok_and(|port| port > 0), "{shown}");
    match Proxy::new(&shown) {
        Ok(again) => {
            assert_eq!(again.to_string(), shown);
            assert_eq!(proxy_authorization(&again), None, "{shown}");
        }
        Err(err) => panic!("{text:?} shows as {shown:?}, which does not read: {err:#}"),
    }
    if let Some(value) = proxy_authorization(proxy) {
        assert!(value.is_sensitive(), "credentials are marked sensitive");
        assert!(value.as_bytes().starts_with(b"Basic "));
    }
}

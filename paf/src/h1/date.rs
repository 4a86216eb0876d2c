//! The `Date` header value, formatted once per second per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// `Sun, 06 Nov 1994 08:49:37 GMT` is 29 bytes.
const LEN: usize = 29;

struct Cached {
    second: u64,
    value: [u8; LEN],
}

thread_local! {
    static CACHE: RefCell<Cached> = const { RefCell::new(Cached { second: u64::MAX, value: [0; LEN] }) };
}

/// Calls `f` with the current date as an HTTP date.
pub(crate) fn with_date<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.second != second {
            let text = httpdate::fmt_http_date(now);
            if text.len() == LEN {
                cache.value.copy_from_slice(text.as_bytes());
                cache.second = second;
            }
        }
        f(&cache.value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_parses_back() {
        let text = with_date(|date| String::from_utf8_lossy(date).into_owned());
        let parsed = httpdate::parse_http_date(&text).expect("a valid HTTP date");
        let age = SystemTime::now().duration_since(parsed).unwrap_or_default();
        assert!(age.as_secs() < 2, "{text}");
    }
}

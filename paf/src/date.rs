//! The `Date` header value, formatted once per second per thread.
//!
//! The wall clock is read once per second; in between, the date is worked
//! out from the monotonic instant the connection reads anyway (for its idle
//! deadline), so a response costs one clock read, not two.

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;
use tokio::time::Instant;

/// `Sun, 06 Nov 1994 08:49:37 GMT` is 29 bytes.
const LEN: usize = 29;

struct Cached {
    /// A monotonic instant and the wall-clock time (since the epoch) it was.
    anchor: Option<(Instant, Duration)>,
    second: u64,
    value: [u8; LEN],
    /// The same, as a header value, made on first use in each second.
    header: Option<HeaderValue>,
}

thread_local! {
    static CACHE: RefCell<Cached> = const {
        RefCell::new(Cached { anchor: None, second: u64::MAX, value: [0; LEN], header: None })
    };
}

fn wall_now() -> (SystemTime, Duration) {
    let now = SystemTime::now();
    (now, now.duration_since(UNIX_EPOCH).unwrap_or_default())
}

fn with_cache<R>(now: Instant, f: impl FnOnce(&mut Cached) -> R) -> R {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let estimate = match cache.anchor {
            Some((at, wall)) if now >= at => Some(wall + (now - at)),
            _ => None,
        };
        if estimate.is_none_or(|wall| wall.as_secs() != cache.second) {
            // A new second (or no anchor yet): read the wall clock for real,
            // so that the estimate never drifts by more than a second.
            let (system, wall) = wall_now();
            cache.anchor = Some((now, wall));
            let text = httpdate::fmt_http_date(system);
            if text.len() == LEN {
                cache.value.copy_from_slice(text.as_bytes());
                cache.second = wall.as_secs();
                cache.header = None;
            }
        }
        f(&mut cache)
    })
}

/// Calls `f` with the date at `now` as an HTTP date.
pub(crate) fn with_date<R>(now: Instant, f: impl FnOnce(&[u8]) -> R) -> R {
    with_cache(now, |cache| f(&cache.value))
}

/// The date at `now` as a header value; cloning it shares one buffer.
pub(crate) fn header_value(now: Instant) -> Option<HeaderValue> {
    with_cache(now, |cache| {
        if cache.header.is_none() {
            let bytes = bytes::Bytes::copy_from_slice(&cache.value);
            cache.header = HeaderValue::from_maybe_shared(bytes).ok();
        }
        cache.header.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date_at(now: Instant) -> String {
        with_date(now, |date| String::from_utf8_lossy(date).into_owned())
    }

    #[test]
    fn the_date_parses_back_and_never_strays_from_the_wall_clock() {
        let close_to_now = |text: &str| {
            let parsed = httpdate::parse_http_date(text).expect("a valid HTTP date");
            let age = SystemTime::now().duration_since(parsed).unwrap_or_default();
            age.as_secs() < 2
        };
        let text = date_at(Instant::now());
        assert!(close_to_now(&text), "{text}");
        // An instant far from the anchor reaches a new second, so the wall
        // clock is read again rather than trusted to the estimate.
        let text = date_at(Instant::now() + Duration::from_secs(3600));
        assert!(close_to_now(&text), "{text}");
    }

    #[test]
    fn the_header_value_is_the_same_date() {
        let now = Instant::now();
        let header = header_value(now).expect("a date header");
        assert_eq!(header.as_bytes(), date_at(now).as_bytes());
    }
}

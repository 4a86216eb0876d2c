//! Small pieces both tools use: durations on the command line, the
//! percent-encoding of path segments, HTTP version names and month names.

use std::time::Duration;

use http::Version;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// The longest duration an option takes: a year. Longer ones are refused
/// rather than left to overflow the clock arithmetic they end up in.
pub const MAX_SECONDS: u64 = 365 * 24 * 60 * 60;

/// A duration option: seconds with an optional fraction (`0.5`, `30`,
/// `1e3`), from 0 to [`MAX_SECONDS`]. Negative numbers, NaN, infinities
/// and anything longer are refused with a message for clap to show (which
/// then exits with status 2).
pub fn seconds(text: &str) -> Result<Duration, String> {
    let secs = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .ok_or_else(|| format!("`{text}` is not a number of seconds"))?;
    // The bound is checked on the f64: exact for every integer up to
    // MAX_SECONDS.
    if secs > MAX_SECONDS as f64 {
        return Err(format!(
            "`{text}` seconds is too long: at most {MAX_SECONDS} (a year)"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{text}` is not a number of seconds"))
}

/// The bytes a path segment keeps as they are when percent-encoded: RFC
/// 3986's unreserved characters (letters, digits, `-._~`). Everything else
/// is encoded, `/`, `?`, `#` and `%` included, so an encoded segment is
/// always one segment.
pub const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `HTTP/1.1`, `HTTP/2`...
pub fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/?",
    }
}

/// The English abbreviations of the months, January first.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_take_fractions_up_to_a_year() {
        assert_eq!(seconds("0"), Ok(Duration::ZERO));
        assert_eq!(seconds(" 0.5 "), Ok(Duration::from_millis(500)));
        assert_eq!(seconds("30"), Ok(Duration::from_secs(30)));
        assert_eq!(seconds("1e3"), Ok(Duration::from_secs(1000)));
        assert_eq!(
            seconds(&MAX_SECONDS.to_string()),
            Ok(Duration::from_secs(MAX_SECONDS))
        );
    }

    #[test]
    fn absurd_seconds_are_refused() {
        for bad in [
            "soon", "", "-1", "-0.5", "NaN", "nan", "inf", "-inf", "1e400",
        ] {
            let err = seconds(bad).expect_err(bad);
            assert!(err.contains("not a number of seconds"), "{bad}: {err}");
        }
        for long in ["1.8e19", "1e10", "31536000.5", "18446744073709551616"] {
            let err = seconds(long).expect_err(long);
            assert!(err.contains("at most 31536000"), "{long}: {err}");
        }
    }

    #[test]
    fn segments_are_encoded_whole() {
        let encode = |s: &str| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string();
        assert_eq!(encode("a:b c~d-e_f.g"), "a%3Ab%20c~d-e_f.g");
        assert_eq!(encode("/x?y#z%"), "%2Fx%3Fy%23z%25");
    }

    #[test]
    fn versions_are_named() {
        assert_eq!(version_name(Version::HTTP_11), "HTTP/1.1");
        assert_eq!(version_name(Version::HTTP_2), "HTTP/2");
        assert_eq!(version_name(Version::HTTP_10), "HTTP/1.0");
    }
}

//! `Range: bytes=...` (RFC 9110, section 14).
//!
//! Each range is resolved against the file's length; ranges past the end
//! are dropped, and when none is left the answer is `416`. A header that
//! does not parse, or is in another unit, is ignored (the whole file is
//! sent), as the RFC allows.

use std::ops::Range;

/// The most ranges answered as `multipart/byteranges`; beyond this, or
/// when the ranges add up to more than the file, the whole file is sent.
pub(crate) const MAX_RANGES: usize = 16;

/// What a `Range` header asks for, resolved against a length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ranges {
    /// No usable header: send the whole representation.
    Whole,
    /// No range starts before the end: `416`.
    Unsatisfiable,
    /// These byte ranges (half-open, within the length), in the order asked.
    Satisfiable(Vec<Range<u64>>),
}

/// Resolves a `Range` header value against a representation of `len` bytes.
pub(crate) fn parse(value: &str, len: u64) -> Ranges {
    let Some((unit, specs)) = value.trim().split_once('=') else {
        return Ranges::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Ranges::Whole;
    }
    let mut ranges = Vec::new();
    let mut any = false;
    for spec in specs.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        any = true;
        let Some((first, last)) = spec.split_once('-') else {
            return Ranges::Whole;
        };
        let range = match (number(first), number(last)) {
            // `-n`: the last n bytes.
            (None, Some(suffix)) if first.is_empty() => {
                if suffix == 0 || len == 0 {
                    None
                } else {
                    Some(len.saturating_sub(suffix)..len)
                }
            }
            // `a-`: from a to the end.
            (Some(start), None) if last.is_empty() => (start < len).then_some(start..len),
            // `a-b`, inclusive.
            (Some(start), Some(end)) if start <= end => {
                (start < len).then(|| start..end.saturating_add(1).min(len))
            }
            _ => return Ranges::Whole,
        };
        ranges.extend(range);
    }
    if !any {
        Ranges::Whole
    } else if ranges.is_empty() {
        Ranges::Unsatisfiable
    } else {
        Ranges::Satisfiable(ranges)
    }
}

/// Digits only (no sign, no spaces); saturates rather than overflow.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |n, digit| {
        n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
    }))
}

/// The `Content-Range` value of a part: `bytes a-b/len`.
pub(crate) fn content_range(range: &Range<u64>, len: u64) -> String {
    format!("bytes {}-{}/{len}", range.start, range.end - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Satisfiable ranges, as (first, end) pairs.
    fn sat(ranges: &[(u64, u64)]) -> Ranges {
        Ranges::Satisfiable(ranges.iter().map(|&(a, b)| a..b).collect())
    }

    #[test]
    fn resolves_ranges() {
        let cases = [
            ("bytes=0-99", 1000, sat(&[(0, 100)])),
            ("bytes=100-", 1000, sat(&[(100, 1000)])),
            ("bytes=-100", 1000, sat(&[(900, 1000)])),
            ("bytes=-5000", 1000, sat(&[(0, 1000)])),
            ("bytes=990-2000", 1000, sat(&[(990, 1000)])),
            ("bytes=0-0,-1", 1000, sat(&[(0, 1), (999, 1000)])),
            ("Bytes = 1-2 , 4-5", 10, sat(&[(1, 3), (4, 6)])),
            ("bytes=5-9, 2000-3000", 10, sat(&[(5, 10)])),
            ("bytes=0-99999999999999999999999", 10, sat(&[(0, 10)])),
            ("bytes=1000-", 1000, Ranges::Unsatisfiable),
            ("bytes=1000-2000", 1000, Ranges::Unsatisfiable),
            ("bytes=-0", 1000, Ranges::Unsatisfiable),
            ("bytes=0-", 0, Ranges::Unsatisfiable),
            ("bytes=-1", 0, Ranges::Unsatisfiable),
            ("bytes=99999999999999999999999-", 10, Ranges::Unsatisfiable),
        ];
        for (value, len, want) in cases {
            assert_eq!(parse(value, len), want, "{value} of {len}");
        }
    }

    #[test]
    fn ignores_what_does_not_parse() {
        for value in [
            "",
            "bytes",
            "bytes=",
            "bytes=,",
            "items=0-1",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=1",
            "bytes=+1-2",
            "bytes=1 -2",
            "bytes=0-1,x",
            "bytes=--1",
        ] {
            assert_eq!(parse(value, 100), Ranges::Whole, "{value:?}");
        }
    }

    #[test]
    fn formats_content_range() {
        assert_eq!(content_range(&(0..100), 1000), "bytes 0-99/1000");
        assert_eq!(content_range(&(999..1000), 1000), "bytes 999-999/1000");
    }
}

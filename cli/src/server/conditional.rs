//! Validators and conditional requests (RFC 9110, section 13).
//!
//! A file's validators are a strong `ETag` made from its modification time
//! (to the nanosecond) and its length, and its `Last-Modified` time. The
//! preconditions are evaluated in the RFC's order: `If-Match`, else
//! `If-Unmodified-Since` (`412` when false); then `If-None-Match`, else
//! `If-Modified-Since` (`304` when false). `If-Range` decides whether a
//! `Range` is honoured; its date form only once the file is at least a
//! second old (RFC 9110, sections 8.8.2.2 and 13.1.5): within the second of
//! its `Last-Modified` date, a file may change again without that date
//! changing, so the date is not a strong validator yet.

use std::fs::Metadata;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{
    HeaderMap, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE,
};
use http::{HeaderValue, Method};

/// A representation's validators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Validators {
    /// The strong entity tag, quotes included.
    pub(crate) etag: String,
    /// The modification time, to the second (what `Last-Modified` can say).
    pub(crate) modified: SystemTime,
}

/// What the preconditions of a request decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// Go on and answer the request.
    Proceed,
    /// `304 Not Modified`.
    NotModified,
    /// `412 Precondition Failed`.
    Failed,
}

impl Validators {
    /// The validators of a file.
    pub(crate) fn of(metadata: &Metadata) -> Validators {
        let mtime = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        Validators {
            etag: format!(
                "\"{:x}.{:x}-{:x}\"",
                mtime.as_secs(),
                mtime.subsec_nanos(),
                metadata.len()
            ),
            modified: UNIX_EPOCH + Duration::from_secs(mtime.as_secs()),
        }
    }

    /// The `ETag` field value.
    pub(crate) fn etag_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.etag).ok()
    }

    /// The `Last-Modified` field value.
    pub(crate) fn last_modified_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&httpdate::fmt_http_date(self.modified)).ok()
    }

    /// Evaluates `If-Match`, `If-Unmodified-Since`, `If-None-Match` and
    /// `If-Modified-Since`.
    pub(crate) fn evaluate(&self, method: &Method, headers: &HeaderMap) -> Precondition {
        // Most requests have none: one pass over their few fields is
        // cheaper than four lookups.
        let conditional = [
            IF_MATCH,
            IF_UNMODIFIED_SINCE,
            IF_NONE_MATCH,
            IF_MODIFIED_SINCE,
        ];
        if !headers.keys().any(|name| conditional.contains(name)) {
            return Precondition::Proceed;
        }
        let safe = method == Method::GET || method == Method::HEAD;
        if headers.contains_key(IF_MATCH) {
            if !self.matches(headers, IF_MATCH, true) {
                return Precondition::Failed;
            }
        } else if let Some(date) = date(headers, IF_UNMODIFIED_SINCE)
            && self.modified > date
        {
            return Precondition::Failed;
        }
        if headers.contains_key(IF_NONE_MATCH) {
            if self.matches(headers, IF_NONE_MATCH, false) {
                return if safe {
                    Precondition::NotModified
                } else {
                    Precondition::Failed
                };
            }
        } else if safe
            && let Some(date) = date(headers, IF_MODIFIED_SINCE)
            && self.modified <= date
        {
            return Precondition::NotModified;
        }
        Precondition::Proceed
    }

    /// Whether a `Range` may be honoured at `now`: there is no `If-Range`,
    /// or it names this representation exactly: the same strong tag, or
    /// the same modification date when that date is at least a second
    /// before `now` (the `Date` of the response), so strong.
    pub(crate) fn if_range_holds(&self, headers: &HeaderMap, now: SystemTime) -> bool {
        let Some(value) = headers.get(IF_RANGE).and_then(|v| v.to_str().ok()) else {
            return !headers.contains_key(IF_RANGE);
        };
        let value = value.trim();
        if value.starts_with('"') || value.starts_with("W/") {
            let tags = tags(value);
            return tags.len() == 1 && !tags[0].weak && tags[0].opaque == self.etag;
        }
        let strong = self
            .modified
            .checked_add(Duration::from_secs(1))
            .is_some_and(|settled| settled <= now);
        strong && httpdate::parse_http_date(value).is_ok_and(|date| date == self.modified)
    }

    /// Whether a list field (`If-Match`, `If-None-Match`) names this
    /// representation: `*`, or one of its tags, compared strongly or weakly.
    fn matches(&self, headers: &HeaderMap, name: http::header::HeaderName, strong: bool) -> bool {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|value| {
                value.trim() == "*"
                    || tags(value)
                        .iter()
                        .any(|tag| tag.opaque == self.etag && !(strong && tag.weak))
            })
    }
}

/// One entity tag of a list.
#[derive(Debug, PartialEq, Eq)]
struct Tag<'a> {
    weak: bool,
    /// With its quotes.
    opaque: &'a str,
}

/// The entity tags of a comma-separated list, up to the first malformed one.
fn tags(list: &str) -> Vec<Tag<'_>> {
    let mut tags = Vec::new();
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return tags;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let Some(after) = rest.strip_prefix('"') else {
            return tags;
        };
        let Some(end) = after.find('"') else {
            return tags;
        };
        tags.push(Tag {
            weak,
            opaque: &rest[..end + 2],
        });
        rest = &after[end + 1..];
    }
}

/// A date field, `None` when absent or not an HTTP date.
fn date(headers: &HeaderMap, name: http::header::HeaderName) -> Option<SystemTime> {
    let value = headers.get(name)?.to_str().ok()?;
    httpdate::parse_http_date(value.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validators() -> Validators {
        Validators {
            etag: "\"abc\"".to_string(),
            modified: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    fn headers(fields: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(
                *name,
                HeaderValue::from_str(value).expect("test values are valid"),
            );
        }
        map
    }

    const BEFORE: &str = "Tue, 14 Nov 2023 22:13:19 GMT";
    const AT: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
    const AFTER: &str = "Tue, 14 Nov 2023 22:13:21 GMT";

    #[test]
    fn parses_tag_lists() {
        let want = vec![
            Tag {
                weak: false,
                opaque: "\"a\"",
            },
            Tag {
                weak: true,
                opaque: "\"b,c\"",
            },
            Tag {
                weak: false,
                opaque: "\"\"",
            },
        ];
        assert_eq!(tags(" \"a\", W/\"b,c\" ,\"\""), want);
        assert_eq!(tags("\"a\", bad, \"c\"").len(), 1);
        assert!(tags("\"unterminated").is_empty());
    }

    #[test]
    fn evaluates_in_the_rfc_order() {
        use Precondition::*;
        let get = Method::GET;
        let v = validators();
        let cases: &[(&[(&'static str, &str)], Precondition)] = &[
            (&[], Proceed),
            (&[("if-none-match", "\"abc\"")], NotModified),
            (&[("if-none-match", "W/\"abc\"")], NotModified),
            (&[("if-none-match", "\"x\", \"abc\"")], NotModified),
            (&[("if-none-match", "*")], NotModified),
            (&[("if-none-match", "\"x\"")], Proceed),
            (&[("if-modified-since", AT)], NotModified),
            (&[("if-modified-since", AFTER)], NotModified),
            (&[("if-modified-since", BEFORE)], Proceed),
            (&[("if-modified-since", "yesterday")], Proceed),
            // If-None-Match wins over If-Modified-Since.
            (
                &[("if-none-match", "\"x\""), ("if-modified-since", AFTER)],
                Proceed,
            ),
            (&[("if-match", "\"abc\"")], Proceed),
            (&[("if-match", "*")], Proceed),
            (&[("if-match", "W/\"abc\"")], Failed),
            (&[("if-match", "\"x\"")], Failed),
            (&[("if-unmodified-since", AT)], Proceed),
            (&[("if-unmodified-since", BEFORE)], Failed),
            // If-Match wins over If-Unmodified-Since.
            (
                &[("if-match", "\"abc\""), ("if-unmodified-since", BEFORE)],
                Proceed,
            ),
            (
                &[("if-match", "\"abc\""), ("if-none-match", "\"abc\"")],
                NotModified,
            ),
        ];
        for (fields, want) in cases {
            assert_eq!(v.evaluate(&get, &headers(fields)), *want, "{fields:?}");
        }
        let if_none = headers(&[("if-none-match", "\"abc\"")]);
        assert_eq!(v.evaluate(&Method::POST, &if_none), Failed);
        let if_modified = headers(&[("if-modified-since", AT)]);
        assert_eq!(v.evaluate(&Method::POST, &if_modified), Proceed);
    }

    #[test]
    fn if_range_needs_an_exact_strong_match() {
        let v = validators();
        let later = v.modified + Duration::from_secs(3600);
        assert!(v.if_range_holds(&headers(&[]), later));
        assert!(v.if_range_holds(&headers(&[("if-range", "\"abc\"")]), later));
        assert!(v.if_range_holds(&headers(&[("if-range", AT)]), later));
        assert!(!v.if_range_holds(&headers(&[("if-range", "W/\"abc\"")]), later));
        assert!(!v.if_range_holds(&headers(&[("if-range", "\"x\"")]), later));
        assert!(!v.if_range_holds(&headers(&[("if-range", AFTER)]), later));
        assert!(!v.if_range_holds(&headers(&[("if-range", "garbage")]), later));
    }

    #[test]
    fn if_range_dates_are_weak_within_the_second() {
        let v = validators();
        let date = headers(&[("if-range", AT)]);
        let etag = headers(&[("if-range", "\"abc\"")]);
        for not_yet in [
            v.modified,
            v.modified + Duration::from_millis(999),
            // A clock behind the file's time.
            v.modified - Duration::from_secs(5),
        ] {
            assert!(!v.if_range_holds(&date, not_yet), "{not_yet:?}");
            // The entity tag, to the nanosecond, is strong at once.
            assert!(v.if_range_holds(&etag, not_yet), "{not_yet:?}");
        }
        assert!(v.if_range_holds(&date, v.modified + Duration::from_secs(1)));
    }

    #[test]
    fn validators_of_a_file() {
        let path = std::env::temp_dir().join(format!("paf-cli-validators-{}", std::process::id()));
        std::fs::write(&path, b"12345").expect("write a temp file");
        let metadata = std::fs::metadata(&path).expect("metadata");
        let _ = std::fs::remove_file(&path);
        let v = Validators::of(&metadata);
        assert!(
            v.etag.starts_with('"') && v.etag.ends_with("-5\""),
            "{}",
            v.etag
        );
        assert!(v.etag_value().is_some());
        let last_modified = v.last_modified_value().expect("a date");
        let parsed = httpdate::parse_http_date(last_modified.to_str().expect("ascii"));
        assert_eq!(parsed.ok(), Some(v.modified));
    }
}

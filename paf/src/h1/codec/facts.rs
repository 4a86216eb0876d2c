//! What the framing and connection fields of a head say, gathered in one pass.

use http::Version;

use super::digits::parse_decimal;
use super::syntax::{is_valid_host, list_elements, list_items};

/// The `content-length` fields seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum ContentLength {
    /// No `content-length` field.
    #[default]
    Absent,
    /// One or more fields, all with this value.
    Valid(u64),
    /// The fields cannot be trusted; the reason says why.
    Invalid(&'static str),
}

/// The transfer codings listed by all `transfer-encoding` fields, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Codings {
    /// How often `chunked` appears.
    pub(super) chunked: u32,
    /// Whether the last coding is `chunked`.
    pub(super) chunked_last: bool,
    /// Whether a coding other than `chunked` appears.
    pub(super) other: bool,
}

/// The `Expect` fields seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Expect {
    /// No `Expect` field.
    #[default]
    Absent,
    /// Only `100-continue`.
    Continue,
    /// Some other expectation.
    Other,
}

/// Facts about the fields that decide framing and connection handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Facts {
    /// The `content-length` fields.
    pub(super) content_length: ContentLength,
    /// The `transfer-encoding` fields, if any.
    pub(super) transfer_encoding: Option<Codings>,
    /// `connection: close`.
    pub(super) close: bool,
    /// `connection: keep-alive`.
    pub(super) keep_alive: bool,
    /// `connection: upgrade`.
    pub(super) upgrade_token: bool,
    /// Whether an `upgrade` field is present.
    pub(super) upgrade: bool,
    /// How many `host` fields, saturating.
    pub(super) hosts: u8,
    /// Whether a `host` field's value is not a host and optional port.
    pub(super) bad_host: bool,
    /// The `expect` fields.
    pub(super) expect: Expect,
}

impl Facts {
    /// Takes note of one field line; `name` is as received (any case).
    pub(super) fn observe(&mut self, name: &[u8], value: &[u8]) {
        // The length check first keeps the common unrelated fields cheap.
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                self.hosts = self.hosts.saturating_add(1);
                self.bad_host |= !is_valid_host(value);
            }
            6 if name.eq_ignore_ascii_case(b"expect") => self.observe_expect(value),
            7 if name.eq_ignore_ascii_case(b"upgrade") => self.upgrade = true,
            10 if name.eq_ignore_ascii_case(b"connection") => self.observe_connection(value),
            14 if name.eq_ignore_ascii_case(b"content-length") => self.observe_length(value),
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => self.observe_codings(value),
            _ => {}
        }
    }

    /// Whether the connection persists after this message (RFC 9112 §9.3).
    pub(super) fn persistent(&self, version: Version) -> bool {
        if version == Version::HTTP_10 {
            self.keep_alive && !self.close
        } else {
            !self.close
        }
    }

    fn observe_connection(&mut self, value: &[u8]) {
        for token in list_items(value) {
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if token.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade_token = true;
            }
        }
    }

    fn observe_length(&mut self, value: &[u8]) {
        for element in list_elements(value) {
            let next = match (parse_decimal(element), self.content_length) {
                (_, ContentLength::Invalid(_)) => return,
                (None, _) => ContentLength::Invalid("invalid content-length"),
                (Some(n), ContentLength::Valid(seen)) if n != seen => {
                    ContentLength::Invalid("conflicting content-length values")
                }
                (Some(n), _) => ContentLength::Valid(n),
            };
            self.content_length = next;
        }
    }

    fn observe_codings(&mut self, value: &[u8]) {
        let codings = self.transfer_encoding.get_or_insert_default();
        for coding in list_items(value) {
            let chunked = coding.eq_ignore_ascii_case(b"chunked");
            codings.chunked += u32::from(chunked);
            codings.other |= !chunked;
            codings.chunked_last = chunked;
        }
    }

    fn observe_expect(&mut self, value: &[u8]) {
        let continues = value.eq_ignore_ascii_case(b"100-continue");
        self.expect = match self.expect {
            Expect::Absent | Expect::Continue if continues => Expect::Continue,
            _ => Expect::Other,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field lines as (name, value).
    type Fields = &'static [(&'static str, &'static str)];

    fn facts(fields: Fields) -> Facts {
        let mut facts = Facts::default();
        for (name, value) in fields {
            facts.observe(name.as_bytes(), value.as_bytes());
        }
        facts
    }

    #[test]
    fn content_lengths() {
        let cases: [(Fields, ContentLength); 9] = [
            (&[], ContentLength::Absent),
            (&[("Content-Length", "5")], ContentLength::Valid(5)),
            (&[("content-length", "5, 5")], ContentLength::Valid(5)),
            (
                &[("content-length", "5"), ("CONTENT-LENGTH", "5")],
                ContentLength::Valid(5),
            ),
            (
                &[("content-length", "5"), ("content-length", "6")],
                ContentLength::Invalid("conflicting content-length values"),
            ),
            (
                &[("content-length", "5, 6")],
                ContentLength::Invalid("conflicting content-length values"),
            ),
            (
                &[("content-length", "5,")],
                ContentLength::Invalid("invalid content-length"),
            ),
            (
                &[("content-length", "+5")],
                ContentLength::Invalid("invalid content-length"),
            ),
            (
                &[("content-length", "x"), ("content-length", "5")],
                ContentLength::Invalid("invalid content-length"),
            ),
        ];
        for (fields, expected) in cases {
            assert_eq!(facts(fields).content_length, expected, "{fields:?}");
        }
    }

    #[test]
    fn transfer_codings() {
        let cases: [(Fields, Codings); 4] = [
            (
                &[("Transfer-Encoding", "Chunked")],
                Codings {
                    chunked: 1,
                    chunked_last: true,
                    other: false,
                },
            ),
            (
                &[("transfer-encoding", "gzip, chunked")],
                Codings {
                    chunked: 1,
                    chunked_last: true,
                    other: true,
                },
            ),
            (
                &[
                    ("transfer-encoding", "chunked"),
                    ("transfer-encoding", "gzip"),
                ],
                Codings {
                    chunked: 1,
                    chunked_last: false,
                    other: true,
                },
            ),
            (&[("transfer-encoding", "")], Codings::default()),
        ];
        for (fields, expected) in cases {
            assert_eq!(
                facts(fields).transfer_encoding,
                Some(expected),
                "{fields:?}"
            );
        }
    }

    #[test]
    fn connection_tokens_and_persistence() {
        let cases: [(Fields, Version, bool); 7] = [
            (&[], Version::HTTP_11, true),
            (&[("Connection", "Close")], Version::HTTP_11, false),
            (
                &[("connection", "upgrade"), ("connection", "foo, close")],
                Version::HTTP_11,
                false,
            ),
            (&[], Version::HTTP_10, false),
            (&[("connection", "Keep-Alive")], Version::HTTP_10, true),
            (
                &[("connection", "keep-alive, close")],
                Version::HTTP_10,
                false,
            ),
            (&[("connection", "keep-alive-ish")], Version::HTTP_10, false),
        ];
        for (fields, version, persistent) in cases {
            assert_eq!(facts(fields).persistent(version), persistent, "{fields:?}");
        }
        let upgrade = facts(&[
            ("Connection", "keep-alive, Upgrade"),
            ("Upgrade", "websocket"),
        ]);
        assert!(upgrade.upgrade_token && upgrade.upgrade);
    }

    #[test]
    fn expectations_and_hosts() {
        assert_eq!(
            facts(&[("Expect", "100-Continue")]).expect,
            Expect::Continue
        );
        assert_eq!(
            facts(&[("expect", "100-continue, x")]).expect,
            Expect::Other
        );
        assert_eq!(
            facts(&[("expect", "100-continue"), ("expect", "200-ok")]).expect,
            Expect::Other
        );
        assert_eq!(facts(&[("Host", "a"), ("HOST", "b")]).hosts, 2);
    }
}

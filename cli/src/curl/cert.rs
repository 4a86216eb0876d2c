//! What `-v` shows of the server's certificate: subject, issuer, validity
//! and subject alternative names, read from its DER encoding.
//!
//! A small DER reader is enough for these fields: a certificate is nested
//! tag-length-value triples, and only the few paths below are followed.
//! Anything unexpected gives `None`, and `-v` then says the certificate
//! could not be read.
//!
//! The text comes from the server: control characters (an escape sequence
//! for the terminal, a newline that would fake another `* ` line),
//! invisible formatting characters and backslashes are shown escaped, as
//! `\xNN` (or `\u{NNNN}` beyond Latin-1).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::util::MONTHS;

/// The fields of a certificate that `-v` prints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// `C=..; O=..; CN=..`, in the certificate's order.
    pub subject: String,
    /// The issuer, in the same form.
    pub issuer: String,
    /// `notBefore`, as `Jan  2 03:04:05 2025 GMT`.
    pub start: String,
    /// `notAfter`, in the same form.
    pub expire: String,
    /// `DNS:name`, `IP:addr`, `email:addr`, `URI:uri`.
    pub alt_names: Vec<String>,
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const BOOLEAN: u8 = 0x01;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0;
const EXTENSIONS: u8 = 0xa3;
const SUBJECT_ALT_NAME: &str = "2.5.29.17";

/// A reader of consecutive DER elements.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The next element: its tag and its contents.
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (bytes, rest) = rest.split_at(count);
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, rest)
        };
        if rest.len() < len {
            return None;
        }
        let (contents, rest) = rest.split_at(len);
        self.0 = rest;
        Some((tag, contents))
    }

    /// The next element, which must have this tag.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (t, contents) if t == tag => Some(contents),
            _ => None,
        }
    }

    /// The next element if it has this tag; otherwise nothing is consumed.
    fn optional(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.0.first() == Some(&tag) {
            self.expect(tag)
        } else {
            None
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Reads the fields `-v` shows from a DER certificate.
pub fn summarize(der: &[u8]) -> Option<Summary> {
    let certificate = Der(der).expect(SEQUENCE)?;
    let mut tbs = Der(Der(certificate).expect(SEQUENCE)?);
    tbs.optional(VERSION);
    tbs.expect(INTEGER)?;
    tbs.expect(SEQUENCE)?;
    let issuer = name(tbs.expect(SEQUENCE)?)?;
    let mut validity = Der(tbs.expect(SEQUENCE)?);
    let start = time(validity.next()?)?;
    let expire = time(validity.next()?)?;
    let subject = name(tbs.expect(SEQUENCE)?)?;
    tbs.expect(SEQUENCE)?;
    let mut alt_names = Vec::new();
    while let Some((tag, contents)) = tbs.next() {
        if tag == EXTENSIONS {
            alt_names = subject_alt_names(contents).unwrap_or_default();
        }
    }
    Some(Summary {
        subject,
        issuer,
        start,
        expire,
        alt_names,
    })
}

/// A distinguished name as OpenSSL prints it for curl: `C=US; O=Org; CN=host`.
fn name(contents: &[u8]) -> Option<String> {
    let mut rdns = Der(contents);
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let mut set = Der(rdns.expect(SET)?);
        while !set.is_empty() {
            let mut pair = Der(set.expect(SEQUENCE)?);
            let oid = oid(pair.expect(OID)?)?;
            let (tag, value) = pair.next()?;
            parts.push(format!(
                "{}={}",
                attribute(&oid),
                printable(&string(tag, value))
            ));
        }
    }
    Some(parts.join("; "))
}

fn attribute(oid: &str) -> &str {
    match oid {
        "2.5.4.3" => "CN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.25" => "DC",
        other => other,
    }
}

/// A directory string: UTF-8, printable, IA5, T.61 (read as Latin-1) or
/// BMP (UTF-16).
fn string(tag: u8, value: &[u8]) -> String {
    match tag {
        // BMPString
        0x1e => {
            let units: Vec<u16> = value
                .chunks(2)
                .map(|pair| u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        // TeletexString
        0x14 => value.iter().map(|&b| char::from(b)).collect(),
        _ => String::from_utf8_lossy(value).into_owned(),
    }
}

/// `text` safe to print on a terminal: control characters, invisible
/// formatting characters (bidirectional overrides, zero-width ones) and
/// backslashes escaped.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let invisible = matches!(
            c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
        );
        if c.is_control() || invisible || c == '\\' {
            let code = u32::from(c);
            if code <= 0xff {
                let _ = write!(out, "\\x{code:02x}");
            } else {
                let _ = write!(out, "\\u{{{code:04x}}}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// An object identifier in dotted form.
fn oid(contents: &[u8]) -> Option<String> {
    let (&first, rest) = contents.split_first()?;
    let mut out = format!("{}.{}", first / 40, first % 40);
    let mut value: u64 = 0;
    for &byte in rest {
        value = value.checked_mul(128)? | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            let _ = write!(out, ".{value}");
            value = 0;
        }
    }
    Some(out)
}

/// A UTCTime or GeneralizedTime as `Jan  2 03:04:05 2025 GMT`.
fn time((tag, contents): (u8, &[u8])) -> Option<String> {
    let text = std::str::from_utf8(contents).ok()?;
    let digits = text.strip_suffix('Z')?;
    let (year, rest) = match tag {
        UTC_TIME => {
            let yy: u32 = digits.get(..2)?.parse().ok()?;
            // RFC 5280: two-digit years from 50 are 19xx.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        GENERALIZED_TIME => (digits.get(..4)?.parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |at: usize| -> Option<u32> { rest.get(at..at + 2)?.parse().ok() };
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    let month = MONTHS.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    Some(format!(
        "{month} {day:2} {hour:02}:{minute:02}:{second:02} {year} GMT"
    ))
}

/// The subject alternative names of the `[3]` extensions element.
fn subject_alt_names(contents: &[u8]) -> Option<Vec<String>> {
    let mut extensions = Der(Der(contents).expect(SEQUENCE)?);
    while !extensions.is_empty() {
        let mut extension = Der(extensions.expect(SEQUENCE)?);
        let id = oid(extension.expect(OID)?)?;
        extension.optional(BOOLEAN);
        let value = extension.expect(OCTET_STRING)?;
        if id != SUBJECT_ALT_NAME {
            continue;
        }
        let mut names = Der(Der(value).expect(SEQUENCE)?);
        let mut out = Vec::new();
        while let Some((tag, name)) = names.next() {
            let text = printable(&String::from_utf8_lossy(name));
            match tag {
                0x81 => out.push(format!("email:{text}")),
                0x82 => out.push(format!("DNS:{text}")),
                0x86 => out.push(format!("URI:{text}")),
                0x87 => {
                    if let Ok(v4) = <[u8; 4]>::try_from(name) {
                        out.push(format!("IP:{}", Ipv4Addr::from(v4)));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(name) {
                        out.push(format!("IP:{}", Ipv6Addr::from(v6)));
                    }
                }
                _ => {}
            }
        }
        return Some(out);
    }
    Some(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair};

    #[test]
    fn a_generated_certificate_is_summarized() {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("valid names");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CountryName, "FR");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Paf Tests");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.not_before = rcgen::date_time_ymd(2024, 1, 2);
        params.not_after = rcgen::date_time_ymd(2051, 12, 31);
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("certificate");
        let summary = summarize(cert.der()).expect("readable");
        assert_eq!(summary.subject, "C=FR; O=Paf Tests; CN=localhost");
        assert_eq!(summary.issuer, summary.subject);
        assert_eq!(summary.start, "Jan  2 00:00:00 2024 GMT");
        assert_eq!(summary.expire, "Dec 31 00:00:00 2051 GMT");
        assert_eq!(summary.alt_names, ["DNS:localhost", "IP:127.0.0.1"]);
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut params =
            CertificateParams::new(vec!["evil\x1b[2J.example".to_string()]).expect("valid names");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Caf\u{e9} \\ \u{202e}txt.exe");
        params
            .distinguished_name
            .push(DnType::CommonName, "a\x1b]0;title\x07\n* fake line\r");
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("certificate");
        let summary = summarize(cert.der()).expect("readable");
        assert_eq!(
            summary.subject,
            "O=Caf\u{e9} \\x5c \\u{202e}txt.exe; CN=a\\x1b]0;title\\x07\\x0a* fake line\\x0d"
        );
        assert_eq!(summary.issuer, summary.subject);
        assert_eq!(summary.alt_names, ["DNS:evil\\x1b[2J.example"]);
        for text in [&summary.subject, &summary.alt_names[0]] {
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
        assert_eq!(printable("plain CN=x.example"), "plain CN=x.example");
        assert_eq!(printable("\u{85}\u{7f}"), "\\x85\\x7f");
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(summarize(b""), None);
        assert_eq!(summarize(&[0x30, 0x85, 1, 2, 3, 4, 5]), None);
        assert_eq!(summarize(&[0x30, 0x03, 0x02, 0x01]), None);
    }

    #[test]
    fn object_identifiers_are_dotted() {
        assert_eq!(
            oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]).as_deref(),
            Some("1.2.840.113549.1.9.1")
        );
    }
}

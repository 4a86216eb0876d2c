//! Byte classes and list syntax shared by heads and chunk lines (RFC 9110 §5.6).

/// A table of the 256 bytes, true where `$accepts` holds for `$b`: the
/// byte classes a head's every byte is checked against.
macro_rules! byte_table {
    (|$b:ident| $accepts:expr) => {{
        let mut table = [false; 256];
        let mut i = 0;
        while i < 256 {
            let $b = i as u8;
            table[i] = $accepts;
            i += 1;
        }
        table
    }};
}

/// `tchar`: the characters of a token.
static TCHAR: [bool; 256] = byte_table!(|b| b.is_ascii_alphanumeric()
    || matches!(
        b,
        b'!' | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~'
    ));

/// Whether `b` may appear in a token.
pub(super) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// Whether `b` is optional whitespace (SP or HTAB).
pub(super) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Whether `b` may appear unescaped inside a quoted-string.
pub(super) fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF)
}

/// Whether `b` may follow a backslash inside a quoted-string.
pub(super) fn is_quoted_pair(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF)
}

/// `value` without leading and trailing optional whitespace.
pub(super) fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| !is_ows(b))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(start, |i| i + 1);
    value.get(start..end).unwrap_or_default()
}

/// The elements of a comma-separated list, trimmed; empty elements included.
pub(super) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

/// The non-empty elements of a comma-separated list, trimmed (RFC 9110 §5.6.1).
pub(super) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    list_elements(value).filter(|item| !item.is_empty())
}

/// Whether the `connection` fields of `headers` carry `token` (any case).
pub(crate) fn connection_has(headers: &http::HeaderMap, token: &str) -> bool {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|value| list_items(value.as_bytes()).any(|t| t.eq_ignore_ascii_case(token.as_bytes())))
}

/// The characters of a `reg-name` (RFC 3986 §3.2.2): unreserved,
/// percent signs and sub-delims. A table: every request's `host` goes
/// through it.
static REG_NAME: [bool; 256] = byte_table!(|b| b.is_ascii_alphanumeric()
    || matches!(
        b,
        b'-' | b'.'
            | b'_'
            | b'~'
            | b'%'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
    ));

/// Whether a `host` field value is `uri-host [ ":" port ]` (RFC 9112 §3.2,
/// RFC 3986 §3.2.2); an empty value is allowed. User information (`@`),
/// paths and spaces are not.
pub(super) fn is_valid_host(value: &[u8]) -> bool {
    let (host, port) = if let Some(rest) = value.strip_prefix(b"[") {
        // An IP literal: whatever is inside the brackets must look like one.
        let Some(end) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let inside = &rest[..end];
        let literal = !inside.is_empty()
            && inside
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.' | b'v' | b'V'));
        if !literal {
            return false;
        }
        match &rest[end + 1..] {
            [] => (&[][..], None),
            [b':', port @ ..] => (&[][..], Some(port)),
            _ => return false,
        }
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (&value[..colon], Some(&value[colon + 1..])),
            None => (value, None),
        }
    };
    let reg_name = host.iter().all(|&b| REG_NAME[usize::from(b)]);
    reg_name && port.is_none_or(|port| port.iter().all(u8::is_ascii_digit))
}

/// How many empty lines (CRLF or LF) start `buf` (RFC 9112 §2.2), in bytes.
pub(super) fn leading_empty_lines(buf: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match buf.get(at..) {
            Some([b'\r', b'\n', ..]) => at += 2,
            Some([b'\n', ..]) => at += 1,
            _ => return at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        for b in b"azAZ09!#$%&'*+-.^_`|~" {
            assert!(is_tchar(*b), "{}", *b as char);
        }
        for b in b" \t\"(),/:;<=>?@[\\]{}\x7f\x00\x80" {
            assert!(!is_tchar(*b), "{b:#x}");
        }
    }

    #[test]
    fn trimming() {
        let cases: [(&[u8], &[u8]); 5] = [
            (b"", b""),
            (b"  \t", b""),
            (b" a ", b"a"),
            (b"\ta b\t", b"a b"),
            (b"ab", b"ab"),
        ];
        for (input, trimmed) in cases {
            assert_eq!(trim_ows(input), trimmed);
        }
    }

    #[test]
    fn lists() {
        let items: Vec<&[u8]> = list_items(b" a, ,b ,\tc,").collect();
        assert_eq!(items, [&b"a"[..], b"b", b"c"]);
        let elements: Vec<&[u8]> = list_elements(b"1, ,2").collect();
        assert_eq!(elements, [&b"1"[..], b"", b"2"]);
    }

    #[test]
    fn empty_lines() {
        let cases: [(&[u8], usize); 6] = [
            (b"", 0),
            (b"GET", 0),
            (b"\r\nGET", 2),
            (b"\n\r\n\nGET", 4),
            (b"\r", 0),
            (b"\r\n\r", 2),
        ];
        for (input, skipped) in cases {
            assert_eq!(leading_empty_lines(input), skipped, "{input:?}");
        }
    }

    #[test]
    fn host_values() {
        for ok in [
            "",
            "example.com",
            "example.com:8080",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:443",
            "a_b~c",
            "x:",
            "!$&'()*+,;=%-.",
        ] {
            assert!(is_valid_host(ok.as_bytes()), "{ok:?} is valid");
        }
        for bad in [
            "a b", "x/y", "user@x", "x:port", "[::1", "[::1]x", "[zz]", "a:1:2", "a\tb", "é",
            "a\"b",
        ] {
            assert!(!is_valid_host(bad.as_bytes()), "{bad:?} is invalid");
        }
    }
}

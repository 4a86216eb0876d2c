//! Integers written into and read from heads and chunk lines, without formatting machinery.

use bytes::BytesMut;

/// Enough room for `u64::MAX` in decimal.
const MAX_DIGITS: usize = 20;

/// Appends `n` in decimal.
pub(super) fn put_decimal(n: u64, dst: &mut BytesMut) {
    put_radix(n, 10, dst);
}

/// Appends `n` in lowercase hexadecimal.
pub(super) fn put_hex(n: u64, dst: &mut BytesMut) {
    put_radix(n, 16, dst);
}

fn put_radix(mut n: u64, radix: u64, dst: &mut BytesMut) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; MAX_DIGITS];
    let mut at = MAX_DIGITS;
    loop {
        at -= 1;
        // `n % radix` is below 16, so the index is in range.
        text[at] = DIGITS[(n % radix) as usize];
        n /= radix;
        if n == 0 {
            break;
        }
    }
    dst.extend_from_slice(&text[at..]);
}

/// How many bytes [`put_decimal`] writes for `n`.
pub(super) fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// Parses a non-empty run of ASCII digits; no sign, no spaces, no overflow.
pub(super) fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_hex() {
        let cases: [(u64, &str, &str); 6] = [
            (0, "0", "0"),
            (9, "9", "9"),
            (10, "10", "a"),
            (255, "255", "ff"),
            (4096, "4096", "1000"),
            (u64::MAX, "18446744073709551615", "ffffffffffffffff"),
        ];
        for (n, decimal, hex) in cases {
            let mut dst = BytesMut::new();
            put_decimal(n, &mut dst);
            assert_eq!(&dst[..], decimal.as_bytes());
            assert_eq!(decimal_len(n), decimal.len());
            dst.clear();
            put_hex(n, &mut dst);
            assert_eq!(&dst[..], hex.as_bytes());
        }
    }

    #[test]
    fn parsing() {
        let cases: [(&[u8], Option<u64>); 9] = [
            (b"0", Some(0)),
            (b"0042", Some(42)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"18446744073709551616", None),
            (b"", None),
            (b"+1", None),
            (b"-1", None),
            (b"1 2", None),
            (b"0x1", None),
        ];
        for (text, n) in cases {
            assert_eq!(parse_decimal(text), n, "{text:?}");
        }
    }
}

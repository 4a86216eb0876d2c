//! `Basic` credentials (RFC 7617), for servers and proxies.

use http::HeaderValue;

/// The value of an `authorization` (or `proxy-authorization`) field with
/// `Basic` credentials, marked sensitive so that it is never logged.
///
/// ```
/// let value = paf::client::basic_auth("Aladdin", "open sesame");
/// assert_eq!(value, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// assert!(value.is_sensitive());
/// ```
pub fn basic_auth(user: &str, password: &str) -> HeaderValue {
    let mut value = String::from("Basic ");
    base64(format!("{user}:{password}").as_bytes(), &mut value);
    // Base64 is always a valid field value.
    let mut value = HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// Standard base64 with padding (RFC 4648), appended to `out`.
fn base64(input: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = String::new();
            base64(input.as_bytes(), &mut out);
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn credentials_keep_every_byte() {
        assert_eq!(basic_auth("ada", ""), "Basic YWRhOg==");
        assert_eq!(basic_auth("émile", ":/"), "Basic w6ltaWxlOjov");
    }
}

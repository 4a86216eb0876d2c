//! Form bodies: `application/x-www-form-urlencoded`.

use std::fmt::Write as _;

/// `application/x-www-form-urlencoded`, as the URL standard serializes it.
pub(super) fn form_encode(params: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(name, &mut out);
        out.push('=');
        encode_component(value, &mut out);
    }
    out
}

fn encode_component(text: &str, out: &mut String) {
    for byte in text.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte));
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded_as_browsers_do() {
        assert_eq!(
            form_encode(&[("user", "ada lovelace"), ("q", "a&b=c/é"), ("e", "")]),
            "user=ada+lovelace&q=a%26b%3Dc%2F%C3%A9&e="
        );
    }
}

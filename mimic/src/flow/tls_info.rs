//! What was negotiated on a TLS connection.

use std::fmt;

/// What was negotiated on a TLS connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The application protocol chosen by ALPN, if any.
    pub alpn: Option<Vec<u8>>,
    /// The protocol version, such as `TLSv1_3`.
    pub version: Option<String>,
    /// The cipher suite, such as `TLS13_AES_128_GCM_SHA256`.
    pub cipher_suite: Option<String>,
    /// The server name: the one asked for by a client, or received by a server (SNI).
    pub server_name: Option<String>,
    /// The peer's certificate chain in DER, end entity first.
    pub peer_certificates: Vec<Vec<u8>>,
}

impl TlsInfo {
    /// An empty record, to be filled field by field.
    pub fn new() -> TlsInfo {
        TlsInfo::default()
    }
}

/// One line for logs: `TLSv1_3 / TLS13_AES_128_GCM_SHA256, ALPN: h2, server
/// name: example.com`, with `?` for what is unknown and `none` for no ALPN.
impl fmt::Display for TlsInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = |v: &Option<String>| v.as_deref().unwrap_or("?").to_string();
        let alpn = self
            .alpn
            .as_deref()
            .map_or_else(|| "none".into(), String::from_utf8_lossy);
        write!(
            f,
            "{} / {}, ALPN: {alpn}, server name: {}",
            known(&self.version),
            known(&self.cipher_suite),
            known(&self.server_name)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_info_reads_on_one_line() {
        let mut tls = TlsInfo::new();
        assert_eq!(tls.to_string(), "? / ?, ALPN: none, server name: ?");
        tls.version = Some("TLSv1_3".into());
        tls.cipher_suite = Some("TLS13_AES_128_GCM_SHA256".into());
        tls.alpn = Some(b"h2".to_vec());
        tls.server_name = Some("localhost".into());
        assert_eq!(
            tls.to_string(),
            "TLSv1_3 / TLS13_AES_128_GCM_SHA256, ALPN: h2, server name: localhost"
        );
    }
}

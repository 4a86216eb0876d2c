//! The kinds of challenge this crate answers.

use std::fmt;
use std::str::FromStr;

/// How the CA checks that we control a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ChallengeKind {
    /// HTTP-01: the CA fetches `http://NAME/.well-known/acme-challenge/TOKEN`
    /// on port 80; answered by [`Http01Layer`](crate::Http01Layer) in front
    /// of any paf handler. The default: it works behind TLS terminators and
    /// needs nothing from the TLS listener.
    #[default]
    Http01,
    /// TLS-ALPN-01 (RFC 8737): the CA opens TLS to `NAME:443` offering only
    /// `acme-tls/1`; answered by [`CertResolver`](crate::CertResolver) in
    /// the TLS listener. Needs no port 80.
    TlsAlpn01,
}

impl ChallengeKind {
    /// The name the CA uses: `http-01` or `tls-alpn-01`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Http01 => "http-01",
            ChallengeKind::TlsAlpn01 => "tls-alpn-01",
        }
    }

    pub(crate) fn acme(self) -> instant_acme::ChallengeType {
        match self {
            ChallengeKind::Http01 => instant_acme::ChallengeType::Http01,
            ChallengeKind::TlsAlpn01 => instant_acme::ChallengeType::TlsAlpn01,
        }
    }
}

impl fmt::Display for ChallengeKind {
    /// `HTTP-01` or `TLS-ALPN-01`, as the RFCs write them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChallengeKind::Http01 => "HTTP-01",
            ChallengeKind::TlsAlpn01 => "TLS-ALPN-01",
        })
    }
}

impl FromStr for ChallengeKind {
    type Err = String;

    /// `http-01` or `tls-alpn-01`, in any case.
    fn from_str(text: &str) -> Result<ChallengeKind, String> {
        match text.to_ascii_lowercase().as_str() {
            "http-01" => Ok(ChallengeKind::Http01),
            "tls-alpn-01" => Ok(ChallengeKind::TlsAlpn01),
            _ => Err(format!(
                "`{text}` is not a challenge this server answers: use http-01 or tls-alpn-01"
            )),
        }
    }
}

//! A certificate chain with its key, read from PEM, and what is known
//! about it (names, validity, the CA's identifier for it).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::extensions::GeneralName;

use crate::error::Error;

/// What is known about the certificate being served.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// The DNS names it covers.
    pub names: Vec<String>,
    /// The start of its validity.
    pub not_before: SystemTime,
    /// Its expiry.
    pub not_after: SystemTime,
    /// Its serial number, as hexadecimal bytes separated by `:`.
    pub serial: String,
}

impl CertificateInfo {
    /// The time at two thirds of the validity: when to renew, unless the
    /// CA's renewal information says otherwise.
    pub fn two_thirds(&self) -> SystemTime {
        let lifetime = self
            .not_after
            .duration_since(self.not_before)
            .unwrap_or(Duration::ZERO);
        self.not_before + lifetime * 2 / 3
    }
}

/// A chain and its key, ready for rustls, with the PEM they came from.
#[derive(Clone)]
pub(crate) struct Certified {
    pub(crate) key: Arc<CertifiedKey>,
    pub(crate) info: CertificateInfo,
    /// The ARI identifier (authority key id and serial), when the
    /// certificate has an authority key identifier.
    pub(crate) ari_id: Option<instant_acme::CertificateIdentifier<'static>>,
    pub(crate) chain_pem: String,
    pub(crate) key_pem: String,
}

impl fmt::Debug for Certified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certified")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Certified {
    /// Parses a PEM chain (end entity first) and its PEM private key, and
    /// checks that they match.
    pub(crate) fn from_pem(chain_pem: String, key_pem: String) -> Result<Certified, Error> {
        let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| bad("the certificate chain is not PEM", err))?;
        let Some(leaf) = chain.first() else {
            return Err(Error::certificate("the certificate chain is empty"));
        };
        let info = info(leaf)?;
        let ari_id = instant_acme::CertificateIdentifier::try_from(leaf)
            .ok()
            .map(instant_acme::CertificateIdentifier::into_owned);
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|err| bad("the private key is not PEM", err))?;
        let provider = mimic::tls::crypto_provider();
        let key = CertifiedKey::from_der(chain, key, &provider)
            .map_err(|err| bad("the private key does not match the certificate", err))?;
        Ok(Certified {
            key: Arc::new(key),
            info,
            ari_id,
            chain_pem,
            key_pem,
        })
    }
}

/// Names and validity of the end-entity certificate.
fn info(leaf: &CertificateDer<'_>) -> Result<CertificateInfo, Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|err| bad("the certificate is not X.509", err))?;
    let validity = cert.validity();
    let names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(dns.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(CertificateInfo {
        names,
        not_before: system_time(validity.not_before.timestamp()),
        not_after: system_time(validity.not_after.timestamp()),
        serial: cert.raw_serial_as_string(),
    })
}

fn system_time(unix: i64) -> SystemTime {
    match u64::try_from(unix) {
        Ok(secs) => SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}

fn bad(reason: &str, err: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Certificate {
        reason: reason.to_string(),
        source: Some(Box::new(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_validity_and_checks_the_key() {
        let made = rcgen::generate_simple_self_signed(vec!["a.test".into(), "b.test".into()])
            .expect("a certificate");
        let certified =
            Certified::from_pem(made.cert.pem(), made.signing_key.serialize_pem()).expect("valid");
        assert_eq!(certified.info.names, ["a.test", "b.test"]);
        assert!(certified.info.not_after > certified.info.not_before);
        assert!(certified.info.two_thirds() < certified.info.not_after);

        let other = rcgen::generate_simple_self_signed(vec!["c.test".into()]).expect("another");
        let mismatched = Certified::from_pem(made.cert.pem(), other.signing_key.serialize_pem());
        let err = mismatched.expect_err("the key is not the certificate's");
        assert_eq!(
            err.to_string(),
            "the private key does not match the certificate"
        );
        assert!(Certified::from_pem(String::new(), String::new()).is_err());
    }
}

//! The challenge answers in place while an order is validated, shared by
//! the HTTP-01 layer and the TLS-ALPN-01 resolver.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::Error;

/// Answers by token (HTTP-01) and by name (TLS-ALPN-01).
#[derive(Clone, Default)]
pub(crate) struct Challenges {
    inner: Arc<RwLock<Answers>>,
}

#[derive(Default)]
struct Answers {
    /// Token to key authorization.
    http: HashMap<String, String>,
    /// Lower-case name to the challenge certificate.
    alpn: HashMap<String, Arc<CertifiedKey>>,
}

impl Challenges {
    /// The key authorization for an HTTP-01 token.
    pub(crate) fn http01(&self, token: &str) -> Option<String> {
        self.read().http.get(token).cloned()
    }

    /// The TLS-ALPN-01 certificate for `name`.
    pub(crate) fn tls_alpn01(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.read().alpn.get(&name).cloned()
    }

    /// Puts an HTTP-01 answer in place until the returned guard drops.
    pub(crate) fn put_http01(&self, token: &str, key_authorization: &str) -> Answer {
        self.write()
            .http
            .insert(token.to_string(), key_authorization.to_string());
        Answer {
            challenges: self.clone(),
            key: Key::Http(token.to_string()),
        }
    }

    /// Makes the TLS-ALPN-01 certificate for `name` (RFC 8737: the name
    /// and the SHA-256 of the key authorization in a critical
    /// `acmeIdentifier` extension) and puts it in place until the guard
    /// drops.
    pub(crate) fn put_tls_alpn01(&self, name: &str, digest: &[u8]) -> Result<Answer, Error> {
        let failed = |err: rcgen::Error| Error::Certificate {
            reason: format!("cannot make the TLS-ALPN-01 certificate for {name}"),
            source: Some(Box::new(err)),
        };
        let mut params = CertificateParams::new(vec![name.to_string()]).map_err(failed)?;
        params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
        let key = KeyPair::generate().map_err(failed)?;
        let cert = params.self_signed(&key).map_err(failed)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        // Not `CertifiedKey::from_der`: its check that the key matches
        // parses the certificate with webpki, which refuses the critical
        // extension this certificate must carry.
        let signing = mimic::tls::crypto_provider()
            .key_provider
            .load_private_key(der)
            .map_err(|err| Error::Certificate {
                reason: format!("cannot use the TLS-ALPN-01 key for {name}"),
                source: Some(Box::new(err)),
            })?;
        let certified = CertifiedKey::new(vec![cert.der().clone()], signing);
        let name = name.to_ascii_lowercase();
        self.write().alpn.insert(name.clone(), Arc::new(certified));
        Ok(Answer {
            challenges: self.clone(),
            key: Key::Alpn(name),
        })
    }

    // Nothing panics while the lock is held: poisoning is harmless.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Answers> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Answers> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An answer in place; removed when dropped, so that an order that fails
/// halfway leaves nothing behind.
pub(crate) struct Answer {
    challenges: Challenges,
    key: Key,
}

enum Key {
    Http(String),
    Alpn(String),
}

impl Drop for Answer {
    fn drop(&mut self) {
        let mut answers = self.challenges.write();
        match &self.key {
            Key::Http(token) => answers.http.remove(token),
            Key::Alpn(name) => answers.alpn.remove(name).map(|_| String::new()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_last_as_long_as_their_guard() {
        let challenges = Challenges::default();
        let http = challenges.put_http01("tok", "tok.thumb");
        let alpn = challenges
            .put_tls_alpn01("Example.com", &[7; 32])
            .expect("a challenge certificate");
        assert_eq!(challenges.http01("tok").as_deref(), Some("tok.thumb"));
        assert!(challenges.tls_alpn01("example.COM.").is_some());
        drop(http);
        drop(alpn);
        assert_eq!(challenges.http01("tok"), None);
        assert!(challenges.tls_alpn01("example.com").is_none());
    }
}

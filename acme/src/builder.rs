//! [`AcmeBuilder`]: the settings of a certificate manager.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::event::{Event, Hook};
use crate::kind::ChallengeKind;
use crate::settings::{Backoff, LETS_ENCRYPT, Settings, check_name, contact_url};

/// Builds an [`Acme`](crate::Acme); [`Acme::builder`](crate::Acme::builder)
/// starts one.
///
/// | setting | default |
/// |---|---|
/// | directory | [`LETS_ENCRYPT`](crate::LETS_ENCRYPT) (production) |
/// | names | none: at least one is required |
/// | terms of service | not accepted: [`accept_terms`](Self::accept_terms) is required |
/// | contact | none |
/// | challenge | HTTP-01 |
/// | cache | none: nothing survives a restart |
/// | trusted roots | the webpki roots |
/// | retries | after 1 minute, doubling up to 1 hour |
/// | patience | 2 minutes for validation, then as long for issuance |
///
/// Building checks the settings and sends nothing:
///
/// ```
/// # fn main() -> Result<(), acme::Error> {
/// let unsure = acme::Acme::builder().name("example.com").build();
/// assert!(matches!(unsure, Err(acme::Error::TermsNotAccepted)));
///
/// let acme = acme::Acme::builder()
///     .directory(acme::LETS_ENCRYPT_STAGING)
///     .names(["example.com", "www.example.com"])
///     .contact("ops@example.com")
///     .accept_terms()
///     .challenge(acme::ChallengeKind::TlsAlpn01)
///     .build()?;
/// assert!(acme.certificate().is_none());
/// # Ok(()) }
/// ```
#[must_use]
pub struct AcmeBuilder {
    pub(crate) directory: String,
    pub(crate) names: Vec<String>,
    pub(crate) contacts: Vec<String>,
    pub(crate) terms: bool,
    pub(crate) kind: ChallengeKind,
    pub(crate) cache: Option<PathBuf>,
    pub(crate) roots: Vec<Root>,
    pub(crate) client: Option<paf::Client>,
    pub(crate) hook: Option<Hook>,
    pub(crate) backoff: Backoff,
    pub(crate) patience: Duration,
}

/// A trusted root, in memory or in a file.
pub(crate) enum Root {
    Pem(Vec<u8>),
    File(PathBuf),
}

impl Default for AcmeBuilder {
    fn default() -> AcmeBuilder {
        AcmeBuilder {
            directory: LETS_ENCRYPT.to_string(),
            names: Vec::new(),
            contacts: Vec::new(),
            terms: false,
            kind: ChallengeKind::default(),
            cache: None,
            roots: Vec::new(),
            client: None,
            hook: None,
            backoff: Backoff {
                first: Duration::from_secs(60),
                max: Duration::from_secs(3600),
            },
            patience: Duration::from_secs(120),
        }
    }
}

impl fmt::Debug for AcmeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeBuilder")
            .field("directory", &self.directory)
            .field("names", &self.names)
            .field("kind", &self.kind)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl AcmeBuilder {
    /// The CA's directory URL: [`LETS_ENCRYPT`](crate::LETS_ENCRYPT),
    /// [`LETS_ENCRYPT_STAGING`](crate::LETS_ENCRYPT_STAGING), or a private
    /// CA's.
    pub fn directory(mut self, url: impl Into<String>) -> Self {
        self.directory = url.into();
        self
    }

    /// A DNS name the certificate covers (repeatable; the first one names
    /// the cache files).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.names.push(name.into());
        self
    }

    /// Several names at once.
    pub fn names<N: Into<String>>(mut self, names: impl IntoIterator<Item = N>) -> Self {
        self.names.extend(names.into_iter().map(Into::into));
        self
    }

    /// A contact for the account: an e-mail address (`ops@example.com`)
    /// or a `mailto:` URL. The CA writes there about expiring
    /// certificates and incidents.
    pub fn contact(mut self, contact: impl Into<String>) -> Self {
        self.contacts.push(contact.into());
        self
    }

    /// Accepts the CA's terms of service (its directory links them under
    /// `meta.termsOfService`). Required: no account is made without it.
    pub fn accept_terms(mut self) -> Self {
        self.terms = true;
        self
    }

    /// How the CA checks that we control the names (HTTP-01 by default).
    pub fn challenge(mut self, kind: ChallengeKind) -> Self {
        self.kind = kind;
        self
    }

    /// Keeps the account, the certificate and its key in `dir` (created
    /// if needed), so that a restart reuses them.
    pub fn cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(dir.into());
        self
    }

    /// Trusts the CA certificates in this PEM for the directory's TLS, on
    /// top of the webpki roots (a private CA, a test CA).
    pub fn root_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.push(Root::Pem(pem.into()));
        self
    }

    /// The same as [`root_pem`](Self::root_pem), read from a file when
    /// building.
    pub fn root_file(mut self, path: impl AsRef<Path>) -> Self {
        self.roots.push(Root::File(path.as_ref().to_path_buf()));
        self
    }

    /// The paf client that talks to the CA, instead of one made with the
    /// webpki roots and [`root_pem`](Self::root_pem): to reach the CA over
    /// another transport (a user-space TCP/IP stack, a proxy). Exclusive
    /// with `root_pem` and `root_file`, as the client carries its own
    /// roots. Whatever its own timeouts and limits, each exchange with the
    /// CA is bounded to 60 seconds and its answer to 1 MiB.
    pub fn client(mut self, client: paf::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Calls `hook` with every [`Event`] (they also go to `tracing`).
    pub fn on_event(mut self, hook: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// After a failed attempt, waits `first`, then twice as long after
    /// each further failure, at most `max`.
    pub fn retry(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = Backoff { first, max };
        self
    }

    /// How long to wait for the CA to validate the challenges, and then
    /// again to issue.
    pub fn patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// Checks the settings.
    pub(crate) fn settings(&self) -> Result<Settings, Error> {
        if !self.terms {
            return Err(Error::TermsNotAccepted);
        }
        if self.names.is_empty() {
            return Err(Error::setting("names", "give at least one name to certify"));
        }
        let names = self
            .names
            .iter()
            .map(|name| check_name(name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| Error::setting("names", reason))?;
        let contact = self
            .contacts
            .iter()
            .map(|contact| contact_url(contact))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| Error::setting("contact", reason))?;
        if !self.directory.starts_with("https://") && !self.directory.starts_with("http://") {
            let reason = format!("`{}` is not an http(s) URL", self.directory);
            return Err(Error::setting("directory", reason));
        }
        if self.client.is_some() && !self.roots.is_empty() {
            let reason = "give the roots to the client's TLS settings, not to both";
            return Err(Error::setting("trusted roots", reason));
        }
        Ok(Settings {
            directory: self.directory.clone(),
            names,
            contact,
            kind: self.kind,
            cache: self.cache.clone(),
            backoff: self.backoff,
            patience: self.patience,
        })
    }

    /// The roots as PEM, files read.
    pub(crate) fn root_pems(&self) -> Result<Vec<Vec<u8>>, Error> {
        self.roots
            .iter()
            .map(|root| match root {
                Root::Pem(pem) => Ok(pem.clone()),
                Root::File(path) => std::fs::read(path).map_err(|err| {
                    let reason = format!("cannot read {}", path.display());
                    Error::setting_caused("trusted roots", reason, err)
                }),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use crate::Acme;

    #[test]
    fn an_unreadable_root_file_says_which_and_carries_the_cause() {
        let built = Acme::builder()
            .name("a.test")
            .accept_terms()
            .root_file("/nonexistent/root.pem")
            .build();
        let Err(err) = built else {
            panic!("built with a missing root file");
        };
        assert_eq!(
            err.to_string(),
            "trusted roots: cannot read /nonexistent/root.pem"
        );
        let cause = err
            .source()
            .and_then(|e| e.downcast_ref::<std::io::Error>());
        assert_eq!(
            cause.map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );
        assert!(!err.is_transient());
    }
}

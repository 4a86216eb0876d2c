//! What the manager is configured with, checked once.

use std::path::PathBuf;
use std::time::Duration;

use crate::kind::ChallengeKind;

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// Let's Encrypt's staging directory: untrusted certificates, generous
/// rate limits; for trying a setup out.
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// The settings, as checked by the builder.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The CA's directory URL.
    pub(crate) directory: String,
    /// The DNS names, in order; the first names the cache files.
    pub(crate) names: Vec<String>,
    /// `mailto:` URLs.
    pub(crate) contact: Vec<String>,
    pub(crate) kind: ChallengeKind,
    pub(crate) cache: Option<PathBuf>,
    pub(crate) backoff: Backoff,
    /// How long to wait for the CA to validate, then to issue.
    pub(crate) patience: Duration,
}

/// Waits between failed attempts: `first`, doubled each time up to `max`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    pub(crate) first: Duration,
    pub(crate) max: Duration,
}

impl Backoff {
    /// The wait after `failures` failures in a row (at least 1).
    pub(crate) fn after(self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }
}

/// A DNS name as the CA wants it: lower case, no trailing dot, made of
/// letters, digits, `-` and `.`.
pub(crate) fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.starts_with("*.") {
        return Err(format!(
            "`{name}`: wildcard names need DNS-01, and this crate answers HTTP-01 and TLS-ALPN-01"
        ));
    }
    let bare = name.as_str();
    let valid = !bare.is_empty()
        && bare.len() <= 253
        && bare.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(name)
    } else {
        Err(format!("`{name}` is not a DNS name"))
    }
}

/// `mailto:ADDR` for an e-mail address; a URL is kept as it is.
pub(crate) fn contact_url(contact: &str) -> Result<String, String> {
    if contact.contains(':') {
        return Ok(contact.to_string());
    }
    match contact.split_once('@') {
        Some((user, domain)) if !user.is_empty() && domain.contains('.') => {
            Ok(format!("mailto:{contact}"))
        }
        _ => Err(format!("`{contact}` is not an e-mail address")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_contacts_are_checked() {
        assert_eq!(check_name("Example.COM."), Ok("example.com".into()));
        for bad in ["", "a..b", "-a.b", "a b", "ex_ample.com", "*.example.com"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            contact_url("ops@example.com"),
            Ok("mailto:ops@example.com".into())
        );
        assert_eq!(contact_url("mailto:x@y.z"), Ok("mailto:x@y.z".into()));
        assert!(contact_url("nobody").is_err());
    }

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let backoff = Backoff {
            first: Duration::from_secs(60),
            max: Duration::from_secs(600),
        };
        let waits: Vec<u64> = (1..=6).map(|n| backoff.after(n).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 600, 600]);
    }
}

//! The ACME account: read from the cache, or registered and then cached.

use instant_acme::{Account, AccountCredentials, HttpClient, NewAccount};

use crate::cache::{Cache, Secrecy};
use crate::error::Error;
use crate::event::{Event, Reporter};
use crate::settings::Settings;

/// The account for `settings`' CA: the cached one if there is one,
/// otherwise a new one (contact as set, terms accepted), cached at once.
pub(crate) async fn account(
    settings: &Settings,
    cache: Option<&Cache>,
    http: Box<dyn HttpClient>,
    events: &Reporter,
) -> Result<Account, Error> {
    if let Some(credentials) = cached(cache)? {
        let account = Account::builder_with_http(http)
            .from_credentials(credentials)
            .await
            .map_err(|err| Error::acme("read the directory", err))?;
        events.emit(Event::AccountReused { id: account.id() });
        return Ok(account);
    }
    let contact: Vec<&str> = settings.contact.iter().map(String::as_str).collect();
    let new = NewAccount {
        contact: &contact,
        // The builder refuses to build until the user accepted the terms.
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let (account, credentials) = Account::builder_with_http(http)
        .create(&new, settings.directory.clone(), None)
        .await
        .map_err(|err| Error::acme("create the account", err))?;
    if let Some(cache) = cache {
        let json = serde_json::to_vec_pretty(&credentials).map_err(|err| Error::Protocol {
            during: "store the account",
            source: Box::new(err),
        })?;
        cache.write(&cache.account_path(), &json, Secrecy::Private)?;
    }
    events.emit(Event::AccountCreated { id: account.id() });
    Ok(account)
}

/// The cached credentials; none when absent or unreadable (a new account
/// is made then, and replaces the file).
fn cached(cache: Option<&Cache>) -> Result<Option<AccountCredentials>, Error> {
    let Some(cache) = cache else {
        return Ok(None);
    };
    let path = cache.account_path();
    let Some(bytes) = cache.read(&path)? else {
        return Ok(None);
    };
    match serde_json::from_slice(&bytes) {
        Ok(credentials) => Ok(Some(credentials)),
        Err(err) => {
            let path = path.display();
            tracing::warn!(target: "acme", "{path}: not an account ({err}); registering a new one");
            Ok(None)
        }
    }
}

//! The ACME account: read from the cache, or registered and then cached.

use instant_acme::{Account, AccountCredentials, HttpClient, NewAccount};

use crate::cache::{Cache, Secrecy};
use crate::error::Error;
use crate::event::{Event, Reporter};
use crate::settings::Settings;

/// The account for `settings`' CA: the cached one if there is one,
/// otherwise a new one (contact as set, terms accepted), cached at once
/// (a cache that cannot be written is logged, and the account used all
/// the same).
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
    // Kept all the same when the disk fails: the account exists at the
    // CA now, and registering another one on each attempt would be worse.
    if let Some(cache) = cache
        && let Err(err) = store(cache, &credentials)
    {
        tracing::warn!(target: "acme", "the new account is not cached: {err:#}");
    }
    events.emit(Event::AccountCreated { id: account.id() });
    Ok(account)
}

/// Writes the account's credentials to the cache.
fn store(cache: &Cache, credentials: &AccountCredentials) -> Result<(), Error> {
    let path = cache.account_path();
    let json = serde_json::to_vec_pretty(credentials).map_err(|err| Error::Cache {
        path: path.clone(),
        action: "encode the account for",
        source: std::io::Error::other(err),
    })?;
    cache.write(&path, &json, Secrecy::Private)
}

/// Removes the cached account (one the CA no longer knows); a missing
/// file is not an error.
pub(crate) fn forget(cache: &Cache) -> Result<(), Error> {
    let path = cache.account_path();
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Cache {
            path,
            action: "remove",
            source,
        }),
    }
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

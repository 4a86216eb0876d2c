//! `--acme`: certificates from an ACME CA for the `tls://` listeners.

use std::io::Write as _;

use acme::{Acme, Event};

use super::Options;

/// The manager `options` ask for, printing its events on stdout; `None`
/// without `--acme`. Giving `--acme` accepts the CA's terms of service:
/// the banner says so.
pub(crate) fn manager(options: &Options) -> Result<Option<Acme>, String> {
    if options.acme.is_empty() {
        return Ok(None);
    }
    let mut builder = Acme::builder()
        .directory(&options.acme_directory)
        .names(&options.acme)
        .challenge(options.acme_challenge)
        .accept_terms()
        .on_event(print);
    for root in &options.acme_root {
        builder = builder.root_file(root);
    }
    if let Some(dir) = &options.acme_cache {
        builder = builder.cache(dir);
    }
    if let Some(email) = &options.acme_email {
        builder = builder.contact(email);
    }
    builder
        .build()
        .map(Some)
        .map_err(|err| format!("--acme: {err:#}"))
}

/// One line per event, on stdout like the rest of the banner.
fn print(event: &Event<'_>) {
    let _ = writeln!(std::io::stdout(), "acme: {event}");
}

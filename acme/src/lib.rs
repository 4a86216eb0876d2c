//! Certificates from Let's Encrypt or any ACME CA (RFC 8555), provisioned,
//! renewed and swapped into running paf servers.
//!
//! The ACME exchange runs on [instant-acme] over paf's own
//! [`Client`](paf::Client), so it works over any flow paf can open (the
//! user-space TCP/IP stack included); the challenges are answered by the
//! server itself: HTTP-01 by a tower layer in front of any paf handler,
//! TLS-ALPN-01 by the certificate resolver of conduit's TLS listener.
//! `docs/acme.md` is the guide.
//!
//! ```no_run
//! # async fn run() -> Result<(), acme::Error> {
//! let acme = acme::Acme::builder()
//!     .directory(acme::LETS_ENCRYPT_STAGING)
//!     .name("example.com")
//!     .name("www.example.com")
//!     .contact("ops@example.com")
//!     .accept_terms()
//!     .challenge(acme::ChallengeKind::TlsAlpn01)
//!     .cache("/var/lib/paf/acme")
//!     .on_event(|event| println!("acme: {event}"))
//!     .build()?;
//! // TLS listeners use `acme.server_config(..)`; then:
//! let info = acme.ensure().await?;
//! println!("serving a certificate for {:?} until {:?}", info.names, info.not_after);
//! tokio::spawn(acme.run()); // renewals
//! # Ok(()) }
//! ```
//!
//! [instant-acme]: https://docs.rs/instant-acme
//!
//! # Organization
//! The modules form layers; each uses only the layers below it.
//! 1. `kind.rs`: [`ChallengeKind`].
//! 2. `error.rs`: [`Error`], [`Problem`], [`Subproblem`], [`ChallengeFailure`].
//! 3. `event.rs`: [`Event`] and its reporting; `settings.rs`: the checked
//!    settings and the directory URLs; `cache.rs`: the cache directory;
//!    `certificate.rs`: a chain and key read from PEM; `challenges.rs`:
//!    the answers in place; `transport.rs`: instant-acme's HTTP client
//!    over paf.
//! 4. `http01.rs`: [`Http01Layer`]; `resolver.rs`: [`CertResolver`];
//!    `builder.rs`: [`AcmeBuilder`].
//! 5. `account.rs`: the account, cached or created; `issue.rs`: one
//!    order from start to chain.
//! 6. `manager.rs`: [`Acme`]: loading, ordering, installing, renewing.
#![warn(missing_docs)]

mod kind;

mod error;

mod cache;
mod certificate;
mod challenges;
mod event;
mod settings;
mod transport;

mod builder;
mod http01;
mod resolver;

mod account;
mod issue;

mod manager;

pub use builder::AcmeBuilder;
pub use certificate::CertificateInfo;
pub use error::{ChallengeFailure, Error, Problem, Subproblem};
pub use event::Event;
pub use http01::{Http01Layer, Http01Service};
pub use kind::ChallengeKind;
pub use manager::Acme;
pub use resolver::{ACME_TLS_ALPN, CertResolver};
pub use settings::{LETS_ENCRYPT, LETS_ENCRYPT_STAGING};

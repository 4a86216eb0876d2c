//! A typed connection context: values, derivation rules and protocols,
//! resolved into a [`Flow`] that says what it tried.
//!
//! A [`Ctx`] holds typed values under [`Key`]s, rules that derive keys from
//! other keys (a domain name into IP addresses, addresses and a port into a
//! TCP endpoint), and protocol [`Registration`]s with priorities. Resolving
//! the context builds every candidate whose endpoint can be built, orders
//! them by priority, and connects them with a staggered race (RFC 8305's
//! Happy Eyeballs for a host's addresses). The result is a [`Flow`]: a boxed
//! tokio stream that can be downcast to the concrete stream and that reports
//! its protocols, addresses and TLS parameters. When nothing connects, the
//! [`ResolveError`] lists every candidate, what was tried, and why it failed.
//!
//! ```no_run
//! use mimic::{Ctx, keys, tls};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ctx = Ctx::new()
//!     .with_builtins()
//!     .with_system_dns()
//!     .with(&keys::HOST, "example.com".to_string())
//!     .with(&keys::PORT, 443)
//!     .with(&tls::SERVER_NAME, "example.com".to_string());
//! match ctx.resolve().await {
//!     Ok(flow) => println!("{:?}", flow.info()),
//!     Err(err) => eprintln!("{err}"), // one line per candidate, with its cause
//! }
//! # Ok(()) }
//! ```
//!
//! # Organization
//! The root holds the core:
//! - [`Key`]: typed keys with names for diagnostics.
//! - [`Ctx`], [`Strategy`]: values, derivations ([`req`], [`opt`], [`dft`]),
//!   registrations, options; [`Ctx::resolve`] and [`Ctx::explain`].
//! - [`Protocol`], [`Layer`], [`Registration`]: how to connect, and over what.
//! - [`Flow`], [`Info`]: the connected stream and what is known about it.
//! - [`ResolveError`]: why nothing connected, with the report of every candidate.
//!
//! Modules hold the rest:
//! - [`derive`](mod@derive): the inputs of a derivation ([`Args`](derive::Args), [`Req`](derive::Req)...).
//! - [`flow`]: [`Addr`](flow::Addr), [`TlsInfo`](flow::TlsInfo).
//! - [`report`]: what resolution tried and how each candidate ended
//!   ([`Report`](report::Report), [`Outcome`](report::Outcome)...), and
//!   [`Chain`](report::Chain), which prints an error with its causes.
//! - [`keys`]: keys shared by the built-in protocols.
//! - Built-in protocols, each behind a feature: [`tcp`], [`unix`], [`tls`],
//!   [`dns`] (a derivation), [`mem`].
//!
//! The guide (`docs/mimic.md`) walks through keys, derivations, protocols,
//! priorities, strategies and diagnostics.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builtins;
mod ctx;
pub mod derive;
mod error;
pub mod flow;
mod key;
pub mod keys;
mod protocol;
pub mod report;
mod resolve;

mod proto;

#[cfg(feature = "dns")]
pub use proto::dns;
#[cfg(feature = "mem")]
pub use proto::mem;
#[cfg(feature = "tcp")]
pub use proto::tcp;
#[cfg(feature = "tls")]
pub use proto::tls;
#[cfg(all(feature = "unix", unix))]
pub use proto::unix;

pub use ctx::{Ctx, Strategy};
pub use derive::{dft, opt, req};
pub use error::ResolveError;
pub use flow::{Flow, Info};
pub use key::Key;
pub use protocol::{Layer, Protocol, Registration};

/// The code of mimic's guide, compiled and run by `cargo test --doc` so
/// that it does not drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../docs/mimic.md")]
pub struct GuideSnippets;

//! URIs to mimic contexts, and server listeners with limits and graceful
//! shutdown.
//!
//! The client side turns a URI into a [`mimic::Ctx`] through rules applied in
//! a documented order (per-request overrides, a static table, label-aware
//! domain rewrites, scheme rewrites, then DNS), with built-in schemes
//! (`http`, `https`, `ws`, `wss`, `unix:`, `http+unix:`), `/etc/services`,
//! and Docker's conventions. [`Resolver::explain`] says which rules matched
//! and what mimic will try; connection errors carry mimic's per-candidate
//! report.
//!
//! The server side listens: [`listener`] has TCP (explicit bind address,
//! `[::]` dual-stack), Unix (stale files, modes, removal) and TLS over any
//! listener (ALPN, SNI, client certificates, certificates replaced while
//! running); [`serve`] runs several listeners at once with a connection
//! limit, a handshake timeout, back-off on `EMFILE`, and a graceful shutdown
//! that reports what finished and what was aborted.
//!
//! ```no_run
//! # async fn run() -> Result<(), conduit::Error> {
//! let flow = conduit::connect("http+unix://%2Fvar%2Frun%2Fdocker.sock/version").await?;
//! println!("connected over {}", flow.info().protocol());
//! # Ok(()) }
//! ```
//!
//! # Organization
//! - [`Target`]: a URI, `unix:` forms included.
//! - [`Endpoint`]: where a connection goes, with `Display` and `FromStr`.
//! - [`Resolver`], [`Overrides`], [`DockerHost`]: URI to context.
//! - [`Error`]: the one error type, client and server side: `is_*` predicates
//!   grouped by who can fix it, and mimic's report for connection failures.
//!   `{}` is its own text, `{:#}` the whole chain.
//! - [`listener`]: the [`Listener`](listener::Listener) trait and the TCP,
//!   Unix and TLS listeners.
//! - [`serve`]: the accept loop, limits, [`Drain`](serve::Drain) and shutdown.
//! - `hyper` (feature `hyper`): a connector for hyper-util's client and
//!   tonic, and hyper's servers on conduit's listeners (`docs/interop.md`).

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod endpoint;
mod error;
mod resolver;
mod target;

pub use endpoint::Endpoint;
pub use error::Error;
pub use resolver::{
    CustomScheme, Destination, DockerHost, Explanation, Overrides, Resolution, Resolver,
    ResolverBuilder, Scheme, connect,
};
pub use target::Target;

#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod hyper;
pub mod listener;
pub mod serve;

//! URIs to mimic contexts, and server listeners.
//!
//! The client side turns a URI into a [`mimic::Ctx`] through rules applied in
//! a documented order (per-request overrides, a static table, label-aware
//! domain rewrites, scheme rewrites, then DNS), with built-in schemes
//! (`http`, `https`, `ws`, `wss`, `unix:`, `http+unix:`), `/etc/services`,
//! and Docker's conventions. [`Resolver::explain`] says which rules matched
//! and what mimic will try; connection errors carry mimic's per-candidate
//! report.
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
//! - [`Error`]: what went wrong, with mimic's report for connection failures.

#![warn(missing_docs)]

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

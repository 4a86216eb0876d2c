//! The built-in protocols and derivations, each behind its cargo feature.

#[cfg(feature = "dns")]
pub mod dns;
#[cfg(feature = "mem")]
pub mod mem;
#[cfg(feature = "tcp")]
pub mod tcp;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(all(feature = "unix", unix))]
pub mod unix;

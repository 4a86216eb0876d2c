//! HTTP/2, on the `h2` crate.
//!
//! # Organization
//! - `server.rs`: the server connection loop and the answer to each stream.
//! - `client.rs`: the client connection.
//! - `body.rs`: bodies on streams, with flow control both ways.
//! - `h2c.rs`: clear-text HTTP/2: the preface and the `Upgrade: h2c` switch.
//! - `ping.rs`: keep-alive PINGs.

pub(crate) mod body;
pub(crate) mod h2c;
mod ping;
pub(crate) mod server;

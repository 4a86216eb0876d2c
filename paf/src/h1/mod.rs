//! HTTP/1.1.
//!
//! # Organization
//! - `codec/`: parsing and writing heads and bodies on byte buffers, no I/O.
//! - `io.rs`: the read buffer and write queue around a stream.
//! - `outgoing.rs`: encoding a body being sent, for both sides.
//! - `server.rs`: the server connection loop; `pump.rs` feeds request bodies;
//!   `sendfile.rs` sends bodies named by a `FileRegion`.

pub(crate) mod client;
pub(crate) mod codec;
mod io;
mod outgoing;
mod pump;
mod sendfile;
pub(crate) mod server;

//! TCP through the stack: streams, connecting, listening.
//!
//! # Organization
//! - [`TcpStream`] (`stream.rs`): a connection as a tokio stream.
//! - `connect.rs`: [`Stack::connect`](crate::Stack::connect).
//! - [`TcpListener`] (`listener.rs`): [`Stack::listen`](crate::Stack::listen),
//!   the backlog, and conduit's `Listener`.

mod connect;
mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;

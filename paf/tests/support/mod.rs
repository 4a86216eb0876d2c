//! Shared test helpers: external peers, temporary directories, servers.
#![allow(dead_code, clippy::unwrap_used)]

pub mod nginx;
pub mod podman;
pub mod server;
pub mod tinyproxy;
pub mod tls;

#[allow(unused_imports)] // each test file uses a different part
pub use testkit::{TempDir, peer_tool};

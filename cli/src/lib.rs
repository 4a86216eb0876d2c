//! The command-line tools built on paf.
//!
//! - `paf-server`: a static file server (directory listings, ranges,
//!   conditional requests, HTTP/1.1 and HTTP/2 over TCP, TLS and Unix
//!   sockets, graceful shutdown), or an echo server with `--echo`.
//!
//! `docs/cli.md` documents every option. The binaries in `src/bin/` are
//! thin: each parses its options and calls into this library.
//!
//! # Organization
//! - `diagnostics.rs`: the `tracing` subscriber both tools install
//!   (`RUST_LOG`, `PAF_DEBUG`).
//! - `server/`: `paf-server`.

pub mod curl;
pub mod diagnostics;
pub mod server;

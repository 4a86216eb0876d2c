//! The command-line tools built on paf.
//!
//! - `paf-server`: a static file server (directory listings, ranges,
//!   conditional requests, HTTP/1.1 and HTTP/2 over TCP, TLS and Unix
//!   sockets, graceful shutdown), or an echo server with `--echo`.
//! - `paf-curl`: curl's common options on [`paf::Client`], with curl's
//!   exit codes and a `-v` that shows the resolution plan, the connection
//!   and both heads.
//!
//! `docs/cli.md` documents every option. The binaries in `src/bin/` are
//! thin: each parses its options and calls into this library.
//!
//! # Organization
//! - `diagnostics.rs`: the `tracing` subscriber both tools install
//!   (`RUST_LOG`, `PAF_DEBUG`).
//! - `server/`: `paf-server`.
//! - `curl/`: `paf-curl`.
//! - `util.rs`: what both use: duration options, path-segment encoding,
//!   version and month names.

pub mod curl;
pub mod diagnostics;
pub mod server;
mod util;

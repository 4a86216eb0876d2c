//! The workspace's runnable examples: `cargo run -p examples --example
//! NAME`. The library itself is empty: it holds the code of the interop
//! guide (`docs/interop.md`), compiled and run by `cargo test --doc`, with
//! the examples' dependencies, so that it cannot drift from the API.

/// The code of `docs/interop.md`, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../docs/interop.md")]
pub struct InteropGuide;

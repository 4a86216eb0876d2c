//! How long and how much a connection keeps reading, and throwing away,
//! what a peer still sends after its answer was given without reading it
//! all: closing (HTTP/1.1) or resetting the stream (HTTP/2) under a client
//! that is still sending can destroy the answer before the client reads it.

use std::time::Duration;

/// The longest time spent discarding.
pub(crate) const TIME: Duration = Duration::from_secs(2);
/// Discarding stops earlier when the peer is quiet this long.
pub(crate) const QUIET: Duration = Duration::from_millis(500);
/// The most bytes discarded.
pub(crate) const BYTES: u64 = 64 * 1024 * 1024;

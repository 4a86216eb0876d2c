//! `PAF_DEBUG=1`: every connection, request head and response head on
//! stderr, in any program that uses paf, with no logging set up. Without
//! it, the same events go to `tracing` at debug level, for `RUST_LOG`-style
//! filtering.
//!
//! Lines start with `paf client` or `paf server`, then `*` for a connection,
//! `>` for a head sent and `<` for a head received, as curl's `-v` does.
//! Field values marked sensitive (credentials) are not shown.

use std::fmt::Write as _;
use std::sync::OnceLock;

use http::{HeaderMap, Method, StatusCode, Uri, Version};
use mimic::Info;

/// Which end of the connection speaks.
#[derive(Clone, Copy)]
pub(crate) enum Side {
    Client,
    Server,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// Whether `PAF_DEBUG` is set to anything but empty or `0`; read once.
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("PAF_DEBUG").is_some_and(|v| !v.is_empty() && v != "0"))
}

/// Whether anything listens: `PAF_DEBUG`, or a `tracing` subscriber at
/// debug level.
fn wanted() -> bool {
    enabled() || tracing::enabled!(tracing::Level::DEBUG)
}

fn emit(side: Side, text: &str) {
    // Printed once: by `PAF_DEBUG` when it is on, by `tracing` otherwise.
    if !enabled() {
        tracing::debug!(side = side.name(), "{text}");
        return;
    }
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        let _ = writeln!(out, "paf {} {line}", side.name());
    }
    // One write, so that lines of concurrent connections do not mix.
    use std::io::Write as _;
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

/// A connection made (client) or accepted (server).
pub(crate) fn connection(side: Side, info: &Info) {
    if !wanted() {
        return;
    }
    let protocols: Vec<&str> = info.protocols().collect();
    let mut text = format!("* connected over {}", protocols.join("/"));
    if let Some(endpoint) = info.endpoint() {
        let _ = write!(text, " to {endpoint}");
    }
    if let Some(peer) = info.peer_addr() {
        let _ = write!(text, ", peer {peer}");
    }
    if let Some(local) = info.local_addr() {
        let _ = write!(text, ", local {local}");
    }
    if let Some(tls) = info.tls() {
        let _ = write!(text, "\n* TLS {tls}");
    }
    emit(side, &text);
}

fn fields(text: &mut String, mark: char, headers: &HeaderMap) {
    for (name, value) in headers {
        let value = if value.is_sensitive() {
            "<hidden>".into()
        } else {
            String::from_utf8_lossy(value.as_bytes())
        };
        let _ = write!(text, "\n{mark} {name}: {value}");
    }
}

/// A request head: sent by the client, received by the server.
pub(crate) fn request(
    side: Side,
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
) {
    if !wanted() {
        return;
    }
    let mark = match side {
        Side::Client => '>',
        Side::Server => '<',
    };
    let mut text = format!("{mark} {method} {uri} {version:?}");
    fields(&mut text, mark, headers);
    emit(side, &text);
}

/// A response head: received by the client, sent by the server.
pub(crate) fn response(side: Side, version: Version, status: StatusCode, headers: &HeaderMap) {
    if !wanted() {
        return;
    }
    let mark = match side {
        Side::Client => '<',
        Side::Server => '>',
    };
    let mut text = format!("{mark} {version:?} {status}");
    fields(&mut text, mark, headers);
    emit(side, &text);
}

//! Two stacks joined in memory, and helpers the tests share.

#![allow(dead_code)]

pub mod http;

use std::net::SocketAddr;
use std::time::Duration;

use tcpip::link::{MemLink, MemLinkConfig};
use tcpip::{Config, Stack};

/// How long a test waits for anything before failing.
pub const PROMPT: Duration = Duration::from_secs(20);

pub const CLIENT: &str = "10.0.0.1";
pub const SERVER: &str = "10.0.0.2";

/// A client stack at 10.0.0.1 and a server stack at 10.0.0.2 (and
/// fd00::1, fd00::2), on one in-memory link.
pub fn pair(link: MemLinkConfig, config: impl Fn(Config) -> Config) -> (Stack, Stack) {
    let (a, b) = MemLink::pair(link);
    let client = Stack::new(
        a,
        config(
            Config::new()
                .address("10.0.0.1/24".parse().expect("a CIDR literal"))
                .address("fd00::1/64".parse().expect("a CIDR literal")),
        ),
    )
    .expect("a valid client configuration");
    let server = Stack::new(
        b,
        config(
            Config::new()
                .address("10.0.0.2/24".parse().expect("a CIDR literal"))
                .address("fd00::2/64".parse().expect("a CIDR literal")),
        ),
    )
    .expect("a valid server configuration");
    (client, server)
}

/// A perfect link and the default configuration.
pub fn plain_pair() -> (Stack, Stack) {
    pair(MemLinkConfig::default(), |c| c)
}

pub fn server_addr(port: u16) -> SocketAddr {
    SocketAddr::new(SERVER.parse().expect("an IP literal"), port)
}

/// Fails the test if `future` takes longer than `PROMPT`.
pub async fn prompt<F: std::future::Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(PROMPT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} took longer than {PROMPT:?}"),
    }
}

/// The period of the pattern: a prime, so that it never lines up with
/// buffer or segment sizes.
const PERIOD: usize = 65521;

fn table() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..2 * PERIOD)
            .map(|n| ((n % PERIOD) * 7 + (n % PERIOD) / 251) as u8)
            .collect()
    })
}

/// A deterministic byte pattern, so corruption and reordering show: the
/// bytes from `offset` on fill `buf`.
pub fn pattern(offset: u64, buf: &mut [u8]) {
    let table = table();
    let mut at = (offset % PERIOD as u64) as usize;
    for chunk in buf.chunks_mut(PERIOD) {
        chunk.copy_from_slice(&table[at..at + chunk.len()]);
        at = (at + chunk.len()) % PERIOD;
    }
}

//! Two stacks joined in memory, and helpers the tests share.

#![allow(dead_code)]

pub mod http;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tcpip::link::{MemLink, MemLinkConfig};
use tcpip::{Config, Stack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// Sends `total` bytes of the pattern on `stream`.
async fn send_pattern(stream: &mut (impl AsyncWriteExt + Unpin), total: u64) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    while sent < total {
        let n = (total - sent).min(buf.len() as u64) as usize;
        pattern(sent, &mut buf[..n]);
        stream.write_all(&buf[..n]).await?;
        sent += n as u64;
    }
    Ok(())
}

/// Reads to the end, checking the pattern; gives the length.
async fn check_pattern(stream: &mut (impl AsyncReadExt + Unpin)) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut expected = vec![0u8; 64 * 1024];
    let mut received = 0u64;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(received);
        }
        pattern(received, &mut expected[..n]);
        assert!(
            buf[..n] == expected[..n],
            "corrupt data at offset {received}"
        );
        received += n as u64;
    }
}

/// `total` bytes each way at once over one connection, checked byte by byte.
pub async fn both_ways(client: &Stack, server: &Stack, port: u16, total: u64) {
    let mut listener = server.listen(server_addr(port)).expect("a free port");
    let accept = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("a connection");
        let (mut rd, mut wr) = tokio::io::split(stream);
        let send = async {
            send_pattern(&mut wr, total).await?;
            wr.shutdown().await
        };
        let (sent, received) = tokio::join!(send, check_pattern(&mut rd));
        sent.expect("the server sends");
        received.expect("the server receives")
    });
    let stream = client.connect(server_addr(port)).await.expect("connects");
    let (mut rd, mut wr) = tokio::io::split(stream);
    let send = async {
        send_pattern(&mut wr, total).await?;
        wr.shutdown().await
    };
    let (sent, received) = tokio::join!(send, check_pattern(&mut rd));
    sent.expect("the client sends");
    assert_eq!(received.expect("the client receives"), total);
    assert_eq!(accept.await.expect("the server task"), total);
}

//! TCP between two stacks joined in memory: data, half-close, resets,
//! refusals, timeouts, the backlog.

mod support;

use std::io;
use std::time::Duration;

use support::{both_ways, pair, plain_pair, prompt, server_addr};
use tcpip::link::MemLinkConfig;
use tcpip::{Config, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_and_reordering_still_deliver_intact_data() {
    // 1% loss, and a jitter of twice the delay: frames overtake each other.
    let link = MemLinkConfig {
        loss: 0.01,
        delay: Duration::from_millis(1),
        jitter: Duration::from_millis(2),
        seed: 7,
        ..MemLinkConfig::default()
    };
    let (client, server) = pair(link, |c| c);
    let started = std::time::Instant::now();
    // Every loss smoltcp cannot repair by fast retransmit costs a
    // retransmission timeout (1 s at least, RFC 6298): the amount is small.
    // Three connections at once, each closed by both ends together: FINs
    // overtaken by data and lost once left smoltcp with no timer to send
    // them again (about one close in two stalled before the FIN guard).
    let bad_link = async {
        tokio::join!(
            both_ways(&client, &server, 9001, 256 << 10),
            both_ways(&client, &server, 9002, 256 << 10),
            both_ways(&client, &server, 9003, 256 << 10),
        )
    };
    tokio::time::timeout(Duration::from_secs(90), bad_link)
        .await
        .expect("3 x 256 KiB each way over a bad link within 90 s");
    eprintln!(
        "3 x 256 KiB each way over the bad link in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn ipv6_connects_and_half_close_keeps_reading() {
    let (client, server) = plain_pair();
    let addr = "[fd00::2]:7".parse().expect("a socket address literal");
    let mut listener = server.listen(addr).expect("a free port");
    let echo = tokio::spawn(async move {
        let (mut stream, peer) = listener.accept().await.expect("a connection");
        assert!(peer.is_ipv6());
        let mut request = Vec::new();
        // Reads to the client's FIN, then answers on the half still open.
        stream
            .read_to_end(&mut request)
            .await
            .expect("reads to FIN");
        stream.write_all(&request).await.expect("answers");
        stream.shutdown().await.expect("closes");
    });
    let mut stream = prompt("connect", client.connect(addr))
        .await
        .expect("connects");
    assert_eq!(stream.peer_addr(), addr);
    stream.write_all(b"ping over v6").await.expect("writes");
    stream.shutdown().await.expect("half-closes");
    let mut answer = Vec::new();
    prompt("the answer", stream.read_to_end(&mut answer))
        .await
        .expect("reads");
    assert_eq!(answer, b"ping over v6");
    echo.await.expect("the server task");
}

#[tokio::test]
async fn a_reset_is_an_error_not_the_end_of_the_stream() {
    let (client, server) = plain_pair();
    let mut listener = server.listen(server_addr(8)).expect("a free port");
    let mut stream = client.connect(server_addr(8)).await.expect("connects");
    let (mut accepted, _) = listener.accept().await.expect("a connection");
    accepted.write_all(b"before").await.expect("writes");
    let mut first = [0u8; 6];
    prompt("data", stream.read_exact(&mut first))
        .await
        .expect("reads");
    accepted.abort();
    let mut rest = Vec::new();
    let err = prompt("the reset", stream.read_to_end(&mut rest))
        .await
        .expect_err("a reset is not an end of stream");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    let err = stream
        .write_all(b"after")
        .await
        .expect_err("writing after a reset fails");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
}

#[tokio::test]
async fn a_closed_port_refuses_and_a_silent_address_times_out() {
    let (client, _server) = pair(MemLinkConfig::default(), |c| {
        c.connect_timeout(Duration::from_millis(500))
    });
    let err = prompt("refusal", client.connect(server_addr(9)))
        .await
        .expect_err("nothing listens");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    // Nobody has 10.0.0.3: ARP goes unanswered.
    let silent = "10.0.0.3:80".parse().expect("a socket address literal");
    let err = prompt("timeout", client.connect(silent))
        .await
        .expect_err("nobody answers");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    let far = "192.0.2.1:80".parse().expect("a socket address literal");
    let err = client.connect(far).await.expect_err("no gateway");
    assert_eq!(err.kind(), io::ErrorKind::NetworkUnreachable, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_200_against_a_backlog_of_32_is_all_answered() {
    let (client, server) = plain_pair();
    let mut listener = server
        .listen_with_backlog(server_addr(80), 32)
        .expect("a free port");
    let connects: Vec<_> = (0..200u32)
        .map(|n| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut stream: TcpStream = client.connect(server_addr(80)).await?;
                stream.write_all(&n.to_be_bytes()).await?;
                let mut answer = [0u8; 4];
                stream.read_exact(&mut answer).await?;
                assert_eq!(u32::from_be_bytes(answer), n + 1);
                io::Result::Ok(())
            })
        })
        .collect();
    // The application is busy while the burst arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server_task = tokio::spawn(async move {
        for _ in 0..200 {
            let (mut stream, _) = listener.accept().await.expect("a connection");
            tokio::spawn(async move {
                let mut n = [0u8; 4];
                stream.read_exact(&mut n).await.expect("a number");
                let n = u32::from_be_bytes(n) + 1;
                stream.write_all(&n.to_be_bytes()).await.expect("an answer");
            });
        }
    });
    prompt("200 connections", async {
        for (n, connect) in connects.into_iter().enumerate() {
            let result = connect.await.expect("a client task");
            if let Err(err) = result {
                panic!("connection {n} failed: {err}");
            }
        }
    })
    .await;
    server_task.await.expect("the server task");
}

#[tokio::test]
async fn a_taken_port_is_refused_and_freed_by_drop() {
    let (_client, server) = plain_pair();
    let first = server.listen(server_addr(443)).expect("a free port");
    let err = server.listen(server_addr(443)).expect_err("taken");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    drop(first);
    server.listen(server_addr(443)).expect("free again");
    let _ = Config::new();
}

//! A capture of a link's frames, read back by tcpdump.

mod support;

use std::process::Command;

use support::{prompt, server_addr};
use tcpip::link::{Capture, MemLink, MemLinkConfig};
use tcpip::{Config, Stack};
use testkit::{TempDir, peer_tool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn tcpdump_reads_the_handshake_the_data_and_arp_from_a_capture() {
    let Some(tcpdump) = peer_tool("tcpdump") else {
        return;
    };
    let dir = TempDir::new("capture");
    let path = dir.join("a.pcap");
    let (a, b) = MemLink::pair(MemLinkConfig::default());
    let a = Capture::new(a, &path).expect("a capture file in a temporary directory");
    let client = Stack::new(
        a,
        Config::new().address("10.0.0.1/24".parse().expect("a CIDR")),
    )
    .expect("a valid configuration");
    let server = Stack::new(
        b,
        Config::new().address("10.0.0.2/24".parse().expect("a CIDR")),
    )
    .expect("a valid configuration");
    let mut listener = server.listen(server_addr(80)).expect("a free port");
    let mut stream = prompt("connect", client.connect(server_addr(80)))
        .await
        .expect("connects");
    let (mut accepted, _) = listener.accept().await.expect("a connection");
    stream.write_all(b"captured bytes").await.expect("writes");
    let mut buf = [0u8; 14];
    prompt("data", accepted.read_exact(&mut buf))
        .await
        .expect("reads");
    // Dropping the stacks ends the drivers, which drop and flush the capture.
    drop((stream, accepted, listener, client, server));
    let mut text = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let out = Command::new(&tcpdump)
            .args(["-n", "-A", "-r"])
            .arg(&path)
            .output()
            .expect("tcpdump runs");
        text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("captured bytes") {
            break;
        }
    }
    assert!(text.contains("ARP, Request who-has 10.0.0.2"), "{text}");
    assert!(
        text.contains("10.0.0.1.") && text.contains("> 10.0.0.2.80: Flags [S]"),
        "{text}"
    );
    assert!(text.contains("Flags [S.]"), "{text}");
    assert!(text.contains("captured bytes"), "{text}");
}

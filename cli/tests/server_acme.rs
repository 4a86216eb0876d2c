//! `paf-server --acme`: a certificate from pebble, served over HTTP/1.1
//! and HTTP/2 to curl, which verifies it against pebble's root. Skipped
//! loudly without pebble or curl (a failure under `PAF_REQUIRE_PEERS=1`).
#![allow(clippy::unwrap_used)]

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Server, TempDir, peer_tool};
use testkit::pebble::{Pebble, PebbleConfig};

/// Pebble validating on two free ports, and paf-server started on them
/// with `--acme`, serving `site`: its port for TLS; `None` when pebble is
/// not installed.
fn start(
    challenge: &str,
    site: &Path,
    cache: &Path,
) -> Option<(Pebble, Result<Server, String>, u16)> {
    // Held while pebble starts, so that it picks other ports for itself.
    let held = [hold(), hold()];
    let [http_port, tls_port] = held.each_ref().map(|l| l.local_addr().unwrap().port());
    let pebble = Pebble::start(PebbleConfig {
        http_port,
        tls_port,
        ..PebbleConfig::default()
    })?;
    drop(held);
    let root = pebble.tls_root.to_str().unwrap();
    let server = Server::try_start(
        &[
            site.to_str().unwrap(),
            "-l",
            &format!("tcp://127.0.0.1:{http_port}"),
            "-l",
            &format!("tls://127.0.0.1:{tls_port}"),
            "--acme",
            "example.com",
            "--acme",
            "www.example.com",
            "--acme-directory",
            &pebble.directory,
            "--acme-root",
            root,
            "--acme-cache",
            cache.to_str().unwrap(),
            "--acme-challenge",
            challenge,
            "--acme-email",
            "ops@example.com",
        ],
        &[],
    );
    Some((pebble, server, tls_port))
}

/// A free loopback port, bound.
fn hold() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

fn run_with(challenge: &str) {
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let site = TempDir::new("acme-site");
    site.write("hello.txt", "hello over acme\n");
    let cache = site.join("cache");
    // The ports are free when probed, not reserved: another test may take
    // one before paf-server binds it. Started again on new ports then.
    let mut attempts = 0;
    let (pebble, server, tls_port) = loop {
        let Some((pebble, started, tls_port)) = start(challenge, site.path(), &cache) else {
            return;
        };
        match started {
            Ok(server) => break (pebble, server, tls_port),
            Err(err) if err.contains("--listen") && attempts < 3 => attempts += 1,
            Err(err) => panic!("{err}"),
        }
    };
    let root = pebble.tls_root.to_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.stdout().contains("acme: certificate issued") {
        assert!(
            Instant::now() < deadline,
            "no certificate:\n{}\n{}",
            server.stdout(),
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let issuer = site.join("issuer.pem");
    let fetched = Command::new(&curl)
        .args(["-sS", "--cacert", root, "-o"])
        .arg(&issuer)
        .arg(pebble.issuer_root_url())
        .status()
        .unwrap();
    assert!(fetched.success());
    for (flag, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
        let out = Command::new(&curl)
            .args(["-sS", flag, "-w", "%{http_version}", "--cacert"])
            .arg(&issuer)
            .arg("--resolve")
            .arg(format!("www.example.com:{tls_port}:127.0.0.1"))
            .arg(format!("https://www.example.com:{tls_port}/hello.txt"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "curl {flag}: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout, format!("hello over acme\n{version}"), "curl {flag}");
    }
    let files = std::fs::read_dir(&cache).unwrap().count();
    assert_eq!(files, 3, "account, certificate and key in the cache");
}

#[test]
fn acme_http01_certificate_is_served_over_h1_and_h2() {
    run_with("http-01");
}

#[test]
fn acme_tls_alpn01_certificate_is_served_over_h1_and_h2() {
    run_with("tls-alpn-01");
}

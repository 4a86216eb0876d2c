//! Orders against pebble, Let's Encrypt's ACME test server: both
//! challenges, curl's verdict on the certificate, renewal with a
//! connection held open, a restart from the cache, and a failed challenge.
//! Skipped loudly without pebble (a failure under `PAF_REQUIRE_PEERS=1`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use acme::{ChallengeKind, Error};
use support::{Ports, TempDir, builder, connect, get, issuer_root, serial, serve};

/// HTTP-01 for two names; curl verifies the certificate against pebble's
/// root; the cache holds the account and the key, both mode 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_order_gives_a_certificate_curl_verifies() {
    let Some(curl) = testkit::peer_tool("curl") else {
        return;
    };
    let ports = Ports::bind();
    let Some(pebble) = ports.pebble(None) else {
        return;
    };
    let cache = TempDir::new("acme-h01");
    let (builder, events) = builder(&pebble, ChallengeKind::Http01);
    let acme = builder
        .name("example.com")
        .name("www.example.com")
        .cache(cache.path())
        .build()
        .unwrap();
    let addr = ports.tls_addr();
    let _server = serve(&acme, ports);

    let info = acme.order().await.unwrap_or_else(|err| panic!("{err:#}"));
    assert_eq!(info.names, ["example.com", "www.example.com"]);
    assert_eq!(events.count("account created"), 1, "{:?}", events.all());
    assert_eq!(events.count("www.example.com: HTTP-01 answer ready"), 1);

    let root = cache.write("root.pem", issuer_root(&pebble).await);
    for name in ["example.com", "www.example.com"] {
        let out = Command::new(&curl)
            .args(["-sS", "--cacert"])
            .arg(&root)
            .arg("--resolve")
            .arg(format!("{name}:{}:127.0.0.1", addr.port()))
            .arg(format!("https://{name}:{}/", addr.port()))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "curl for {name}: {stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello");
    }

    let mut files: Vec<(String, u32)> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            (entry.file_name().to_string_lossy().into_owned(), mode)
        })
        .filter(|(name, _)| name != "root.pem")
        .collect();
    files.sort();
    let modes: Vec<(&str, u32)> = files
        .iter()
        .map(|(name, mode)| (name.split('-').next().unwrap(), *mode))
        .collect();
    assert_eq!(modes, [("account", 0o600), ("cert", 0o644), ("key", 0o600)]);
}

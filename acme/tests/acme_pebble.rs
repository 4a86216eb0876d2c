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
use support::{
    Answers, Ports, TempDir, builder, connect, get, issuer_root, serial, serve, serve_answering,
};

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
    let mut names = info.names.clone();
    names.sort();
    assert_eq!(names, ["example.com", "www.example.com"]);
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

/// TLS-ALPN-01: the validator's `acme-tls/1` handshake gets the challenge
/// certificate from the same listener that then serves the real one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn01_order_is_answered_by_the_tls_listener() {
    let ports = Ports::bind();
    let Some(pebble) = ports.pebble(None) else {
        return;
    };
    let (builder, events) = builder(&pebble, ChallengeKind::TlsAlpn01);
    let acme = builder.name("alpn.example.com").build().unwrap();
    let addr = ports.tls_addr();
    let _server = serve(&acme, ports);
    assert!(!acme.resolver().has_certificate());

    let info = acme.order().await.unwrap_or_else(|err| panic!("{err:#}"));
    assert_eq!(info.names, ["alpn.example.com"]);
    assert_eq!(
        events.count("alpn.example.com: TLS-ALPN-01 answer ready"),
        1,
        "{:?}",
        events.all()
    );
    let root = issuer_root(&pebble).await;
    let mut tls = connect(addr, "alpn.example.com", &root).await;
    assert_eq!(serial(&tls), info.serial);
    assert!(get(&mut tls).await.ends_with("hello"));
}

/// Certificates living 9 s are renewed at two thirds (6 s); a connection
/// opened before the swap keeps working after it, and new connections get
/// the new certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_swaps_the_certificate_under_an_open_connection() {
    let ports = Ports::bind();
    let Some(pebble) = ports.pebble(Some(9)) else {
        return;
    };
    let (builder, events) = builder(&pebble, ChallengeKind::Http01);
    let acme = builder.name("renew.example.com").build().unwrap();
    let addr = ports.tls_addr();
    let _server = serve(&acme, ports);
    let first = acme.ensure().await.unwrap_or_else(|err| panic!("{err:#}"));
    let root = issuer_root(&pebble).await;
    let mut held = connect(addr, "renew.example.com", &root).await;
    assert_eq!(serial(&held), first.serial);
    assert!(get(&mut held).await.ends_with("hello"));

    let renewals = tokio::spawn(acme.clone().run());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while events.count("certificate issued") < 2 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", events.all());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    renewals.abort();
    let all = events.all();
    assert!(
        all.iter()
            .any(|e| e.contains("renewal due") && e.contains("two thirds of the lifetime")),
        "{all:?}"
    );
    let second = acme.certificate().unwrap();
    assert_ne!(second.serial, first.serial);
    assert!(second.not_after > first.not_after);

    // The connection from before the swap still answers...
    assert!(get(&mut held).await.ends_with("hello"));
    assert_eq!(serial(&held), first.serial);
    // ...and a new one gets the new certificate.
    let fresh = connect(addr, "renew.example.com", &root).await;
    assert_eq!(serial(&fresh), second.serial);
}

/// A second manager on the same cache serves the cached certificate
/// without ordering, and orders with the cached account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reuses_the_cached_account_and_certificate() {
    let ports = Ports::bind();
    let Some(pebble) = ports.pebble(None) else {
        return;
    };
    let cache = TempDir::new("acme-restart");
    let (first_builder, first_events) = builder(&pebble, ChallengeKind::Http01);
    let first = first_builder
        .name("cached.example.com")
        .cache(cache.path())
        .build()
        .unwrap();
    let answers = Answers::of(&first);
    let _server = serve_answering(&first, ports, &answers);
    let issued = first.ensure().await.unwrap_or_else(|err| panic!("{err:#}"));
    assert_eq!(first_events.count("account created"), 1);
    drop(first);

    let (second_builder, events) = builder(&pebble, ChallengeKind::Http01);
    let second = second_builder
        .name("cached.example.com")
        .cache(cache.path())
        .build()
        .unwrap();
    let loaded = second
        .ensure()
        .await
        .unwrap_or_else(|err| panic!("{err:#}"));
    assert_eq!(loaded.serial, issued.serial);
    assert!(second.resolver().has_certificate());
    assert_eq!(events.count("certificate loaded from the cache"), 1);
    assert_eq!(events.count("order placed"), 0, "{:?}", events.all());

    // The listeners stay bound (another test could take their ports): the
    // restarted manager's answers are given from now on, and it orders
    // anew with the cached account.
    answers.set(&second);
    let renewed = second.order().await.unwrap_or_else(|err| panic!("{err:#}"));
    assert_ne!(renewed.serial, issued.serial);
    assert_eq!(events.count("account reused"), 1, "{:?}", events.all());
    assert_eq!(events.count("account created"), 0);
}

/// A challenge the server does not answer (`404`) fails with the name,
/// the kind and the CA's detail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_challenge_gives_the_cas_detail() {
    let ports = Ports::bind();
    let Some(pebble) = ports.pebble(None) else {
        return;
    };
    let (builder, _events) = builder(&pebble, ChallengeKind::Http01);
    let acme = builder.name("down.example.com").build().unwrap();
    let _server = serve_answering(&acme, ports, &Answers::default());
    let err = acme
        .order()
        .await
        .expect_err("nobody answers the challenge");
    let text = err.to_string();
    println!("the error reads: {text}");
    let Error::Challenge { failures } = &err else {
        panic!("not a challenge failure: {err:?}");
    };
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].name, "down.example.com");
    assert_eq!(failures[0].kind, ChallengeKind::Http01);
    let problem = failures[0]
        .problem
        .as_ref()
        .expect("the CA's problem document");
    assert_eq!(problem.short_kind(), Some("unauthorized"), "{problem:?}");
    let detail = problem.detail.as_deref().unwrap_or_default();
    assert!(detail.contains("404"), "{detail}");
    assert_eq!(
        text,
        format!("down.example.com: HTTP-01 failed: {detail} (unauthorized)")
    );
}

/// `run` retries after a failure: the first attempt finds the challenge
/// unanswered, the next ones (after 200 ms, 400 ms...) find it answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_is_retried_after_back_off() {
    let ports = Ports::bind();
    let Some(pebble) = ports.pebble(None) else {
        return;
    };
    let (builder, events) = builder(&pebble, ChallengeKind::Http01);
    let acme = builder.name("retry.example.com").build().unwrap();
    let answers = Answers::default();
    let _server = serve_answering(&acme, ports, &answers);
    let renewals = tokio::spawn(acme.clone().run());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while events.count("certificate not obtained") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", events.all());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    answers.set(&acme);
    while events.count("certificate issued") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", events.all());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    renewals.abort();
    let all = events.all();
    let failed = all
        .iter()
        .find(|e| e.starts_with("certificate not obtained"))
        .unwrap();
    assert!(
        failed.contains("retry.example.com: HTTP-01 failed") && failed.contains("trying again in"),
        "{failed}"
    );
}

//! The client side, table-driven: schemes, percent-encoded Unix paths,
//! static entries, label-aware rewrites, overrides, the precedence order,
//! Docker's variables, errors; then real connections over TCP and Unix.

use std::net::SocketAddr;
use std::path::PathBuf;

use conduit::{Destination, DockerHost, Endpoint, Overrides, Resolver, Scheme};
use mimic::{keys, tcp, tls};

fn resolver() -> Resolver {
    Resolver::builder()
        .services_file(None)
        .static_host("docker", Destination::Unix("/var/run/docker.sock".into()))
        .static_host(
            "pinned.test",
            Destination::Addrs(vec!["127.0.0.9:9".parse().expect("addr")]),
        )
        .static_host(
            "moved.test",
            Destination::Host {
                host: "elsewhere.test".into(),
                port: Some(8080),
            },
        )
        .rewrite_domain(
            "example.com",
            Destination::Host {
                host: "10.0.0.1".into(),
                port: None,
            },
        )
        .rewrite_domain(
            "api.example.com",
            Destination::Host {
                host: "10.0.0.2".into(),
                port: Some(81),
            },
        )
        .rewrite_scheme("gopher", Destination::Unix("/run/gopher.sock".into()))
        .scheme("redis", Scheme::plain(6379))
        .build()
        .expect("resolver")
}

#[test]
fn uris_resolve_to_endpoints_in_the_documented_order() {
    let r = resolver();
    for (uri, endpoint) in [
        ("http://example.org/", "tcp://example.org:80"),
        ("http://example.org:8080/x", "tcp://example.org:8080"),
        ("https://example.org/", "tls://example.org:443"),
        ("ws://example.org/chat", "tcp://example.org:80"),
        ("wss://example.org/chat", "tls://example.org:443"),
        ("redis://cache.test", "tcp://cache.test:6379"),
        ("http://[::1]:8080/", "tcp://[::1]:8080"),
        ("unix:///run/app.sock", "unix:///run/app.sock"),
        (
            "http+unix://%2Fvar%2Frun%2Fdocker.sock/version",
            "unix:///var/run/docker.sock",
        ),
        ("http+unix://%2Ftmp%2Fa%20b.sock/", "unix:///tmp/a b.sock"),
        // Static entries.
        ("http://docker/version", "unix:///var/run/docker.sock"),
        ("http://moved.test/", "tcp://elsewhere.test:8080"),
        ("http://pinned.test/", "tcp://pinned.test:9"),
        ("https://docker/", "tls+unix:///var/run/docker.sock#docker"),
        // Label-aware rewrites; the longest domain wins.
        ("http://example.com/", "tcp://10.0.0.1:80"),
        ("http://www.example.com:8000/", "tcp://10.0.0.1:8000"),
        ("http://api.example.com/", "tcp://10.0.0.2:81"),
        ("http://v2.api.example.com/", "tcp://10.0.0.2:81"),
        ("http://badexample.com/", "tcp://badexample.com:80"),
        (
            "https://www.example.com/",
            "tls+tcp://10.0.0.1:443#www.example.com",
        ),
        // A scheme rule makes an otherwise unknown scheme usable.
        ("gopher://anything/", "unix:///run/gopher.sock"),
    ] {
        let resolution = r.resolve(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert_eq!(
            resolution.endpoint.to_string(),
            endpoint,
            "{uri}\n{resolution}"
        );
    }
}

#[test]
fn resolutions_set_the_keys_mimic_reads() {
    let r = resolver();
    let https = r.resolve("https://example.org:8443/").expect("resolves");
    assert_eq!(
        https.ctx.get(&keys::HOST).map(String::as_str),
        Some("example.org")
    );
    assert_eq!(https.ctx.get(&keys::PORT), Some(&8443));
    assert_eq!(
        https.ctx.get(&tls::SERVER_NAME).map(String::as_str),
        Some("example.org")
    );
    assert_eq!(
        https.ctx.get(&tls::ALPN),
        Some(&vec![b"h2".to_vec(), b"http/1.1".to_vec()])
    );
    let plain = r.resolve("http://example.org/").expect("resolves");
    assert_eq!(plain.ctx.get(&tls::SERVER_NAME), None);

    let pinned = r.resolve("https://pinned.test/").expect("resolves");
    let endpoint = pinned.ctx.get(&tcp::ENDPOINT).expect("pinned addresses");
    assert_eq!(
        endpoint.addrs(),
        &["127.0.0.9:9".parse::<SocketAddr>().expect("addr")]
    );
    assert_eq!(
        pinned.ctx.get(&tls::SERVER_NAME).map(String::as_str),
        Some("pinned.test")
    );
}

#[test]
fn overrides_come_first() {
    let r = resolver();
    let cases: Vec<(&str, Overrides, &str)> = vec![
        (
            "https://api.example.com/",
            Overrides::new().unix_socket("/tmp/override.sock"),
            "tls+unix:///tmp/override.sock#api.example.com",
        ),
        (
            "http://docker/",
            Overrides::new()
                .connect_to("docker:80:127.0.0.1:2375")
                .expect("rule"),
            "tcp://127.0.0.1:2375",
        ),
        (
            "https://www.example.com/",
            Overrides::new()
                .resolve("www.example.com:443:127.0.0.1")
                .expect("entry"),
            "tls://www.example.com:443",
        ),
        (
            "http://a.test:8080/",
            Overrides::new()
                .connect_to("a.test::b.test:")
                .expect("rule")
                .resolve("b.test:8080:::1")
                .expect("entry"),
            "tcp://b.test:8080",
        ),
    ];
    for (uri, overrides, endpoint) in cases {
        let resolution = r.resolve_with(uri, &overrides).expect(uri);
        assert_eq!(
            resolution.endpoint.to_string(),
            endpoint,
            "{uri}\n{resolution}"
        );
    }
    let pinned = r
        .resolve_with(
            "https://www.example.com/",
            &Overrides::new()
                .resolve("www.example.com:443:127.0.0.1")
                .expect("entry"),
        )
        .expect("resolves");
    assert_eq!(
        pinned.ctx.get(&tcp::ENDPOINT).map(|e| e.addrs().to_vec()),
        Some(vec!["127.0.0.1:443".parse().expect("addr")])
    );
    assert!(
        pinned
            .steps
            .iter()
            .any(|s| s.starts_with("override --resolve")),
        "{pinned}"
    );
}

#[test]
fn an_unknown_scheme_names_the_known_ones_when_none_is_close() {
    let err = resolver().resolve("ftp2://host/").expect_err("unknown");
    assert!(err.is_unknown_scheme() && !err.is_invalid_uri(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "unknown scheme `ftp2`; known schemes: gopher, http, https, redis, unix, ws, wss. \
         To add a scheme, give its port with `ResolverBuilder::scheme`, \
         or handle it with `ResolverBuilder::custom_scheme`"
    );
}

#[test]
fn an_unknown_scheme_gets_the_closest_known_ones() {
    let err = resolver().resolve("htps://host/").expect_err("unknown");
    assert!(err.is_unknown_scheme(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "unknown scheme `htps`; did you mean `https`? \
         To add a scheme, give its port with `ResolverBuilder::scheme`, \
         or handle it with `ResolverBuilder::custom_scheme`"
    );
    let err = resolver().resolve("gophr://host/").expect_err("unknown");
    assert!(err.to_string().contains("did you mean `gopher`?"), "{err}");
}

/// A services file adds hundreds of names: they are suggested when close,
/// and only counted otherwise.
#[test]
fn services_file_schemes_are_suggested_but_never_listed() {
    let path = std::env::temp_dir().join(format!("conduit-suggest-{}", std::process::id()));
    let lines: String = (0..200)
        .map(|n| format!("svc{n} {}/tcp\n", 1000 + n))
        .collect();
    std::fs::write(&path, format!("ftp 21/tcp\npostgres 5432/tcp\n{lines}")).expect("write");
    let r = Resolver::builder()
        .services_file(Some(path.clone()))
        .build()
        .expect("builds");
    std::fs::remove_file(&path).expect("remove");
    let near = r.resolve("ftp2://host/").expect_err("unknown").to_string();
    assert!(
        near.starts_with("unknown scheme `ftp2`; did you mean `ftp`? "),
        "{near}"
    );
    let near = r
        .resolve("postgresql://db/")
        .expect_err("unknown")
        .to_string();
    assert!(near.contains("did you mean `postgres`?"), "{near}");
    let far = r
        .resolve("zzzzzzzz://host/")
        .expect_err("unknown")
        .to_string();
    assert!(
        far.starts_with(
            "unknown scheme `zzzzzzzz`; known schemes: http, https, unix, ws, wss \
             and 202 from the services file. To add a scheme"
        ),
        "{far}"
    );
}

#[test]
fn services_files_add_schemes_without_replacing_builtins() {
    let path = std::env::temp_dir().join(format!("conduit-services-{}", std::process::id()));
    std::fs::write(&path, "ftp 21/tcp\nhttp 8080/tcp\nntp 123/udp\n").expect("write");
    let r = Resolver::builder()
        .services_file(Some(path.clone()))
        .build()
        .expect("resolver");
    assert_eq!(
        r.resolve("ftp://h/").expect("ftp").endpoint,
        Endpoint::tcp("h", 21)
    );
    assert_eq!(
        r.resolve("http://h/").expect("http").endpoint,
        Endpoint::tcp("h", 80)
    );
    assert!(r.resolve("ntp://h/").is_err());
    std::fs::remove_file(path).expect("cleanup");
}

#[test]
fn explanations_list_the_rules_that_matched() {
    let resolution = resolver()
        .resolve("https://v2.api.example.com/x")
        .expect("resolves");
    assert_eq!(
        resolution.to_string(),
        "https://v2.api.example.com/x\n  - scheme `https`: port 443, TLS offering ALPN h2, http/1.1\n  - rewrite for domain `api.example.com` -> tcp://10.0.0.2:81\n  => tls+tcp://10.0.0.2:81#v2.api.example.com"
    );
}

/// The scheme's step names the port connected to: the URI's, when it has one.
#[test]
fn the_scheme_step_names_the_uris_port() {
    let cases = [
        (
            "http://127.0.0.1:8000/",
            "scheme `http`: port 8000 from the URI (default 80)",
        ),
        ("http://127.0.0.1/", "scheme `http`: port 80"),
        (
            "https://h:8443/",
            "scheme `https`: port 8443 from the URI (default 443), TLS offering ALPN h2, http/1.1",
        ),
    ];
    for (uri, step) in cases {
        let resolution = resolver().resolve(uri).expect("resolves");
        assert_eq!(resolution.steps[0], step, "{resolution}");
    }
}

#[test]
fn docker_host_forms() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    for (env, endpoint, base) in [
        (
            &[][..],
            "unix:///var/run/docker.sock",
            "http+unix://%2Fvar%2Frun%2Fdocker.sock",
        ),
        (
            &[("DOCKER_HOST", "unix:///run/user/1000/podman.sock")][..],
            "unix:///run/user/1000/podman.sock",
            "http+unix://%2Frun%2Fuser%2F1000%2Fpodman.sock",
        ),
        (
            &[("DOCKER_HOST", "tcp://127.0.0.1")][..],
            "tcp://127.0.0.1:2375",
            "http://127.0.0.1:2375",
        ),
        (
            &[
                ("DOCKER_HOST", "tcp://docker.test:4243"),
                ("DOCKER_TLS_VERIFY", "0"),
            ][..],
            "tcp://docker.test:4243",
            "http://docker.test:4243",
        ),
    ] {
        let docker = DockerHost::from_vars(vars(env)).expect("valid environment");
        assert_eq!(docker.endpoint().to_string(), endpoint);
        assert_eq!(docker.base_uri(), base);
        assert!(docker.tls().is_none());
        // The base URI resolves back to the same endpoint.
        let back = resolver()
            .resolve(&format!("{base}/version"))
            .expect("resolves");
        assert_eq!(back.endpoint.to_string(), endpoint);
    }
    for (env, message) in [
        (
            &[("DOCKER_HOST", "ssh://host")][..],
            "cannot use the Docker environment: DOCKER_HOST `ssh://host`: expected unix:///path or tcp://host:port",
        ),
        (
            &[("DOCKER_HOST", "unix://relative.sock")][..],
            "cannot use the Docker environment: DOCKER_HOST `unix://relative.sock`: the socket path must be absolute",
        ),
        (
            &[("DOCKER_HOST", "tcp://[bad")][..],
            "cannot use the Docker environment: DOCKER_HOST `tcp://[bad`: bad host or port",
        ),
        (
            &[
                ("DOCKER_HOST", "tcp://h"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/nonexistent"),
            ][..],
            "cannot use the Docker environment: DOCKER_TLS_VERIFY is set and the TLS files in /nonexistent are unusable: \
             cannot read PEM from /nonexistent/ca.pem: I/O error: No such file or directory (os error 2)",
        ),
    ] {
        let err = DockerHost::from_vars(vars(env)).expect_err("invalid");
        assert!(err.is_docker(), "{err:?}");
        assert_eq!(format!("{err:#}"), message);
        assert!(message.starts_with(&err.to_string()), "{err}");
    }
}

#[test]
fn docker_tls_uses_the_cert_path() {
    let dir = std::env::temp_dir().join(format!("conduit-docker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ca = rcgen::generate_simple_self_signed(vec!["ca.test".to_string()]).expect("ca");
    let client =
        rcgen::generate_simple_self_signed(vec!["client.test".to_string()]).expect("client");
    std::fs::write(dir.join("ca.pem"), ca.cert.pem()).expect("ca.pem");
    std::fs::write(dir.join("cert.pem"), client.cert.pem()).expect("cert.pem");
    std::fs::write(dir.join("key.pem"), client.signing_key.serialize_pem()).expect("key.pem");
    let dir_text = dir.display().to_string();
    let docker = DockerHost::from_vars(|name| match name {
        "DOCKER_HOST" => Some("tcp://docker.test".into()),
        "DOCKER_TLS_VERIFY" => Some("1".into()),
        "DOCKER_CERT_PATH" => Some(dir_text.clone()),
        _ => None,
    })
    .expect("TLS environment");
    assert_eq!(docker.endpoint().to_string(), "tls://docker.test:2376");
    assert_eq!(docker.base_uri(), "https://docker.test:2376");
    assert!(docker.tls().is_some());
    let r = Resolver::builder()
        .services_file(None)
        .docker(&docker)
        .build()
        .expect("resolver");
    let resolution = r
        .resolve(&format!("{}/version", docker.base_uri()))
        .expect("resolves");
    assert_eq!(resolution.endpoint, *docker.endpoint());
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test]
async fn connects_over_tcp_and_unix_and_reports_failures() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { while listener.accept().await.is_ok() {} });
    let r = resolver();
    let flow = r
        .connect(&format!("http://127.0.0.1:{port}/"))
        .await
        .expect("tcp");
    assert_eq!(flow.info().protocol(), "tcp");

    let path: PathBuf = std::env::temp_dir().join(format!("conduit-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let unix = tokio::net::UnixListener::bind(&path).expect("bind unix");
    tokio::spawn(async move { while unix.accept().await.is_ok() {} });
    let encoded = path.display().to_string().replace('/', "%2F");
    let flow = r
        .connect(&format!("http+unix://{encoded}/version"))
        .await
        .expect("unix");
    assert_eq!(flow.info().protocol(), "unix");
    std::fs::remove_file(&path).expect("cleanup");

    let err = r
        .connect(&format!("http+unix://{encoded}/version"))
        .await
        .expect_err("gone");
    assert!(
        err.is_connect() && !err.is_timeout() && !err.is_tls(),
        "{err:?}"
    );
    let uri = format!("http+unix://{encoded}/version");
    assert_eq!(err.to_string(), format!("cannot connect to `{uri}`"));
    let report = err.report().expect("mimic's report");
    let text = format!("{err:#}");
    assert!(
        text.starts_with(&format!(
            "cannot connect to `{uri}`: could not connect: all 1 attempted candidates failed\n"
        )),
        "{text}"
    );
    assert!(
        text.ends_with(&report.to_string().trim_end().to_string()),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "unix (priority 10) unix:{}: unix failed",
            path.display()
        )),
        "{text}"
    );
    assert_eq!(
        text.matches("No such file or directory").count(),
        1,
        "{text}"
    );
}

#[tokio::test]
async fn explain_shows_rules_and_mimics_plan() {
    let explanation = resolver()
        .explain("http://pinned.test/")
        .await
        .expect("explains");
    let text = explanation.to_string();
    assert!(
        text.contains("static entry `pinned.test` -> 127.0.0.9:9"),
        "{text}"
    );
    assert!(text.contains("mimic would try:"), "{text}");
    assert!(
        text.contains("tcp (priority 20) 127.0.0.9:9: would be tried"),
        "{text}"
    );
}

#[tokio::test]
async fn the_resolver_installs_dns_over_its_base_unless_told_not_to() {
    // A base of mimic's built-ins alone knows IP literals only; the resolver
    // asks for DNS itself, so host names still resolve.
    let with_dns = Resolver::builder()
        .services_file(None)
        .base(mimic::Ctx::new().with_builtins())
        .build()
        .expect("resolver");
    let text = with_dns
        .explain("http://localhost:9/")
        .await
        .expect("explains")
        .to_string();
    assert!(text.contains("127.0.0.1:9: would be tried"), "{text}");

    let without = Resolver::builder()
        .services_file(None)
        .base(mimic::Ctx::new().with_builtins())
        .dns(None)
        .build()
        .expect("resolver");
    let text = without
        .explain("http://localhost:9/")
        .await
        .expect("explains")
        .to_string();
    assert!(
        text.contains("`localhost` is a name, not an IP address, and this context has no DNS"),
        "{text}"
    );
    let text = without
        .explain("http://127.0.0.1:9/")
        .await
        .expect("explains")
        .to_string();
    assert!(text.contains("127.0.0.1:9: would be tried"), "{text}");
}

//! One `paf-server` on clear-text TCP (IPv4, and dual-stack `[::]`), TLS
//! with a self-signed certificate and a Unix socket at once, reached by
//! curl over HTTP/1.1, HTTP/2 by ALPN, HTTP/2 with prior knowledge and
//! HTTP/2 by `Upgrade: h2c`.
#![allow(clippy::unwrap_used)]

mod support;

use support::{Server, TempDir, fetch, peer_tool};

#[test]
fn tcp_tls_and_unix_at_once() {
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let dir = TempDir::new("transports");
    dir.write("hello.txt", "hello over every transport\n");
    let socket = dir.path().join("paf.sock");
    let unix = format!("unix://{}", socket.display());
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::rename(dir.path().join("hello.txt"), root.join("hello.txt")).unwrap();

    let server = Server::start(&[
        "-l",
        "tcp://127.0.0.1:0",
        "-l",
        "tls://127.0.0.1:0",
        "-l",
        &unix,
        "-l",
        "tcp://[::]:0",
        "--self-signed",
        root.to_str().unwrap(),
    ]);
    let http = server.http();
    let https = server.url("https").trim_end_matches('/').to_string();
    let tls_port = https.rsplit(':').next().unwrap();
    let cert = server
        .cert
        .clone()
        .expect("the certificate file is printed");
    let cert = cert.to_str().unwrap();
    let socket = socket.to_str().unwrap();
    assert_eq!(server.url("unix"), format!("unix:{socket}"));
    let dual_port = server.urls[3]
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap();

    let cases: Vec<(&str, String, Vec<&str>, &str)> = vec![
        (
            "tcp h1",
            format!("{http}/hello.txt"),
            vec!["--http1.1"],
            "1.1",
        ),
        (
            "tcp h2 prior knowledge",
            format!("{http}/hello.txt"),
            vec!["--http2-prior-knowledge"],
            "2",
        ),
        (
            "tcp h2c upgrade",
            format!("{http}/hello.txt"),
            vec!["--http2"],
            "2",
        ),
        (
            "tls h1",
            format!("https://localhost:{tls_port}/hello.txt"),
            vec!["--http1.1", "--cacert", cert],
            "1.1",
        ),
        (
            "tls h2 by ALPN",
            format!("https://localhost:{tls_port}/hello.txt"),
            vec!["--http2", "--cacert", cert],
            "2",
        ),
        (
            "tls h2 to 127.0.0.1",
            format!("{https}/hello.txt"),
            vec!["--cacert", cert],
            "2",
        ),
        (
            "unix h1",
            "http://localhost/hello.txt".to_string(),
            vec!["--unix-socket", socket, "--http1.1"],
            "1.1",
        ),
        (
            "unix h2 prior knowledge",
            "http://localhost/hello.txt".to_string(),
            vec!["--unix-socket", socket, "--http2-prior-knowledge"],
            "2",
        ),
        (
            "dual-stack, IPv4 client",
            format!("http://127.0.0.1:{dual_port}/hello.txt"),
            vec![],
            "1.1",
        ),
    ];
    for (name, url, mut args, version) in cases {
        args.push(&url);
        let got = fetch(&curl, &args);
        assert_eq!(got.exit, 0, "{name}: curl failed");
        assert_eq!(got.status, 200, "{name}");
        assert_eq!(got.version, version, "{name}");
        assert_eq!(got.text(), "hello over every transport\n", "{name}");
    }
    // The IPv6 side of the dual-stack listener, where the host has IPv6.
    if std::net::TcpStream::connect(("::1", dual_port.parse::<u16>().unwrap())).is_ok() {
        let got = fetch(&curl, &[&format!("http://[::1]:{dual_port}/hello.txt")]);
        assert_eq!(got.status, 200);
    }

    let log = server.stderr_with("unix - - [");
    assert!(log.contains("\"GET /hello.txt HTTP/2\" 200 27 "), "{log}");
    assert!(log.contains("unix - - ["), "{log}");
}

//! What `paf-curl` tells on stderr: `-v`, `PAF_DEBUG=1`, `RUST_LOG`, the
//! `-k` warning.
#![allow(clippy::unwrap_used)]

mod curl_support;
mod support;

use curl_support::{Opts, paf_curl, paf_curl_with};
use support::{Server, TempDir};

fn site() -> (TempDir, Server) {
    let site = TempDir::new("curl-verbose");
    site.write("hello.txt", "hello\n");
    let server = Server::start(&[
        site.path().to_str().unwrap(),
        "-q",
        "--self-signed",
        "-l",
        "tcp://127.0.0.1:0",
        "-l",
        "tls://127.0.0.1:0",
    ]);
    (site, server)
}

/// `-v` shows the route, the connection, then the heads, in curl's order,
/// on stderr only.
#[test]
fn verbose_shows_route_connection_and_heads() {
    let (_site, server) = site();
    let url = format!("{}/hello.txt", server.http());
    let got = paf_curl(&["-v", &url]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(got.text(), "hello\n");
    let err = &got.stderr;
    let position = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{err}"))
    };
    let route = position("* Route of http://127.0.0.1:");
    // The route names the port connected to, not the scheme's default.
    let port = url.rsplit_once(':').and_then(|(_, p)| p.split('/').next());
    let port = port.expect("the server's URL has a port");
    position(&format!(
        "*   - scheme `http`: port {port} from the URI (default 80)\n"
    ));
    let trying = position("*   Trying tcp ");
    let connected = position("* Connected over tcp to ");
    let request = position("> GET /hello.txt HTTP/1.1\n");
    let host = position("> host: 127.0.0.1:");
    let response = position("< HTTP/1.1 200 OK\n");
    let length = position("< content-length: 6\n");
    assert!(route < trying && trying < connected && connected < request);
    assert!(request < host && host < response && response < length);
    assert!(err.contains("(peer 127.0.0.1:"), "{err}");
}

/// Over TLS, `-v` names the TLS version, the cipher, ALPN and the server's
/// certificate.
#[test]
fn verbose_shows_tls_and_the_certificate() {
    let (_site, server) = site();
    let cert = server.cert.clone().unwrap().display().to_string();
    let url = format!("{}hello.txt", server.url("https"));
    let got = paf_curl(&["-v", "--cacert", &cert, &url]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    let err = &got.stderr;
    for needle in [
        "* Connected over tls/tcp to ",
        "* TLS connection using TLSv1_3 / ",
        "ALPN: h2, server name: 127.0.0.1",
        "* Server certificate:\n",
        "*  subject: ",
        "*  subjectAltName: DNS:localhost",
        "IP:127.0.0.1",
        "*  SSL certificate verify ok.",
        "> GET /hello.txt HTTP/2\n",
        "< HTTP/2 200 \n",
    ] {
        assert!(err.contains(needle), "no {needle:?} in:\n{err}");
    }
}

/// A failed connection still shows the route and the request it would
/// have sent, then the error with mimic's report.
#[test]
fn verbose_shows_failures() {
    let url = format!("http://127.0.0.1:{}/x", curl_support::closed_port());
    let got = paf_curl(&["-v", &url]);
    assert_eq!(got.code, 7);
    let err = &got.stderr;
    assert!(err.contains("* Route of "), "{err}");
    assert!(err.contains("> GET /x HTTP/1.1"), "{err}");
    assert!(err.contains("paf-curl: (7) "), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
}

/// `PAF_DEBUG=1` makes the library print its own lines; `RUST_LOG` turns
/// on its log; neither changes stdout.
#[test]
fn paf_debug_and_rust_log_reach_stderr() {
    let (_site, server) = site();
    let url = format!("{}/hello.txt", server.http());
    let debug = Opts {
        env: vec![("PAF_DEBUG", "1")],
        ..Opts::default()
    };
    let got = paf_curl_with(&["-s", &url], &debug);
    assert_eq!(got.text(), "hello\n");
    for needle in [
        "paf client * connected over tcp",
        "paf client > GET ",
        "paf client < HTTP/1.1 200 OK",
    ] {
        assert!(
            got.stderr.contains(needle),
            "no {needle:?} in:\n{}",
            got.stderr
        );
    }
    // Each line once: the library's own print, not also the log.
    assert_eq!(
        got.stderr.matches("* connected over tcp").count(),
        1,
        "{}",
        got.stderr
    );

    let log = Opts {
        env: vec![("RUST_LOG", "paf=debug")],
        ..Opts::default()
    };
    let got = paf_curl_with(&[&url], &log);
    assert_eq!(got.text(), "hello\n");
    assert!(got.stderr.contains("DEBUG"), "{}", got.stderr);
    let quiet = paf_curl(&["-s", &url]);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

/// `-k` connects to a certificate that does not verify, and says so
/// once (not with `-s`).
#[test]
fn insecure_warns() {
    let (_site, server) = site();
    let url = format!("{}hello.txt", server.url("https"));
    let got = paf_curl(&["-k", &url]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(got.text(), "hello\n");
    assert_eq!(
        got.stderr.matches("not verified").count(),
        1,
        "{}",
        got.stderr
    );
    let got = paf_curl(&["-sk", &url]);
    assert_eq!((got.code, got.stderr.as_str()), (0, ""));
    let got = paf_curl(&["-skv", &url]);
    assert!(
        got.stderr
            .contains("SSL certificate verify result: not checked (--insecure)"),
        "{}",
        got.stderr
    );
}

//! Each exit status of `paf-curl`, provoked, and compared with curl's
//! when curl is installed.
#![allow(clippy::unwrap_used)]

mod curl_support;
mod support;

use std::path::Path;

use curl_support::{Opts, closed_port, curl, curl_with, paf_curl, scripted_server, silent_server};
use support::{Server, TempDir};

/// Runs `args` through paf-curl, and through curl when `with_curl`;
/// both must exit with `code`. Returns paf-curl's stderr.
fn exits(curl: Option<&Path>, args: &[&str], code: i32) -> String {
    let ours = paf_curl(args);
    assert_eq!(
        ours.code, code,
        "paf-curl {args:?}: exit status\nstderr:\n{}",
        ours.stderr
    );
    if let Some(curl) = curl {
        let theirs = curl_with(curl, args, &Opts::default());
        assert_eq!(
            theirs.code, code,
            "curl {args:?}: exit status\nstderr:\n{}",
            theirs.stderr
        );
    }
    ours.stderr
}

#[test]
fn bad_usage_is_2() {
    let curl = curl();
    let curl = curl.as_deref();
    exits(curl, &["--no-such-option", "http://127.0.0.1/"], 2);
    exits(curl, &[], 2);
    let err = exits(curl, &["-I", "-d", "x", "http://127.0.0.1/"], 2);
    assert!(err.contains("one HTTP request method"), "{err}");
    // curl would send the field as it is; paf-curl refuses what HTTP does not allow.
    let err = exits(None, &["-H", "Bad Name: x", "http://127.0.0.1/"], 2);
    assert!(err.contains("not a header field"), "{err}");
    let err = exits(None, &["-m", "soon", "http://127.0.0.1/"], 2);
    assert!(err.contains("seconds"), "{err}");
    // Durations that would overflow the clock are refused.
    for (option, value) in [
        ("-m", "1.8e19"),
        ("--connect-timeout", "1.8e19"),
        ("--max-time", "1e10"),
        ("--connect-timeout", "inf"),
        ("-m", "NaN"),
        ("--max-time=-1", ""),
    ] {
        let args: Vec<&str> = [option, value, "http://127.0.0.1/"]
            .into_iter()
            .filter(|arg| !arg.is_empty())
            .collect();
        let err = exits(None, &args, 2);
        assert!(err.contains("seconds"), "{args:?}: {err}");
    }
    assert_eq!(paf_curl(&["--help"]).code, 0);
    assert_eq!(paf_curl(&["--version"]).code, 0);
}

/// curl calls a --resolve entry it cannot read a syntax error of the
/// option (49), not bad usage.
#[test]
fn unreadable_resolve_and_connect_to_are_49() {
    let curl = curl();
    let err = exits(
        curl.as_deref(),
        &["-sS", "--resolve", "nonsense", "http://127.0.0.1/"],
        49,
    );
    assert!(err.contains("paf-curl: (49)"), "{err}");
    exits(
        None,
        &["-s", "--connect-to", "a:b", "http://127.0.0.1/"],
        49,
    );
}

#[test]
fn unresolvable_host_is_6() {
    let curl = curl();
    let err = exits(
        curl.as_deref(),
        &["-sS", "-m", "20", "http://paf-curl-test.invalid/"],
        6,
    );
    assert!(err.starts_with("paf-curl: (6) "), "{err}");
}

#[test]
fn refused_connection_is_7() {
    let curl = curl();
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let err = exits(curl.as_deref(), &["-sS", &url], 7);
    assert!(err.contains("Connection refused"), "{err}");
}

#[test]
fn fail_on_http_errors_is_22() {
    let curl = curl();
    let curl = curl.as_deref();
    let site = TempDir::new("curl-fail");
    site.write("ok.txt", "ok\n");
    let server = Server::start(&[
        site.path().to_str().unwrap(),
        "-q",
        "-l",
        "tcp://127.0.0.1:0",
    ]);
    let missing = format!("{}/missing", server.http());
    let err = exits(curl, &["-sSf", &missing], 22);
    assert!(
        err.contains("The requested URL returned error: 404"),
        "{err}"
    );
    let ours = paf_curl(&["-sf", &missing]);
    assert!(ours.stdout.is_empty() && ours.stderr.is_empty(), "{ours:?}");
    let ours = paf_curl(&["-s", "--fail-with-body", &missing]);
    assert_eq!(ours.code, 22);
    assert!(!ours.stdout.is_empty(), "--fail-with-body writes the body");
    exits(curl, &["-sf", &format!("{}/ok.txt", server.http())], 0);
}

#[test]
fn local_files_that_cannot_be_read_are_26() {
    let curl = curl();
    let dir = TempDir::new("curl-read");
    let missing = dir.path().join("missing").display().to_string();
    let url = format!("http://127.0.0.1:{}/", closed_port());
    // curl before 8.3 sends an empty body for -d @missing; later ones fail
    // with 26, as paf-curl does.
    let err = exits(None, &["-sS", "-d", &format!("@{missing}"), &url], 26);
    assert!(err.contains("missing"), "{err}");
    exits(
        None,
        &["-s", "--data-binary", &format!("@{missing}"), &url],
        26,
    );
    exits(curl.as_deref(), &["-s", "-T", &missing, &url], 26);
}

#[test]
fn unwritable_output_is_23() {
    let curl = curl();
    let curl = curl.as_deref();
    let site = TempDir::new("curl-write");
    site.write("f.txt", "data\n");
    let server = Server::start(&[
        site.path().to_str().unwrap(),
        "-q",
        "-l",
        "tcp://127.0.0.1:0",
    ]);
    let url = format!("{}/f.txt", server.http());
    exits(curl, &["-s", "-o", "/nonexistent-dir/x/y", &url], 23);
    exits(curl, &["-s", "-O", &format!("{}/", server.http())], 23);
}

#[test]
fn timeouts_are_28() {
    let curl = curl();
    let addr = silent_server();
    let url = format!("http://{addr}/");
    let started = std::time::Instant::now();
    let err = exits(curl.as_deref(), &["-sS", "-m", "0.5", &url], 28);
    assert!(started.elapsed().as_secs() < 10);
    assert!(err.starts_with("paf-curl: (28) "), "{err}");
}

/// A certificate that does not verify is curl's 60; another handshake
/// failure (TLS to a server that speaks clear text) is 35.
#[test]
fn tls_failures_are_60_and_35() {
    let curl = curl();
    let curl = curl.as_deref();
    let site = TempDir::new("curl-tls");
    site.write("f.txt", "secret\n");
    let server = Server::start(&[
        site.path().to_str().unwrap(),
        "-q",
        "--self-signed",
        "-l",
        "tls://127.0.0.1:0",
        "-l",
        "tcp://127.0.0.1:0",
    ]);
    let https = format!("{}f.txt", server.url("https"));
    let err = exits(curl, &["-sS", &https], 60);
    assert!(err.contains("certificate"), "{err}");
    let cert = server.cert.clone().unwrap().display().to_string();
    exits(curl, &["-s", "--cacert", &cert, &https], 0);
    exits(curl, &["-sk", &https], 0);
    let clear = server.http().replacen("http://", "https://", 1);
    exits(curl, &["-s", &format!("{clear}/f.txt")], 35);
    let err = exits(None, &["-s", "--cacert", "/nonexistent/ca.pem", &https], 77);
    assert!(err.is_empty(), "{err}");
}

#[test]
fn redirect_loops_are_47() {
    let curl = curl();
    let addr = scripted_server(
        Some(b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"),
        false,
    );
    let url = format!("http://{addr}/loop");
    let err = exits(curl.as_deref(), &["-sSL", "--max-redirs", "3", &url], 47);
    assert!(err.contains("redirects"), "{err}");
    exits(curl.as_deref(), &["-s", &url], 0);
}

/// A connection closed without an answer (52), a body cut short (18),
/// an unknown scheme (1), a malformed URL or redirect target (3).
#[test]
fn broken_servers_and_urls_have_curls_statuses() {
    let curl = curl();
    let curl = curl.as_deref();
    let nothing = scripted_server(None, true);
    exits(curl, &["-s", &format!("http://{nothing}/")], 52);
    let short = scripted_server(
        Some(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
        true,
    );
    exits(
        curl,
        &["-s", "-o", "/dev/null", &format!("http://{short}/")],
        18,
    );
    exits(curl, &["-s", "nosuchscheme://host/"], 1);
    exits(curl, &["-s", "http://bad host/"], 3);
    let bad_location = scripted_server(
        Some(b"HTTP/1.1 302 Found\r\nLocation: http://[bad/x\r\nContent-Length: 0\r\n\r\n"),
        false,
    );
    exits(curl, &["-sL", &format!("http://{bad_location}/")], 3);
}

/// -s hides the error message, -S brings it back; -w still writes.
#[test]
fn silent_and_show_error() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let quiet = paf_curl(&["-s", &url]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (7, ""));
    let shown = paf_curl(&["-sS", &url, "-w", "%{http_code} %{exitcode}"]);
    assert!(
        shown.stderr.starts_with("paf-curl: (7) "),
        "{}",
        shown.stderr
    );
    assert_eq!(shown.text(), "000 7");
    let loud = paf_curl(&[&url]);
    assert!(loud.stderr.starts_with("paf-curl: (7) "), "{}", loud.stderr);
}

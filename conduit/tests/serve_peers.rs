//! Real peers against a server with TCP, TLS and Unix listeners:
//! `openssl s_client`, `curl` and `socat`.
//!
//! A missing tool skips its test with a loud message, or fails it when
//! `PAF_REQUIRE_PEERS=1`.
#![cfg(unix)]

mod support;

use std::path::PathBuf;

use conduit::listener::{TcpListener, TlsAcceptor, TlsListener, UnixListener};
use conduit::serve::{Drain, Server};
use mimic::Flow;
use mimic::flow::Addr;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use support::{Ca, PROMPT, TempDir, peer_tool, run_tool};

/// Describes the connection: its protocols, ALPN and SNI.
fn describe(flow: &Flow) -> String {
    let info = flow.info();
    let protocols: Vec<_> = info.protocols().collect();
    let tls = info.tls();
    let alpn = tls
        .and_then(|t| t.alpn.as_deref())
        .map_or("-".to_string(), |a| String::from_utf8_lossy(a).into_owned());
    let sni = tls.and_then(|t| t.server_name.as_deref()).unwrap_or("-");
    format!("protocols={} alpn={alpn} sni={sni}", protocols.join(","))
}

/// Answers an HTTP GET with a description of the connection, and any
/// other line with `echo: <line> <description>`.
async fn handler(flow: Flow, _drain: Drain) {
    let description = describe(&flow);
    let mut reader = BufReader::new(flow);
    let mut line = String::new();
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    let reply = if line.starts_with("GET ") {
        // Skip the rest of the request head.
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header).await {
                Ok(0) | Err(_) => return,
                Ok(_) if header == "\r\n" || header == "\n" => break,
                Ok(_) => {}
            }
        }
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{description}",
            description.len()
        )
    } else {
        format!("echo: {} {description}\n", line.trim_end())
    };
    let flow = reader.get_mut();
    if flow.write_all(reply.as_bytes()).await.is_ok() {
        let _ = flow.shutdown().await;
    }
}

struct Fixture {
    server: Server,
    tcp: std::net::SocketAddr,
    tls: std::net::SocketAddr,
    unix: PathBuf,
    ca_file: PathBuf,
    a_cert: String,
    _dir: TempDir,
}

fn start() -> Fixture {
    let dir = TempDir::new("peers");
    let ca = Ca::new("Peers CA");
    let default = ca.server(&["default.test"]);
    let a = ca.server(&["a.test"]);
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).expect("write CA");
    let acceptor = TlsAcceptor::builder()
        .identity(default.identity())
        .sni_identity("a.test", a.identity())
        .alpn(["h2", "http/1.1"])
        .build()
        .expect("acceptor");
    let unix = dir.join("s.sock");
    let server = Server::builder()
        .listener(TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind TCP"))
        .listener(TlsListener::new(
            TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind TLS"),
            acceptor,
        ))
        .listener(
            UnixListener::builder(&unix)
                .mode(0o600)
                .bind()
                .expect("bind Unix"),
        )
        .serve(handler);
    let inet = |addr: &Addr| match addr {
        Addr::Inet(addr) => *addr,
        other => panic!("not an IP address: {other}"),
    };
    let (tcp, tls) = (
        inet(&server.local_addrs()[0]),
        inet(&server.local_addrs()[1]),
    );
    Fixture {
        server,
        tcp,
        tls,
        unix,
        ca_file,
        a_cert: a.cert_pem,
        _dir: dir,
    }
}

#[tokio::test]
async fn openssl_s_client() {
    let Some(openssl) = peer_tool("openssl") else {
        return;
    };
    let fixture = start();
    let connect = fixture.tls.to_string();
    let ca = fixture.ca_file.to_str().expect("UTF-8 path");
    struct Case {
        args: &'static [&'static str],
        expect: &'static [&'static str],
    }
    let cases = [
        Case {
            args: &["-servername", "a.test", "-alpn", "http/1.1,h2"],
            expect: &[
                "ALPN protocol: h2",
                "CN = a.test",
                "Verify return code: 0 (ok)",
                "echo: hello protocols=tls,tcp alpn=h2 sni=a.test",
            ],
        },
        Case {
            args: &["-servername", "other.test", "-alpn", "http/1.1"],
            expect: &[
                "ALPN protocol: http/1.1",
                "CN = default.test",
                "echo: hello protocols=tls,tcp alpn=http/1.1 sni=other.test",
            ],
        },
        Case {
            args: &["-noservername"],
            expect: &[
                "No ALPN negotiated",
                "CN = default.test",
                "echo: hello protocols=tls,tcp alpn=- sni=-",
            ],
        },
    ];
    for case in cases {
        let mut args = vec!["s_client", "-connect", &connect, "-CAfile", ca, "-ign_eof"];
        args.extend_from_slice(case.args);
        let output = run_tool(&openssl, &args, b"hello\n").await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        for expected in case.expect {
            assert!(
                stdout.contains(expected),
                "openssl {args:?}: expected `{expected}` in:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    // The certificate openssl saw for a.test is the one configured for it.
    let output = run_tool(
        &openssl,
        &[
            "s_client",
            "-connect",
            &connect,
            "-servername",
            "a.test",
            "-ign_eof",
        ],
        b"hello\n",
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let pem_body =
        |pem: &str| -> String { pem.lines().filter(|l| !l.starts_with("-----")).collect() };
    let shown = stdout
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END CERTIFICATE-----").next())
        .expect("s_client prints the server certificate");
    assert_eq!(pem_body(shown), pem_body(&fixture.a_cert));
    assert_eq!(fixture.server.shutdown(PROMPT).await.aborted, 0);
}

#[tokio::test]
async fn curl_over_tcp_tls_and_unix() {
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let fixture = start();
    let tcp_url = format!("http://{}/", fixture.tcp);
    let tls_url = format!("https://a.test:{}/", fixture.tls.port());
    let resolve = format!("a.test:{}:127.0.0.1", fixture.tls.port());
    let ca = fixture.ca_file.to_str().expect("UTF-8 path");
    let unix = fixture.unix.to_str().expect("UTF-8 path");
    let cases: [(&str, Vec<&str>, &str); 3] = [
        ("TCP", vec![&tcp_url], "protocols=tcp alpn=- sni=-"),
        (
            "TLS",
            vec!["--http1.1", "--cacert", ca, "--resolve", &resolve, &tls_url],
            "protocols=tls,tcp alpn=http/1.1 sni=a.test",
        ),
        (
            "Unix",
            vec!["--unix-socket", unix, "http://localhost/"],
            "protocols=unix alpn=- sni=-",
        ),
    ];
    for (name, extra, expected) in cases {
        let mut args = vec!["-sS", "--max-time", "10"];
        args.extend(extra);
        let output = run_tool(&curl, &args, b"").await;
        assert!(
            output.status.success(),
            "curl {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected,
            "curl {name}"
        );
    }
    assert_eq!(fixture.server.shutdown(PROMPT).await.aborted, 0);
}

#[tokio::test]
async fn socat_over_tcp_and_unix() {
    let Some(socat) = peer_tool("socat") else {
        return;
    };
    let fixture = start();
    let tcp = format!("TCP:{}", fixture.tcp);
    let unix = format!("UNIX-CONNECT:{}", fixture.unix.display());
    let cases = [
        (&tcp, "echo: hello protocols=tcp alpn=- sni=-\n"),
        (&unix, "echo: hello protocols=unix alpn=- sni=-\n"),
    ];
    for (address, expected) in cases {
        let output = run_tool(&socat, &["-", address], b"hello\n").await;
        assert!(
            output.status.success(),
            "socat {address}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected,
            "socat {address}"
        );
    }
    assert_eq!(fixture.server.shutdown(PROMPT).await.aborted, 0);
}

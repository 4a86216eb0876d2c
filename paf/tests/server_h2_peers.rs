//! The HTTP/2 server, through [`Auto`], against real peers: openssl
//! s_client and curl for the ALPN choice over TLS, curl for HTTP/2 over
//! TLS, with prior knowledge and by `Upgrade: h2c`, nghttp for a whole
//! exchange frame by frame, and h2load for load.
//!
//! Every test skips loudly when its tool is not installed (and fails when
//! `PAF_REQUIRE_PEERS=1`).
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use conduit::listener::TcpListener;
use conduit::serve::Server;
use http::{Request, Response};
use paf::Body;
use paf::server::{Auto, Connected, Http2, Serve};
use support::peer_tool;
use support::tls::{SelfSigned, resolve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// How long one run of a tool may take before the test fails.
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long h2load's 100 000 requests may take before the test fails.
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// The grace given to the server's shutdown at the end of a test.
const GRACE: Duration = Duration::from_secs(5);

/// Answers with what the server saw of the request:
/// `<version> alpn=<protocol> <method> <path> [<body>]`, where the protocol
/// is `clear` without TLS and `none` when TLS negotiated none.
async fn whoami(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let alpn = match req.extensions().get::<Connected>().map(Connected::tls) {
        None => "no-connected".to_owned(),
        Some(None) => "clear".to_owned(),
        Some(Some(tls)) => tls.alpn.as_deref().map_or_else(
            || "none".to_owned(),
            |alpn| String::from_utf8_lossy(alpn).into_owned(),
        ),
    };
    let head = format!(
        "{:?} alpn={alpn} {} {}",
        req.version(),
        req.method(),
        req.uri().path()
    );
    let text = match req.into_body().text().await {
        Ok(body) => format!("{head} [{body}]"),
        Err(err) => format!("{head} failed: {err}"),
    };
    Ok(paf::respond::text(text))
}

/// Serves `whoami` with `auto` on a clear-text loopback port.
fn serve_clear(auto: &Auto) -> (Server, SocketAddr) {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = tcp.local_socket_addr();
    let server = Server::builder()
        .listener(tcp)
        .serve(auto.handler(paf::service_fn(whoami)));
    (server, addr)
}

/// Serves `whoami` with `auto` over TLS with `cert` on a loopback port,
/// advertising the ALPN protocols `auto` asks for; returns the port.
fn serve_tls(auto: &Auto, cert: &SelfSigned) -> (Server, u16) {
    let (listener, port) = cert.listener(auto.alpn_protocols());
    let server = Server::builder()
        .listener(listener)
        .serve(auto.handler(paf::service_fn(whoami)));
    (server, port)
}

/// Shuts `server` down gracefully; asserts no connection had to be
/// aborted.
async fn shut_down(server: Server) {
    let report = server.shutdown(GRACE).await;
    assert_eq!(report.aborted, 0, "connections were aborted: {report:?}");
}

/// `curl -sS`, killed if the test gives up on it.
fn curl(tool: &Path) -> Command {
    let mut cmd = Command::new(tool);
    cmd.arg("-sS").stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// `curl -sS` for `https://localhost:port`, trusting `cert`.
fn curl_tls(tool: &Path, port: u16, cert: &SelfSigned) -> Command {
    let mut cmd = curl(tool);
    cmd.args(["--resolve", &resolve(port), "--cacert"])
        .arg(cert.cert_path());
    cmd
}

/// Runs `cmd` to completion, failing the test after `limit`.
async fn run(cmd: &mut Command, limit: Duration) -> Output {
    tokio::time::timeout(limit, cmd.output())
        .await
        .expect("the tool did not finish in time")
        .expect("the tool could not be started")
}

/// Asserts the tool succeeded; returns its stdout.
fn success(out: &Output) -> String {
    assert!(
        out.status.success(),
        "the tool failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The client preface, an empty SETTINGS frame, and a HEADERS frame
/// opening stream 1 with `GET https://localhost/` (ending the stream):
/// the least an HTTP/2 client sends for a response.
fn raw_h2_get() -> Vec<u8> {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    // SETTINGS: length 0, type 4, no flags, stream 0.
    bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    // HPACK: `:method: GET`, `:scheme: https`, `:path: /` from the static
    // table (indices 2, 7 and 4), then `:authority` (name index 1) with a
    // literal value.
    let mut block = vec![0x82, 0x87, 0x84, 0x41, 9];
    block.extend_from_slice(b"localhost");
    // HEADERS: type 1, flags END_STREAM | END_HEADERS, stream 1.
    let len = u8::try_from(block.len()).unwrap();
    bytes.extend_from_slice(&[0, 0, len, 1, 0x05, 0, 0, 0, 1]);
    bytes.extend_from_slice(&block);
    bytes
}

/// Runs `openssl s_client` against `port` offering `alpn` (none when
/// `None`), writes `request` once connected, and reads its output until
/// `marker` shows up; then ends its input, which ends the session. Returns
/// all it printed (the session summary, then the server's bytes as they
/// came).
async fn s_client(
    tool: &Path,
    port: u16,
    cert: &SelfSigned,
    alpn: Option<&str>,
    request: &[u8],
    marker: &str,
) -> String {
    let mut cmd = Command::new(tool);
    cmd.arg("s_client")
        .args(["-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost", "-verify_return_error"])
        .arg("-nocommands")
        .arg("-CAfile")
        .arg(cert.cert_path());
    if let Some(alpn) = alpn {
        cmd.args(["-alpn", alpn]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Written before the handshake ends: s_client sends it once connected.
    stdin.write_all(request).await.unwrap();
    stdin.flush().await.unwrap();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(TOOL_TIMEOUT, async {
        let mut buf = [0; 16 * 1024];
        loop {
            let n = stdout.read(&mut buf).await.unwrap();
            if n == 0 {
                return false;
            }
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains(marker) {
                return true;
            }
        }
    })
    .await;
    let found = found.is_ok_and(|found| found);
    // Without `-ign_eof`, the end of its input ends the session.
    drop(stdin);
    let rest = tokio::time::timeout(TOOL_TIMEOUT, async {
        stdout.read_to_end(&mut seen).await.unwrap();
        child.wait_with_output().await.unwrap()
    })
    .await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        found,
        "no {marker:?} from openssl s_client; it printed:\n{text}"
    );
    let out = rest.unwrap_or_else(|_| panic!("openssl s_client did not end; it printed:\n{text}"));
    assert!(
        out.status.success(),
        "openssl s_client failed ({}): {}\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// What s_client tells of the ALPN outcome: the protocol, or `None` for
/// its `No ALPN negotiated`.
fn negotiated(transcript: &str) -> Option<&str> {
    if transcript.contains("No ALPN negotiated") {
        return None;
    }
    let protocol = transcript
        .lines()
        .find_map(|line| line.strip_prefix("ALPN protocol: "))
        .unwrap_or_else(|| panic!("no ALPN outcome in s_client's output:\n{transcript}"));
    Some(protocol.trim())
}

/// Over TLS, ALPN alone chooses the protocol, and the server then speaks
/// it: openssl s_client offering `h2` or `h2,http/1.1` negotiates `h2` and
/// gets a response to raw HTTP/2 frames; offering `http/1.1` or nothing
/// gets an HTTP/1.1 response to an HTTP/1.1 request.
#[tokio::test]
async fn alpn_decides_the_protocol_for_openssl_s_client() {
    let Some(openssl) = peer_tool("openssl") else {
        return;
    };
    let cert = SelfSigned::localhost();
    let (server, port) = serve_tls(&Auto::new(), &cert);
    let h1_get = b"GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n".to_vec();
    let cases = [
        (
            Some("h2"),
            Some("h2"),
            raw_h2_get(),
            "HTTP/2.0 alpn=h2 GET / []",
        ),
        (
            Some("h2,http/1.1"),
            Some("h2"),
            raw_h2_get(),
            "HTTP/2.0 alpn=h2 GET / []",
        ),
        (
            Some("http/1.1"),
            Some("http/1.1"),
            h1_get.clone(),
            "HTTP/1.1 alpn=http/1.1 GET / []",
        ),
        (None, None, h1_get, "HTTP/1.1 alpn=none GET / []"),
    ];
    for (offer, chosen, request, body) in cases {
        let transcript = s_client(&openssl, port, &cert, offer, &request, body).await;
        assert_eq!(negotiated(&transcript), chosen, "offering {offer:?}");
        // The HTTP/1.1 status line is text; HTTP/2 sends its status in
        // HPACK, so none shows.
        let h1_status = transcript.contains("HTTP/1.1 200 OK\r\n");
        assert_eq!(
            h1_status,
            chosen != Some("h2"),
            "offering {offer:?}:\n{transcript}"
        );
    }
    shut_down(server).await;
}

/// Over TLS, what curl offers decides the protocol: `--http2` (offering
/// `h2,http/1.1`) gets HTTP/2, `--http1.1` (offering `http/1.1`) and
/// `--no-alpn` (offering nothing) get HTTP/1.1; the handler sees the same
/// version and ALPN as curl.
#[tokio::test]
async fn alpn_decides_the_protocol_for_curl() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let cert = SelfSigned::localhost();
    let (server, port) = serve_tls(&Auto::new(), &cert);
    let cases = [
        (&["--http2"][..], "2", "HTTP/2.0 alpn=h2 GET /alpn []"),
        (&["--http1.1"], "1.1", "HTTP/1.1 alpn=http/1.1 GET /alpn []"),
        (&["--no-alpn"], "1.1", "HTTP/1.1 alpn=none GET /alpn []"),
        (
            &["--http2", "--no-alpn"],
            "1.1",
            "HTTP/1.1 alpn=none GET /alpn []",
        ),
    ];
    for (flags, version, body) in cases {
        let out = run(
            curl_tls(&tool, port, &cert)
                .args(flags)
                .args(["-w", "\n%{http_version}"])
                .arg(format!("https://localhost:{port}/alpn")),
            TOOL_TIMEOUT,
        )
        .await;
        assert_eq!(success(&out), format!("{body}\n{version}"), "{flags:?}");
    }
    shut_down(server).await;
}

/// `curl --http2` over TLS speaks HTTP/2, and a second request (with a
/// body) goes on the same connection.
#[tokio::test]
async fn curl_http2_over_tls_gets_http2() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let cert = SelfSigned::localhost();
    let (server, port) = serve_tls(&Auto::new(), &cert);
    let out = run(
        curl_tls(&tool, port, &cert)
            .args(["--http2", "-w", " %{http_version} %{num_connects}\n"])
            .arg(format!("https://localhost:{port}/one"))
            .args(["--next", "--resolve", &resolve(port), "--cacert"])
            .arg(cert.cert_path())
            .args(["--http2", "--data-binary", "second body"])
            .args(["-w", " %{http_version} %{num_connects}\n"])
            .arg(format!("https://localhost:{port}/two")),
        TOOL_TIMEOUT,
    )
    .await;
    assert_eq!(
        success(&out),
        "HTTP/2.0 alpn=h2 GET /one [] 2 1\n\
         HTTP/2.0 alpn=h2 POST /two [second body] 2 0\n"
    );
    shut_down(server).await;
}

/// `curl --http2-prior-knowledge` over clear text speaks HTTP/2 from its
/// first byte, no upgrade asked or answered, with and without a body.
#[tokio::test]
async fn curl_with_prior_knowledge_gets_http2() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let (server, addr) = serve_clear(&Auto::new());
    let out = run(
        curl(&tool)
            .args(["--http2-prior-knowledge", "-v"])
            .args(["-w", " %{http_version}\n"])
            .arg(format!("http://{addr}/pk")),
        TOOL_TIMEOUT,
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        success(&out),
        "HTTP/2.0 alpn=clear GET /pk [] 2\n",
        "{stderr}"
    );
    assert!(
        !stderr.to_ascii_lowercase().contains("upgrade"),
        "an upgrade was asked or answered:\n{stderr}"
    );

    let out = run(
        curl(&tool)
            .args(["--http2-prior-knowledge", "--data-binary", "hello"])
            .args(["-w", " %{http_version}\n"])
            .arg(format!("http://{addr}/pk")),
        TOOL_TIMEOUT,
    )
    .await;
    assert_eq!(success(&out), "HTTP/2.0 alpn=clear POST /pk [hello] 2\n");
    shut_down(server).await;
}

/// `curl --http2` over clear text asks `Upgrade: h2c`: a bodiless request
/// is answered `101 Switching Protocols` and then on HTTP/2, which the
/// connection keeps speaking for the next request; a request with a body
/// is answered on HTTP/1.1, its body intact.
#[tokio::test]
async fn curl_h2c_upgrade_switches_bodiless_requests_only() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let (server, addr) = serve_clear(&Auto::new());
    let out = run(
        curl(&tool)
            .args(["--http2", "-v"])
            .args(["-w", " %{http_version} %{num_connects}\n"])
            .args([format!("http://{addr}/up"), format!("http://{addr}/again")]),
        TOOL_TIMEOUT,
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        success(&out),
        "HTTP/2.0 alpn=clear GET /up [] 2 1\n\
         HTTP/2.0 alpn=clear GET /again [] 2 0\n",
        "{stderr}"
    );
    assert!(stderr.contains("> Upgrade: h2c"), "{stderr}");
    assert!(
        stderr.contains("< HTTP/1.1 101 Switching Protocols"),
        "{stderr}"
    );
    assert_eq!(stderr.matches(" 101 ").count(), 1, "{stderr}");

    let out = run(
        curl(&tool)
            .args(["--http2", "-v", "--data-binary", "hello body"])
            .args(["-w", " %{http_version}\n"])
            .arg(format!("http://{addr}/post")),
        TOOL_TIMEOUT,
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        success(&out),
        "HTTP/1.1 alpn=clear POST /post [hello body] 1.1\n",
        "{stderr}"
    );
    assert!(stderr.contains("> Upgrade: h2c"), "{stderr}");
    assert!(!stderr.contains(" 101 "), "{stderr}");
    shut_down(server).await;
}

/// The detail lines (`last_stream_id=..., error_code=...`) of the GOAWAY
/// frames nghttp logged as `direction` (`send` or `recv`).
fn goaways<'a>(log: &'a str, direction: &str) -> Vec<&'a str> {
    let start = format!("{direction} GOAWAY frame");
    let lines: Vec<&str> = log.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.contains(&start))
        .map(|(i, _)| lines.get(i + 1).map_or("", |line| line.trim()))
        .collect()
}

/// Runs `nghttp -nv` on `url` and checks the exchange frame by frame: a
/// `200` whose `content-length` and single END_STREAM DATA frame carry
/// `body`, no reset stream, and an end by nghttp's GOAWAY with NO_ERROR
/// (any GOAWAY from the server NO_ERROR too); then plain `nghttp` on `url`
/// gets exactly `body`. Returns the frame log.
async fn nghttp_exchange(tool: &Path, url: &str, body: &str) -> String {
    let log = success(
        &run(
            Command::new(tool)
                .args(["-nv", url])
                .stdin(Stdio::null())
                .kill_on_drop(true),
            TOOL_TIMEOUT,
        )
        .await,
    );
    assert!(log.contains(") :status: 200\n"), "{log}");
    let len = body.len();
    assert!(log.contains(&format!(") content-length: {len}\n")), "{log}");
    assert!(
        log.contains(&format!("recv DATA frame <length={len}, flags=0x01,")),
        "no single END_STREAM DATA frame of {len} bytes:\n{log}"
    );
    assert!(!log.contains("RST_STREAM"), "{log}");
    let sent = goaways(&log, "send");
    assert_eq!(sent.len(), 1, "{log}");
    assert!(sent[0].contains("error_code=NO_ERROR(0x00)"), "{log}");
    for received in goaways(&log, "recv") {
        assert!(received.contains("error_code=NO_ERROR(0x00)"), "{log}");
    }

    let got = success(
        &run(
            Command::new(tool)
                .arg(url)
                .stdin(Stdio::null())
                .kill_on_drop(true),
            TOOL_TIMEOUT,
        )
        .await,
    );
    assert_eq!(got, body);
    log
}

/// nghttp completes an exchange over clear text (prior knowledge), by
/// `Upgrade: h2c` (`-u`), and over TLS (ALPN `h2`; nghttp does not check
/// the certificate), with the expected response and a clean end.
#[tokio::test]
async fn nghttp_exchanges_end_cleanly() {
    let Some(tool) = peer_tool("nghttp") else {
        return;
    };
    let auto = Auto::new();
    let (clear, addr) = serve_clear(&auto);
    let url = format!("http://{addr}/nghttp");
    nghttp_exchange(&tool, &url, "HTTP/2.0 alpn=clear GET /nghttp []").await;

    let log = success(
        &run(
            Command::new(&tool)
                .args(["-nvu", &url])
                .stdin(Stdio::null())
                .kill_on_drop(true),
            TOOL_TIMEOUT,
        )
        .await,
    );
    assert!(log.contains("HTTP Upgrade response"), "{log}");
    assert!(log.contains("HTTP Upgrade success"), "{log}");
    assert!(!log.contains("RST_STREAM"), "{log}");
    let sent = goaways(&log, "send");
    assert!(
        sent.len() == 1 && sent[0].contains("error_code=NO_ERROR(0x00)"),
        "{log}"
    );
    shut_down(clear).await;

    let cert = SelfSigned::localhost();
    let (tls, port) = serve_tls(&auto, &cert);
    let url = format!("https://127.0.0.1:{port}/nghttp");
    let log = nghttp_exchange(&tool, &url, "HTTP/2.0 alpn=h2 GET /nghttp []").await;
    assert!(log.contains("The negotiated protocol: h2"), "{log}");
    shut_down(tls).await;
}

/// The count called `what` in h2load's `requests:` line.
fn h2load_count(report: &str, what: &str) -> u64 {
    let line = report
        .lines()
        .find(|line| line.starts_with("requests:"))
        .unwrap_or_else(|| panic!("no requests line in h2load's report:\n{report}"));
    line.trim_start_matches("requests:")
        .split(',')
        .find_map(|part| {
            let (n, name) = part.trim().split_once(' ')?;
            (name == what).then(|| n.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no `{what}` count in {line:?}"))
}

/// h2load's 100 000 requests on 10 connections, 100 streams at a time on
/// each (as many as the server allows), all succeed with a 2xx; the
/// server then shuts down gracefully.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2load_sees_every_request_succeed() {
    let Some(h2load) = peer_tool("h2load") else {
        return;
    };
    let auto = Auto::new().http2(Http2::new().max_concurrent_streams(100));
    let (server, addr) = serve_clear(&auto);
    let out = run(
        Command::new(&h2load)
            .args(["-n", "100000", "-c", "10", "-m", "100"])
            .arg(format!("http://{addr}/"))
            .stdin(Stdio::null())
            .kill_on_drop(true),
        LOAD_TIMEOUT,
    )
    .await;
    let report = success(&out);
    assert_eq!(h2load_count(&report, "total"), 100_000, "{report}");
    assert_eq!(h2load_count(&report, "succeeded"), 100_000, "{report}");
    assert_eq!(h2load_count(&report, "failed"), 0, "{report}");
    assert_eq!(h2load_count(&report, "errored"), 0, "{report}");
    assert_eq!(h2load_count(&report, "timeout"), 0, "{report}");
    let status_line = report
        .lines()
        .find(|line| line.starts_with("status codes:"))
        .unwrap_or_else(|| panic!("no status codes line:\n{report}"));
    assert!(
        status_line.contains("100000 2xx, 0 3xx, 0 4xx, 0 5xx"),
        "{status_line}"
    );
    shut_down(server).await;
}

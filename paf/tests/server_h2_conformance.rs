//! HTTP/2 conformance against suites this project did not write: h2spec
//! 2.6.0 `--strict` on the `Auto` server over TLS and clear text and on an
//! HTTP/2-only server, five runs each; and curl uploads answered before
//! they are read.

mod support;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use conduit::listener::TcpListener;
use conduit::serve::Server;
use http::{Request, Response, StatusCode};
use paf::Body;
use paf::server::{Auto, Http2, Serve};
use support::TempDir;
use support::tls::{SelfSigned, resolve};
use tokio::process::Command;

/// Runs of each configuration: the suite's cases race the server's tasks,
/// so one clean run proves little.
const RUNS: usize = 5;

/// Answers at once, without reading the request body: the early answer
/// whose stream must still be watched.
async fn early(_req: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Body::full("hello")))
}

/// Refuses every upload without reading it.
async fn unsupported(_req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let mut res = Response::new(Body::full("unsupported media type\n"));
    *res.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    Ok(res)
}

/// h2spec: `H2SPEC`, the workspace's `../shared/tools/h2spec`, or `PATH`;
/// a loud skip without it (a failure under `PAF_REQUIRE_PEERS=1`).
fn h2spec() -> Option<PathBuf> {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/tools/h2spec");
    let candidates = [std::env::var_os("H2SPEC").map(PathBuf::from), Some(shared)];
    match candidates.into_iter().flatten().find(|path| path.is_file()) {
        Some(path) => Some(path),
        None => support::peer_tool("h2spec"),
    }
}

/// The cases that failed or errored in an h2spec JUnit report, as
/// `package: name`.
fn failures(junit: &str) -> BTreeSet<String> {
    let mut failed = BTreeSet::new();
    for case in junit.split("<testcase ").skip(1) {
        let body = case.split("</testcase>").next().unwrap_or_default();
        if !(body.contains("<failure") || body.contains("<error")) {
            continue;
        }
        let attr = |name: &str| {
            let start = format!("{name}=\"");
            body.split(&start)
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or("?")
                .to_owned()
        };
        failed.insert(format!("{}: {}", attr("package"), attr("classname")));
    }
    failed
}

/// Runs h2spec `--strict` once against `port`; the failed cases.
async fn run_h2spec(tool: &PathBuf, port: u16, tls: bool) -> BTreeSet<String> {
    let dir = TempDir::new("h2spec");
    let report = dir.join("report.xml");
    let mut cmd = Command::new(tool);
    cmd.args([
        "--strict",
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-o",
        "5",
    ])
    .arg("-j")
    .arg(&report)
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .kill_on_drop(true);
    if tls {
        cmd.args(["-t", "-k"]);
    }
    let status = tokio::time::timeout(Duration::from_secs(120), cmd.status())
        .await
        .expect("h2spec finishes within two minutes")
        .expect("h2spec runs");
    let junit = std::fs::read_to_string(&report).expect("h2spec writes its report");
    let failed = failures(&junit);
    assert_eq!(
        status.success(),
        failed.is_empty(),
        "h2spec's exit status and report disagree: {failed:?}"
    );
    assert!(junit.matches("<testcase ").count() >= 140, "{junit}");
    failed
}

/// Serves `handler` with `serve` on a clear-text loopback port.
fn clear_text<S: Serve>(serve: S) -> (Server, u16) {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().expect("an address")).expect("a port");
    let port = tcp.local_socket_addr().port();
    let server = Server::builder()
        .listener(tcp)
        .serve(serve.handler(paf::service_fn(early)));
    (server, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2spec_strict_passes_over_tls_clear_text_and_http2_only() {
    let Some(tool) = h2spec() else { return };
    let cert = SelfSigned::localhost();
    let auto = Auto::new();
    let (tls, tls_port) = cert.listener(auto.alpn_protocols());
    let tls_server = Server::builder()
        .listener(tls)
        .serve(auto.handler(paf::service_fn(early)));
    let (h2c_server, h2c_port) = clear_text(Auto::new());
    let (only_server, only_port) = clear_text(Http2::new());

    // An Auto server reads a garbage preface as the HTTP/1.1 request it
    // might be, and answers 400: h2spec's 3.5/2 expects HTTP/2's answer.
    let http1_reading = "http2/3.5: Sends invalid connection preface".to_owned();
    for run in 1..=RUNS {
        let failed = run_h2spec(&tool, tls_port, true).await;
        assert!(failed.is_empty(), "Auto over TLS, run {run}: {failed:?}");
        let failed = run_h2spec(&tool, only_port, false).await;
        if !failed.is_empty() {
            eprintln!("PORT {only_port}");
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        assert!(failed.is_empty(), "HTTP/2 only, run {run}: {failed:?}");
        let mut failed = run_h2spec(&tool, h2c_port, false).await;
        failed.remove(&http1_reading);
        assert!(failed.is_empty(), "Auto over h2c, run {run}: {failed:?}");
    }
    for server in [tls_server, h2c_server, only_server] {
        server.shutdown(Duration::from_secs(5)).await;
    }
}

/// A 1 MiB upload over HTTP/2 answered 415 before it is read: the client
/// sees the 415, never a reset stream (curl's exit code 92), 200 times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_answered_early_are_not_reset_under_curl() {
    let Some(curl) = support::peer_tool("curl") else {
        return;
    };
    let cert = SelfSigned::localhost();
    let auto = Auto::new();
    let (tls, port) = cert.listener(auto.alpn_protocols());
    let server = Server::builder()
        .listener(tls)
        .serve(auto.handler(paf::service_fn(unsupported)));
    let dir = TempDir::new("upload");
    let upload = dir.join("upload.bin");
    std::fs::write(&upload, vec![b'x'; 1024 * 1024]).expect("the upload file");
    let url = format!("https://localhost:{port}/upload");
    let mut errors = Vec::new();
    for attempt in 1..=200 {
        let output = Command::new(&curl)
            .args([
                "-sS",
                "--http2",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{http_version}",
            ])
            .arg("--cacert")
            .arg(cert.cert_path())
            .args(["--resolve", &resolve(port), "--data-binary"])
            .arg(format!("@{}", upload.display()))
            .arg(&url)
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(30), output)
            .await
            .expect("curl finishes")
            .expect("curl runs");
        let shown = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() || shown != "415 2" {
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            errors.push(format!(
                "{attempt}: {:?} {shown} {stderr}",
                output.status.code()
            ));
        }
    }
    assert!(
        errors.is_empty(),
        "{} of 200 failed: {errors:#?}",
        errors.len()
    );
    server.shutdown(Duration::from_secs(5)).await;
}

#[test]
fn junit_failures_are_read() {
    let junit = r#"<testsuite name="3.5." package="http2/3.5">
    <testcase package="http2/3.5" classname="Sends client connection preface" time="0.1"></testcase>
    <testcase package="http2/3.5" classname="Sends invalid connection preface" time="0.1">
      <error>GOAWAY Frame</error>
    </testcase>
    <testcase package="http2/5.1" classname="closed: DATA" time="0.1"><failure>x</failure></testcase>
    <testcase package="http2/6.9" classname="skipped" time="0"><skipped></skipped></testcase>"#;
    let failed: Vec<String> = failures(junit).into_iter().collect();
    assert_eq!(
        failed,
        [
            "http2/3.5: Sends invalid connection preface",
            "http2/5.1: closed: DATA"
        ]
    );
}

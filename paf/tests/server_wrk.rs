//! The HTTP/1.1 server under load from real benchmarking clients: wrk (also
//! pipelining) and h2load in HTTP/1.1 mode.
//!
//! Every test skips loudly when its tool is not installed (and fails when
//! `PAF_REQUIRE_PEERS=1`).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use support::server::TestServer;
use support::{TempDir, peer_tool};
use tokio::process::Command;

/// How long one load run may take before the test fails.
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// The benchmark's pipelining script (its depth defaults to 16 requests
/// per write).
const PIPELINE_LUA: &str = include_str!("../../bench/pipeline.lua");

/// Runs `tool` to completion; asserts it succeeded; returns its stdout.
async fn run(tool: &Path, args: &[&str]) -> String {
    let out = tokio::time::timeout(
        TOOL_TIMEOUT,
        Command::new(tool)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{} did not finish in time", tool.display()))
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} failed ({}): {stdout}{}",
        tool.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The request count of wrk's `N requests in 2.00s, ...` line.
fn wrk_requests(report: &str) -> u64 {
    report
        .lines()
        .find_map(|line| {
            let (count, rest) = line.trim().split_once(' ')?;
            rest.starts_with("requests in")
                .then(|| count.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no request count in wrk's report:\n{report}"))
}

/// Asserts wrk's report has enough requests and no errors of any kind.
fn check_wrk(report: &str) {
    let requests = wrk_requests(report);
    assert!(requests > 1000, "only {requests} requests:\n{report}");
    assert!(
        !report.contains("Socket errors"),
        "socket errors (connect, read, write, timeout):\n{report}"
    );
    assert!(
        !report.contains("Non-2xx or 3xx responses"),
        "error responses:\n{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrk_sees_no_errors() {
    let Some(wrk) = peer_tool("wrk") else {
        return;
    };
    let server = TestServer::hello();
    let url = server.url("/");
    let report = run(&wrk, &["-t1", "-c16", "-d2s", &url]).await;
    check_wrk(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrk_pipelining_sees_no_errors() {
    let Some(wrk) = peer_tool("wrk") else {
        return;
    };
    let dir = TempDir::new("wrk-pipeline");
    let script = dir.path().join("pipeline.lua");
    std::fs::write(&script, PIPELINE_LUA).unwrap();
    let server = TestServer::hello();
    let url = server.url("/");
    let script = script.to_str().unwrap();
    let report = run(&wrk, &["-t1", "-c16", "-d2s", "-s", script, &url]).await;
    check_wrk(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2load_in_http1_mode_sees_every_request_succeed() {
    let Some(h2load) = peer_tool("h2load") else {
        return;
    };
    let server = TestServer::hello();
    let url = server.url("/");
    let report = run(
        &h2load,
        &["--h1", "-n", "20000", "-c", "16", "-t", "1", &url],
    )
    .await;
    // requests: 20000 total, 20000 started, 20000 done, 20000 succeeded,
    // 0 failed, 0 errored, 0 timeout
    let line = report
        .lines()
        .find(|line| line.starts_with("requests:"))
        .unwrap_or_else(|| panic!("no requests line in h2load's report:\n{report}"));
    let count = |what: &str| -> u64 {
        line.trim_start_matches("requests:")
            .split(',')
            .find_map(|part| {
                let (n, name) = part.trim().split_once(' ')?;
                (name == what).then(|| n.parse().ok())?
            })
            .unwrap_or_else(|| panic!("no `{what}` count in {line:?}"))
    };
    assert_eq!(count("total"), 20000, "{report}");
    assert_eq!(count("succeeded"), 20000, "{report}");
    assert_eq!(count("failed"), 0, "{report}");
    assert_eq!(count("errored"), 0, "{report}");
    let status_line = report
        .lines()
        .find(|line| line.starts_with("status codes:"))
        .unwrap_or_else(|| panic!("no status codes line:\n{report}"));
    assert!(
        status_line.contains("20000 2xx, 0 3xx, 0 4xx, 0 5xx"),
        "{status_line}"
    );
}

//! A 1 GiB body each way over HTTP/2, with curl as the peer (h2c with
//! prior knowledge), in bounded memory.
//!
//! Alone in its test binary, so the process's peak memory is this test's.
//! Skips loudly when curl is not installed (and fails when
//! `PAF_REQUIRE_PEERS=1`).
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use conduit::listener::TcpListener;
use conduit::serve::Server;
use http::{Request, Response, StatusCode};
use paf::Body;
use paf::server::Serve;
use support::peer_tool;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The size of each body.
const GIB: u64 = 1024 * 1024 * 1024;
/// The size of the pieces written and produced.
const PIECE: usize = 64 * 1024;
/// How much the process's peak memory may grow over both transfers.
const MAX_GROWTH: u64 = 64 * 1024 * 1024;
/// How long one transfer may take before the test fails.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(300);

/// One piece of the downloaded body, shared by all the chunks.
static ZEROS: [u8; PIECE] = [0; PIECE];

/// The process's peak resident memory in bytes (`VmHWM`).
fn peak_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/self/status:\n{status}"));
    kib * 1024
}

/// `PUT /upload`: counts the request body frame by frame, keeping none of
/// it, and answers the count. `GET /download`: answers 1 GiB of zeros,
/// streamed in 64 KiB chunks.
async fn handler(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    match req.uri().path() {
        "/upload" => {
            let mut body = req.into_body();
            let mut total = 0_u64;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Some(data) = frame.data_ref() {
                            total += data.len() as u64;
                        }
                    }
                    Err(err) => {
                        let text = format!("after {total} bytes: {err}");
                        return Ok(paf::respond::error(StatusCode::BAD_REQUEST, text));
                    }
                }
            }
            Ok(paf::respond::text(total.to_string()))
        }
        "/download" => {
            let pieces = GIB / PIECE as u64;
            let chunks = futures_util::stream::iter(
                (0..pieces).map(|_| Ok::<_, Infallible>(Bytes::from_static(&ZEROS))),
            );
            Ok(Response::new(Body::from_stream(chunks)))
        }
        _ => Ok(paf::respond::error(StatusCode::NOT_FOUND, "no such path")),
    }
}

/// 1 GiB uploaded from curl's standard input is counted exactly by a
/// handler reading it frame by frame; 1 GiB streamed by a handler reaches
/// curl exactly; both over HTTP/2 with prior knowledge, and the test
/// process's peak memory grows by less than 64 MiB over both: neither body
/// is held whole anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_streams_each_way_in_bounded_memory() {
    let Some(tool) = peer_tool("curl") else {
        return;
    };
    let before = peak_memory();
    let tcp = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = tcp.local_socket_addr();
    let server = Server::builder()
        .listener(tcp)
        .serve(paf::server::Auto::new().handler(paf::service_fn(handler)));

    // Upload: the test writes the body into curl's standard input.
    let started = Instant::now();
    let mut child = Command::new(&tool)
        .args(["-sS", "--http2-prior-knowledge", "-T", "-"])
        .args(["-w", "\n%{http_code} %{http_version} %{size_upload}"])
        .arg(format!("http://{addr}/upload"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = tokio::spawn(async move {
        for _ in 0..GIB / PIECE as u64 {
            stdin.write_all(&ZEROS).await?;
        }
        // Dropping stdin ends the upload.
        Ok::<_, std::io::Error>(())
    });
    let out = tokio::time::timeout(TRANSFER_TIMEOUT, child.wait_with_output())
        .await
        .expect("the upload did not finish in time")
        .unwrap();
    let upload_time = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "curl failed ({}): {stderr}",
        out.status
    );
    feeder.await.unwrap().unwrap();
    assert_eq!(stdout, format!("{GIB}\n200 2 {GIB}"), "{stderr}");

    // Download: curl throws the body away and counts it.
    let started = Instant::now();
    let out = tokio::time::timeout(
        TRANSFER_TIMEOUT,
        Command::new(&tool)
            .args(["-sS", "--http2-prior-knowledge", "-o", "/dev/null"])
            .args(["-w", "%{http_code} %{http_version} %{size_download}"])
            .arg(format!("http://{addr}/download"))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the download did not finish in time")
    .unwrap();
    let download_time = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "curl failed ({}): {stderr}",
        out.status
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("200 2 {GIB}"),
        "{stderr}"
    );

    let report = server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.aborted, 0, "{report:?}");
    let after = peak_memory();
    let growth = after.saturating_sub(before);
    println!(
        "upload {upload_time:?}, download {download_time:?}; \
         peak memory {} MiB -> {} MiB",
        before >> 20,
        after >> 20
    );
    assert!(
        growth < MAX_GROWTH,
        "peak memory grew by {} MiB (from {} MiB to {} MiB)",
        growth >> 20,
        before >> 20,
        after >> 20
    );
}

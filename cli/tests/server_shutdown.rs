//! SIGTERM and SIGINT: `paf-server` stops accepting, lets requests in
//! progress finish within `--grace`, cuts off the rest, reports, and exits 0.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Server, TempDir, peer_tool};

/// Well beyond what the sockets' buffers hold, so that the server is
/// still sending when the signal comes.
const SIZE: usize = 32 * 1024 * 1024;

fn site() -> TempDir {
    let dir = TempDir::new("shutdown");
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 253) as u8).collect();
    dir.write("data.bin", data);
    dir
}

/// A curl download of `url` over HTTP/1.1 at `rate`, its body written to `out`.
fn slow_download(curl: &Path, url: &str, rate: &str, out: &Path) -> Child {
    slow_download_over(curl, "--http1.1", url, rate, out)
}

fn slow_download_over(curl: &Path, version: &str, url: &str, rate: &str, out: &Path) -> Child {
    Command::new(curl)
        .args(["-s", version, "--limit-rate", rate, "-o"])
        .arg(out)
        .arg(url)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `path` has some bytes (the download is under way).
fn wait_for_bytes(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(path).map_or(0, |m| m.len()) == 0 {
        assert!(Instant::now() < deadline, "the download did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The response is still being sent: its access log line, written when
/// the body is done, is not there yet.
fn assert_in_flight(server: &Server) {
    let log = server.stderr();
    assert!(
        !log.contains("/data.bin"),
        "the response was already sent: {log}"
    );
}

#[test]
fn sigterm_lets_slow_downloads_finish() {
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let dir = site();
    let mut server = Server::start(&[
        "-l",
        "tcp://127.0.0.1:0",
        "--grace",
        "20",
        dir.path().to_str().unwrap(),
    ]);
    let url = format!("{}/data.bin", server.http());
    let out = dir.path().join("out.bin");
    let out_h2 = dir.path().join("out-h2.bin");
    // About 2 s for 32 MiB, on HTTP/1.1 and on HTTP/2.
    let mut download = slow_download(&curl, &url, "16M", &out);
    let mut download_h2 =
        slow_download_over(&curl, "--http2-prior-knowledge", &url, "16M", &out_h2);
    wait_for_bytes(&out);
    wait_for_bytes(&out_h2);
    assert_in_flight(&server);

    let signaled = Instant::now();
    server.signal("TERM");
    // No new connections once the signal is handled.
    std::thread::sleep(Duration::from_millis(200));
    let addr = url
        .strip_prefix("http://")
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting after SIGTERM"
    );

    let status = server
        .wait(Duration::from_secs(20))
        .expect("the server exits");
    let took = signaled.elapsed();
    assert_eq!(status.code(), Some(0));
    let want = std::fs::read(dir.path().join("data.bin")).unwrap();
    for (name, download, out) in [
        ("HTTP/1.1", &mut download, &out),
        ("HTTP/2", &mut download_h2, &out_h2),
    ] {
        assert!(
            download.wait().unwrap().success(),
            "{name}: the download was cut"
        );
        assert!(
            std::fs::read(out).unwrap() == want,
            "{name}: the download differs"
        );
    }
    let stdout = server.stdout();
    assert!(stdout.contains("SIGTERM: no new connections"), "{stdout}");
    assert!(
        stdout.contains("stopped: 2 connection(s) finished, 0 cut off"),
        "{stdout}"
    );
    let log = server.stderr();
    assert!(
        log.contains(&format!("\"GET /data.bin HTTP/1.1\" 200 {SIZE} ")),
        "{log}"
    );
    assert!(
        log.contains(&format!("\"GET /data.bin HTTP/2\" 200 {SIZE} ")),
        "{log}"
    );
    eprintln!("drained in {took:?}");
}

#[test]
fn the_grace_deadline_cuts_off_what_is_left() {
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let dir = site();
    let mut server = Server::start(&[
        "-l",
        "tcp://127.0.0.1:0",
        "--grace",
        "1",
        dir.path().to_str().unwrap(),
    ]);
    let url = format!("{}/data.bin", server.http());
    let out = dir.path().join("out.bin");
    // About 30 s for 32 MiB: far beyond the grace period.
    let mut download = slow_download(&curl, &url, "1M", &out);
    wait_for_bytes(&out);
    assert_in_flight(&server);

    let signaled = Instant::now();
    server.signal("INT");
    let status = server
        .wait(Duration::from_secs(10))
        .expect("the server exits");
    let took = signaled.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // curl may still be reading what the kernel buffered: stop it there.
    let _ = download.kill();
    let _ = download.wait();
    let received = std::fs::metadata(&out).map_or(0, |m| m.len());
    assert!(received < SIZE as u64, "the whole file arrived");
    let stdout = server.stdout();
    assert!(
        stdout.contains("stopped: 0 connection(s) finished, 1 cut off"),
        "{stdout}"
    );
    let log = server.stderr();
    assert!(log.contains("\"GET /data.bin HTTP/1.1\" 200 "), "{log}");
    assert!(log.trim_end().ends_with(" incomplete"), "{log}");
}

#[test]
fn a_second_signal_stops_at_once() {
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let dir = site();
    let mut server = Server::start(&[
        "-l",
        "tcp://127.0.0.1:0",
        "--grace",
        "60",
        dir.path().to_str().unwrap(),
    ]);
    let url = format!("{}/data.bin", server.http());
    let out = dir.path().join("out.bin");
    let mut download = slow_download(&curl, &url, "1M", &out);
    wait_for_bytes(&out);
    assert_in_flight(&server);

    let signaled = Instant::now();
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    server.signal("INT");
    let status = server
        .wait(Duration::from_secs(10))
        .expect("the server exits");
    assert_eq!(status.code(), Some(0));
    assert!(signaled.elapsed() < Duration::from_secs(5));
    assert!(server.stdout().contains("SIGINT: stopping now"));
    let _ = download.kill();
    let _ = download.wait();
    assert!(std::fs::metadata(&out).map_or(0, |m| m.len()) < SIZE as u64);
}

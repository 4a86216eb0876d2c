//! A 1 GiB file downloaded by curl over HTTP/1.1 and HTTP/2, from one
//! server listening on TCP, TLS and a Unix socket at the same time, arrives
//! intact (same SHA-256) on each, and the server's peak resident memory
//! barely moves: file bodies are streamed from disk, never held whole.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Server, TempDir, peer_tool};

const MIB: usize = 1024 * 1024;
/// How much the server's peak resident memory may grow over the transfers.
const MAX_GROWTH_KB: u64 = 64 * 1024;

/// Writes `mib` MiB of pseudo-random bytes: one random MiB, repeated
/// with a different first word each time.
fn write_file(path: &Path, mib: usize) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut block = vec![0u8; MIB];
    for chunk in block.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    let mut file = std::io::BufWriter::with_capacity(4 * MIB, std::fs::File::create(path).unwrap());
    for i in 0..mib {
        block[..8].copy_from_slice(&(i as u64).to_le_bytes());
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
}

fn sha256_of_file(sha256sum: &Path, path: &Path) -> String {
    let out = Command::new(sha256sum).arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

/// Downloads `url` with curl (`args` added) straight into sha256sum.
fn sha256_of_download(curl: &Path, sha256sum: &Path, args: &[&str], url: &str) -> String {
    let mut download = Command::new(curl)
        .args(["-s", "-S", "--fail"])
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let hash = Command::new(sha256sum)
        .stdin(Stdio::from(download.stdout.take().unwrap()))
        .output()
        .unwrap();
    assert!(download.wait().unwrap().success(), "curl {args:?} failed");
    String::from_utf8_lossy(&hash.stdout)[..64].to_string()
}

#[test]
fn one_gib_streams_with_flat_memory() {
    let (Some(curl), Some(sha256sum)) = (peer_tool("curl"), peer_tool("sha256sum")) else {
        return;
    };
    let dir = TempDir::new("large");
    let file = dir.path().join("big.bin");
    let started = Instant::now();
    write_file(&file, 1024);
    let want = sha256_of_file(&sha256sum, &file);
    eprintln!("1 GiB written and hashed in {:?}", started.elapsed());

    let socket = dir.path().join("s.sock");
    let unix = format!("unix://{}", socket.display());
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::rename(&file, root.join("big.bin")).unwrap();
    let server = Server::start(&[
        "-l",
        "tcp://127.0.0.1:0",
        "-l",
        "tls://127.0.0.1:0",
        "-l",
        &unix,
        "--self-signed",
        "-q",
        root.to_str().unwrap(),
    ]);
    let url = format!("{}/big.bin", server.http());
    let https = format!("{}/big.bin", server.url("https").trim_end_matches('/'));
    let cert = server
        .cert
        .clone()
        .expect("the certificate file is printed");
    let cert = cert.to_str().unwrap();
    let socket = socket.to_str().unwrap();
    // Warm up the runtime's threads and buffers with a small request.
    let small = Command::new(&curl)
        .args(["-s", "-o", "/dev/null", "-r", "0-1023", &url])
        .status()
        .unwrap();
    assert!(small.success());
    let before = server.memory_kb("VmHWM");

    let cases: [(&str, Vec<&str>, &str); 4] = [
        ("TCP HTTP/1.1", vec!["--http1.1"], &url),
        (
            "TLS HTTP/2 (ALPN)",
            vec!["--http2", "--cacert", cert],
            &https,
        ),
        (
            "Unix HTTP/2 (prior knowledge)",
            vec!["--http2-prior-knowledge", "--unix-socket", socket],
            "http://localhost/big.bin",
        ),
        (
            "Unix HTTP/1.1",
            vec!["--http1.1", "--unix-socket", socket],
            "http://localhost/big.bin",
        ),
    ];
    let started = Instant::now();
    std::thread::scope(|scope| {
        let downloads: Vec<_> = cases
            .iter()
            .map(|(name, args, url)| {
                let (curl, sha256sum) = (&curl, &sha256sum);
                (
                    *name,
                    scope.spawn(move || sha256_of_download(curl, sha256sum, args, url)),
                )
            })
            .collect();
        for (name, download) in downloads {
            assert_eq!(
                download.join().unwrap(),
                want,
                "{name}: the download differs"
            );
        }
    });
    let took = started.elapsed();
    let peak = server.memory_kb("VmHWM");
    eprintln!(
        "4 GiB at once (TCP h1, TLS h2, Unix h2 and h1) in {took:.2?}, through sha256sum; \
         server peak RSS {before} KiB -> {peak} KiB"
    );
    assert!(
        peak < before + MAX_GROWTH_KB,
        "the server's peak RSS grew from {before} KiB to {peak} KiB"
    );
    assert!(
        took < Duration::from_secs(120),
        "the downloads took {took:?}"
    );
}

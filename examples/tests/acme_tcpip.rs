//! The acme_tcpip example in a network namespace of its own: pebble (and
//! its DNS, answering the stack's address) on the kernel's side of a TAP
//! device, the example on the stack's side getting a certificate through
//! the stack and serving it; curl in the namespace checks it against
//! pebble's root. All traffic stays inside the namespace.
//!
//! Needs root, `/dev/net/tun`, pebble and curl: without them it says so
//! loudly and passes, unless `PAF_REQUIRE_PEERS=1`, under which it fails.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use testkit::netns::{Netns, example, tap_allowed};
use testkit::pebble::{Pebble, PebbleConfig};
use testkit::{TempDir, peer_tool};

/// The kernel's side of the TAP device, and the stack's address.
const KERNEL: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);
const STACK: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);

/// The example running in the namespace, and its stdout lines; killed when
/// dropped.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(ns: &Netns, args: &[&str]) -> Running {
        let mut child = ns
            .command(example("acme_tcpip"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the example starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits up to 60 s for a line containing `needle`.
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.seen.iter().any(|line| line.contains(needle)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no `{needle}` from the example: {:#?}", self.seen),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_whole_acme_cycle_runs_on_the_user_space_stack() {
    if !tap_allowed() {
        return;
    }
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let ns = Netns::with_tap("acme", &format!("{KERNEL}/24"));
    let Some(pebble) = Pebble::start(PebbleConfig {
        http_port: 80,
        tls_port: 443,
        bind: Some(KERNEL),
        answer: Some(STACK),
        netns: Some(ns.name().to_owned()),
        ..PebbleConfig::default()
    }) else {
        return;
    };
    let cache = TempDir::new("acme-tcpip");
    let tls_root = pebble.tls_root.to_str().expect("a UTF-8 path");
    for (challenge, name) in [
        ("http-01", "example.com"),
        ("tls-alpn-01", "alpn.example.com"),
    ] {
        let mut running = Running::start(
            &ns,
            &[
                "--tap",
                "tap0",
                "--cidr",
                &format!("{STACK}/24"),
                "--directory",
                &pebble.directory,
                "--root",
                tls_root,
                "--name",
                name,
                "--challenge",
                challenge,
                "--cache",
                cache.path().to_str().expect("a UTF-8 path"),
            ],
        );
        running.wait_for("serving on");
        running.wait_for("acme: certificate issued");

        let issuer = cache.join("issuer.pem");
        let issuer = issuer.to_str().expect("a UTF-8 path");
        let root_url = pebble.issuer_root_url();
        let out = ns.run(
            &curl,
            &["-sS", "--cacert", tls_root, "-o", issuer, &root_url],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let resolve = format!("{name}:443:{STACK}");
        let url = format!("https://{name}/");
        let out = ns.run(
            &curl,
            &[
                "-sS",
                "--max-time",
                "20",
                "--cacert",
                issuer,
                "--resolve",
                &resolve,
                &url,
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{challenge}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("with a certificate from ACME"), "{stdout}");
    }
}

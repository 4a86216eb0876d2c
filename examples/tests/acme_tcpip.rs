//! The acme_tcpip example in a network namespace of its own: pebble (and
//! its DNS, answering the stack's address) on the kernel's side of a TAP
//! device, the example on the stack's side getting a certificate through
//! the stack and serving it; curl in the namespace checks it against
//! pebble's root. All traffic stays inside the namespace.
//!
//! Needs root, `/dev/net/tun`, pebble and curl: without them it says so
//! loudly and passes, unless `PAF_REQUIRE_PEERS=1`, under which it fails.

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use testkit::pebble::{Pebble, PebbleConfig};
use testkit::{TempDir, peer_tool};

/// The kernel's side of the TAP device, and the stack's address.
const KERNEL: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);
const STACK: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);

/// Whether namespaces and TAP devices can be made; a loud skip, or a
/// failure under `PAF_REQUIRE_PEERS=1`, when they cannot.
fn privileged() -> bool {
    if peer_tool("ip").is_none() {
        return false;
    }
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false);
    let tun = Path::new("/dev/net/tun").exists();
    if root && tun {
        return true;
    }
    let why = format!("root: {root}, /dev/net/tun: {tun}");
    if std::env::var("PAF_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!(
            "the TAP test needs root and /dev/net/tun ({why}), and PAF_REQUIRE_PEERS=1 requires them"
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!! SKIPPED: the TAP test needs root and /dev/net/tun ({why}) !!!!!\n"
    );
    false
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run ip: {err}"));
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace with `tap0` at 10.78.0.1/24; its processes are killed and
/// it is deleted when dropped.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let ns = Netns(format!("acme-{}", std::process::id()));
        ip(&["netns", "add", &ns.0]);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
        ip(&["-n", &ns.0, "tuntap", "add", "dev", "tap0", "mode", "tap"]);
        let kernel = format!("{KERNEL}/24");
        ip(&["-n", &ns.0, "addr", "add", &kernel, "dev", "tap0"]);
        ip(&["-n", &ns.0, "link", "set", "tap0", "up"]);
        ns
    }

    fn run(&self, program: &Path, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0])
            .arg(program)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", program.display()))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip").args(["netns", "pids", &self.0]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// The example, built beside this test by `cargo test`.
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests live in target/<profile>/deps");
    let path = dir.join("examples").join("acme_tcpip");
    assert!(
        path.is_file(),
        "{} is missing: `cargo test -p examples` builds it",
        path.display()
    );
    path
}

/// The example running in the namespace, and its stdout lines; killed when
/// dropped.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(ns: &Netns, args: &[&str]) -> Running {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.0])
            .arg(example())
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
    if !privileged() {
        return;
    }
    let Some(curl) = peer_tool("curl") else {
        return;
    };
    let ns = Netns::new();
    let Some(pebble) = Pebble::start(PebbleConfig {
        http_port: 80,
        tls_port: 443,
        bind: Some(KERNEL),
        answer: Some(STACK),
        netns: Some(ns.0.clone()),
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

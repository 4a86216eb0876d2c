//! Network namespaces with a TAP device, for the tests that run the
//! user-space stack against the kernel: every packet stays inside the
//! namespace, and the namespace goes with the test.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{peer_tool, unavailable};

/// Whether this process may make namespaces and TAP devices (`ip`, root,
/// `/dev/net/tun`). When it may not: a loud skip, or a panic under
/// `PAF_REQUIRE_PEERS=1`.
pub fn tap_allowed() -> bool {
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
    unavailable(&format!(
        "TAP tests need root and /dev/net/tun (root: {root}, /dev/net/tun: {tun})"
    ));
    false
}

/// A network namespace with its loopback up and `tap0` at the kernel's
/// address. Every process in it is killed, and it is deleted, when
/// dropped, even when the test fails half-way through setting it up.
#[derive(Debug)]
pub struct Netns(String);

impl Netns {
    /// Makes the namespace `PREFIX-PID` with `tap0` at `kernel` (an
    /// address with its prefix length, such as `10.77.0.1/24`).
    ///
    /// # Panics
    /// When an `ip` command fails.
    pub fn with_tap(prefix: &str, kernel: &str) -> Netns {
        let name = format!("{prefix}-{}", std::process::id());
        ip(&["netns", "add", &name]);
        let ns = Netns(name);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
        ip(&["-n", &ns.0, "tuntap", "add", "dev", "tap0", "mode", "tap"]);
        ip(&["-n", &ns.0, "addr", "add", kernel, "dev", "tap0"]);
        ip(&["-n", &ns.0, "link", "set", "tap0", "up"]);
        ns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.0]).arg(program);
        command
    }

    /// Runs `program args` inside the namespace and gives what it did.
    ///
    /// # Panics
    /// When it cannot be started.
    pub fn run(&self, program: &Path, args: &[&str]) -> Output {
        self.command(program)
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

/// The example `name` of the crate under test, which `cargo test` builds
/// beside the test binary.
///
/// # Panics
/// When it is not there.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests live in target/<profile>/deps");
    let path = dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: `cargo test -p examples` builds it",
        path.display()
    );
    path
}

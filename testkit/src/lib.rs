//! What the workspace's tests share.
//!
//! - [`peer_tool`]: an external program a test talks to (curl, nginx,
//!   podman...), or a loud skip when it is missing; a failure instead under
//!   `PAF_REQUIRE_PEERS=1`, which CI sets.
//! - [`TempDir`]: a fresh directory, removed when dropped.
//! - [`Daemon`]: an external server run in its own directory (nginx,
//!   tinyproxy), waited for and killed when dropped; [`free_port`] and
//!   [`http_get`] to set it up and ask it whether it is ready.
//! - [`layers`]: the check that a crate's modules import one way.
//! - [`pebble`]: an ACME test server and its DNS, for the `acme` crate and
//!   `paf-server --acme`.
//! - [`open_files`]: room for the descriptors a test opens.
//! - [`netns`]: a network namespace with a TAP device, for the user-space
//!   stack's tests against the kernel.

pub mod layers;
pub mod netns;
pub mod pebble;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Says loudly on stderr that the test does not run because `what` (what
/// is missing, as a clause: "`curl` is not installed"), and returns.
///
/// # Panics
/// Under `PAF_REQUIRE_PEERS=1`, which CI sets once it has installed every
/// peer: there, a missing peer is a failure.
pub fn unavailable(what: &str) {
    if std::env::var("PAF_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{what}, and PAF_REQUIRE_PEERS=1 requires it");
    }
    // Straight to stderr: the harness captures `eprintln!` of passing
    // tests, and this must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!! SKIPPED: {what}; this test did not run \
         (set PAF_REQUIRE_PEERS=1 to make this a failure) !!!!!\n"
    );
}

/// Raises this process's limit on open files to `wanted`, within the hard
/// limit (no privilege needed). Whether there is room for `wanted` now; if
/// not, says so loudly on stderr.
///
/// # Panics
/// When there is no room and `PAF_REQUIRE_PEERS=1`: CI machines must allow
/// the tests' descriptors.
pub fn open_files(wanted: u64) -> bool {
    let limit = rlimit::increase_nofile_limit(wanted).unwrap_or(0);
    if limit >= wanted {
        return true;
    }
    unavailable(&format!(
        "only {limit} open files are allowed, {wanted} are needed (raise the hard limit)"
    ));
    false
}

/// The path of an external tool (searched in `PATH`, then the sbin
/// folders), or `None` with a loud message on stderr.
///
/// # Panics
/// When the tool is missing and `PAF_REQUIRE_PEERS=1`.
pub fn peer_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        unavailable(&format!("`{name}` is not installed"));
    }
    found
}

/// A fresh directory under the system's temporary directory, removed with
/// everything in it when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory; `tag` appears in its name. Names are short:
    /// Unix socket paths inside it are limited to about 100 bytes.
    ///
    /// # Panics
    /// When the directory cannot be created.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("paf-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(err) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {err}", dir.display());
        }
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes a file (and its parent directories) under the directory.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent()
            && let Err(err) = std::fs::create_dir_all(parent)
        {
            panic!("cannot create {}: {err}", parent.display());
        }
        if let Err(err) = std::fs::write(&path, contents) {
            panic!("cannot write {}: {err}", path.display());
        }
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port that was free when probed (bound, then released).
///
/// # Panics
/// When no port can be bound.
pub fn free_port() -> u16 {
    match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(err) => panic!("cannot bind a loopback port: {err}"),
    }
}

/// The body of `GET path` over HTTP/1.0 at `addr`, if something answers
/// within 2 seconds.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut tcp = TcpStream::connect(addr).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    tcp.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .ok()?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    Some(body.to_owned())
}

/// Runs nginx with `dir` as its prefix and `dir/nginx.conf`, whose site
/// answers `GET /__id` on 127.0.0.1:`port` with the directory's path: that
/// tells this instance from another that took the port meanwhile.
pub fn start_nginx(binary: &Path, dir: TempDir, port: u16) -> Result<Daemon, String> {
    let mut command = Command::new(binary);
    command
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg("stderr");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    Daemon::start(command, dir, |dir| {
        http_get(addr, "/__id") == Some(dir.display().to_string())
    })
}

/// An external server a test runs, with its files in a directory of its
/// own; killed (and its directory removed) when dropped.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    dir: TempDir,
}

impl Daemon {
    /// Runs `command` (stdin and stdout closed, stderr to `stderr.log` in
    /// `dir`) and polls `ready` with the directory for up to 10 seconds,
    /// until it is ready and still running.
    /// Fails with what the server wrote to stderr when it exits first (a
    /// port taken meanwhile, say) or never gets ready.
    ///
    /// # Panics
    /// When the command cannot be started.
    pub fn start(
        mut command: Command,
        dir: TempDir,
        mut ready: impl FnMut(&Path) -> bool,
    ) -> Result<Daemon, String> {
        let stderr = dir.join("stderr.log");
        let file = match std::fs::File::create(&stderr) {
            Ok(file) => file,
            Err(err) => panic!("cannot create {}: {err}", stderr.display()),
        };
        let child = match command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
        {
            Ok(child) => child,
            Err(err) => panic!("cannot start {command:?}: {err}"),
        };
        let mut daemon = Daemon { child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(daemon.child.try_wait(), Ok(Some(_))) {
                break;
            }
            // Checked again after: what answered may be another server
            // holding the port this one failed to take.
            if ready(daemon.dir.path()) && matches!(daemon.child.try_wait(), Ok(None)) {
                return Ok(daemon);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::fs::read_to_string(stderr).unwrap_or_default())
    }

    /// The server's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

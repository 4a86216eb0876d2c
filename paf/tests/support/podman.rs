//! A real Podman to test against: `podman system service` serving the
//! Docker-compatible API on a Unix socket in a temporary directory, killed
//! when dropped.
//!
//! Each instance has storage, state and event log of its own under its
//! directory (`vfs` storage, which works on any file system, `file` events),
//! so tests running at once do not see each other's volumes or events, and
//! nothing is left behind.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{TempDir, peer_tool};

/// How long Podman gets to answer `/_ping`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `podman system service`.
pub struct Podman {
    socket: PathBuf,
    child: Child,
    dir: TempDir,
}

impl Podman {
    /// Starts Podman and waits until it answers, or returns `None` (after a
    /// loud message) when it is not installed.
    pub fn start() -> Option<Podman> {
        let binary = peer_tool("podman")?;
        let dir = TempDir::new("podman");
        let root = dir.path();
        let socket = root.join("docker.sock");
        let stderr = fs::File::create(root.join("stderr.log")).unwrap();
        let child = Command::new(binary)
            .arg("--root")
            .arg(root.join("storage"))
            .arg("--runroot")
            .arg(root.join("run"))
            .arg("--tmpdir")
            .arg(root.join("tmp"))
            .args(["--storage-driver", "vfs"])
            .args(["--events-backend", "file"])
            .args(["--cgroup-manager", "cgroupfs"])
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut podman = Podman { socket, child, dir };
        podman.wait_until_answering();
        Some(podman)
    }

    /// The socket the API is served on.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `DOCKER_HOST` for this instance: `unix:///…/docker.sock`.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The URI to put API paths after: `http+unix://%2F…%2Fdocker.sock`.
    pub fn base_uri(&self) -> String {
        let host = self.docker_host();
        conduit::DockerHost::from_vars(|name| (name == "DOCKER_HOST").then(|| host.clone()))
            .unwrap()
            .base_uri()
    }

    /// What Podman wrote to its standard error so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Polls `/_ping` until it answers `OK`; panics with Podman's log when it
    /// exits or takes too long.
    fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("podman exited ({status}) before answering:\n{}", self.log());
            }
            if self.ping() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "podman did not answer /_ping within {START_TIMEOUT:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether `GET /_ping` answers `200` with `OK`, on a connection of its
    /// own.
    fn ping(&self) -> bool {
        let Ok(mut stream) = UnixStream::connect(&self.socket) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = b"GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        if stream.write_all(request).is_err() {
            return false;
        }
        let mut response = String::new();
        if stream.read_to_string(&mut response).is_err() {
            return false;
        }
        response.starts_with("HTTP/1.1 200") && response.ends_with("\r\n\r\nOK")
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

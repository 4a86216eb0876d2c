//! A real tinyproxy to test proxies against: one foreground process with a
//! configuration in a temporary directory, killed when dropped.
//!
//! It listens on a free loopback port, accepts clients from 127.0.0.1 only,
//! may reach any host and port (no `ConnectPort` line: every port is
//! allowed for `CONNECT`), names itself `paf-test-proxy` in the `Via` field
//! it adds to forwarded requests, and logs every request it receives, which
//! [`Tinyproxy::requests`] reads back.

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::{Daemon, free_port};

use super::{TempDir, peer_tool};

/// What tinyproxy puts in the `Via` field of the requests it forwards.
pub const VIA_NAME: &str = "paf-test-proxy";

/// A running tinyproxy on 127.0.0.1:`port`.
pub struct Tinyproxy {
    pub port: u16,
    daemon: Daemon,
}

impl Tinyproxy {
    /// Starts tinyproxy, or returns `None` (after a loud message) when it is
    /// not installed.
    pub fn start() -> Option<Tinyproxy> {
        Tinyproxy::launch(None)
    }

    /// Starts tinyproxy requiring Basic credentials `user`:`password`.
    pub fn with_basic_auth(user: &str, password: &str) -> Option<Tinyproxy> {
        Tinyproxy::launch(Some((user, password)))
    }

    fn launch(auth: Option<(&str, &str)>) -> Option<Tinyproxy> {
        let binary = peer_tool("tinyproxy")?;
        // The port is free when probed, but could be taken before tinyproxy
        // binds it: try again with another.
        let mut output = String::new();
        for _ in 0..3 {
            let dir = TempDir::new("tinyproxy");
            let port = free_port();
            let config_path = dir.path().join("tinyproxy.conf");
            fs::write(&config_path, config(&dir, port, auth)).unwrap();
            let mut command = Command::new(&binary);
            command.arg("-d").arg("-c").arg(&config_path);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            match Daemon::start(command, dir, |dir| listening(dir, addr)) {
                Ok(daemon) => return Some(Tinyproxy { port, daemon }),
                Err(stderr) => output = stderr,
            }
        }
        panic!("tinyproxy did not start:\n{output}");
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `http://127.0.0.1:port`, for [`paf::client::Proxy::new`].
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://user:password@127.0.0.1:port`.
    pub fn url_with(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@127.0.0.1:{}", self.port)
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        log(self.daemon.dir())
    }

    /// The request lines it received, in order: `CONNECT localhost:443
    /// HTTP/1.1`, `GET http://127.0.0.1:8080/ HTTP/1.1`. Each is logged
    /// when its head is read, so before the proxy answers it.
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| {
                let (_, request) = line.split_once("]: Request (file descriptor ")?;
                let (_, request) = request.split_once("): ")?;
                Some(request.to_string())
            })
            .collect()
    }

    /// How many client connections it accepted (its own start-up probe
    /// included).
    pub fn connections(&self) -> usize {
        self.log()
            .lines()
            .filter(|line| line.contains("]: Connect (file descriptor "))
            .count()
    }

    /// The `CONNECT` requests among [`requests`](Self::requests).
    pub fn connects(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.starts_with("CONNECT "))
            .collect()
    }
}

fn log(dir: &Path) -> String {
    fs::read_to_string(dir.join("tinyproxy.log")).unwrap_or_default()
}

/// Whether the tinyproxy of `dir` accepts connections on `addr`: its log
/// tells that this process listens, and not some other one that took the
/// port. Waits for its probe to be logged too, so that the probe is not
/// taken for a test's connection.
fn listening(dir: &Path, addr: SocketAddr) -> bool {
    if !log(dir).contains("Accepting connections") || TcpStream::connect(addr).is_err() {
        return false;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !log(dir).contains("closed socket before read") {
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// A configuration that touches nothing outside `dir`. Without any
/// `ConnectPort` line tinyproxy allows `CONNECT` to every port (its stock
/// configuration lists 443 and 563 only).
fn config(dir: &TempDir, port: u16, auth: Option<(&str, &str)>) -> String {
    let dir = dir.path().display();
    let auth = match auth {
        Some((user, password)) => format!("BasicAuth {user} {password}\n"),
        None => String::new(),
    };
    format!(
        "Port {port}
Listen 127.0.0.1
Timeout 30
LogFile \"{dir}/tinyproxy.log\"
LogLevel Info
PidFile \"{dir}/tinyproxy.pid\"
MaxClients 64
Allow 127.0.0.1
ViaProxyName \"{VIA_NAME}\"
{auth}"
    )
}

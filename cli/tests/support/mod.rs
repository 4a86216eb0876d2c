//! Shared test helpers: external peers, temporary directories, the
//! `paf-server` binary run as a child process, and curl.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[allow(unused_imports)] // each test file uses a different part
pub use testkit::{TempDir, peer_tool};

/// A `paf-server` process, killed when dropped.
pub struct Server {
    child: Child,
    /// What the banner said: `http://...`, `https://...`, `unix:/...`.
    pub urls: Vec<String>,
    /// The self-signed certificate file, if one was written.
    pub cert: Option<PathBuf>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    exited: Option<ExitStatus>,
}

impl Server {
    /// Starts `paf-server` with `args` and waits for its banner.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    /// Starts `paf-server` with `args` and environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::try_start(args, env).unwrap_or_else(|err| panic!("{err}"))
    }

    /// Starts `paf-server` with `args` and environment variables; what it
    /// wrote when it did not start.
    pub fn try_start(args: &[&str], env: &[(&str, &str)]) -> Result<Server, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_paf-server"))
            .args(args)
            .envs(env.iter().copied())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (lines_tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let all = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                all.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = lines_tx.send(line);
            }
        });
        // Always drained, or a full pipe would block the server's log.
        let mut err = child.stderr.take().unwrap();
        let all = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                all.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut server = Server {
            child,
            urls: Vec::new(),
            cert: None,
            stdout,
            stderr,
            exited: None,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line == "press Ctrl-C to stop" => break,
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        let url = url.split(' ').next().unwrap().to_string();
                        server.urls.push(url);
                    }
                    if let Some((_, rest)) = line.split_once(" written to ") {
                        server.cert = Some(PathBuf::from(rest.split(' ').next().unwrap()));
                    }
                }
                Err(_) => {
                    let status = server.wait(Duration::from_secs(1));
                    return Err(format!(
                        "paf-server {args:?} did not start ({status:?})\nstdout:\n{}\nstderr:\n{}",
                        server.stdout(),
                        server.stderr()
                    ));
                }
            }
        }
        Ok(server)
    }

    /// The first URL of a scheme (`http`, `https`, `unix`).
    pub fn url(&self, scheme: &str) -> &str {
        let prefix = format!("{scheme}:");
        self.urls
            .iter()
            .find(|url| url.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {scheme} listener in {:?}", self.urls))
    }

    /// The first `http://` URL, without its trailing `/`.
    pub fn http(&self) -> String {
        self.url("http").trim_end_matches('/').to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`TERM`, `INT`) with the shell's `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -{name} {}", self.pid()))
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited {
                return Some(status);
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                self.exited = Some(status);
                // Let the reader threads catch the last lines.
                std::thread::sleep(Duration::from_millis(50));
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits up to two seconds for stderr to contain `needle` (access log
    /// lines are written once a response body is done), and returns it.
    pub fn stderr_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let stderr = self.stderr();
            if stderr.contains(needle) || Instant::now() >= deadline {
                return stderr;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A field of `/proc/PID/status`, in kB (`VmHWM`, `VmRSS`).
    pub fn memory_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{field}:")))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() {
            // SIGTERM first, so that the server removes its socket and
            // certificate files; SIGKILL if it lingers.
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!("kill -TERM {}", self.pid()))
                .status();
            if self.wait(Duration::from_secs(3)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// The result of one curl transfer.
#[derive(Debug)]
pub struct Fetched {
    /// curl's exit code (0 for a complete transfer).
    pub exit: i32,
    pub status: u16,
    /// `%{http_version}`: `1.1`, `2`.
    pub version: String,
    /// The final response's header fields, names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Fetched {
    /// The value of a header field.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Runs curl with `args` (and `-s`), returning status, version, headers
/// and body.
pub fn fetch(curl: &Path, args: &[&str]) -> Fetched {
    let dir = TempDir::new("curl");
    let head = dir.path().join("head");
    let body = dir.path().join("body");
    let output = Command::new(curl)
        .arg("-s")
        .arg("-D")
        .arg(&head)
        .arg("-o")
        .arg(&body)
        .args(["-w", "%{http_code} %{http_version}"])
        .args(args)
        .output()
        .unwrap();
    let written = String::from_utf8_lossy(&output.stdout).into_owned();
    let (status, version) = written.split_once(' ').unwrap_or(("0", ""));
    let head = std::fs::read_to_string(&head).unwrap_or_default();
    // The last block: after a `101 Switching Protocols` or a `100 Continue`.
    let last = head
        .trim_end()
        .rsplit("\r\n\r\n")
        .next()
        .unwrap_or_default();
    let headers = last
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_string()))
        .collect();
    Fetched {
        exit: output.status.code().unwrap_or(-1),
        status: status.parse().unwrap_or(0),
        version: version.to_string(),
        headers,
        body: std::fs::read(&body).unwrap_or_default(),
    }
}

//! The servers under test as child processes: starting one on a free
//! loopback port, waiting for it to listen, reading its `/proc` figures,
//! and killing it when done.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::num::NonZeroUsize;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::Res;
use crate::runner::pinning::Pinning;

/// How long a server has to print its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server process; killed when dropped.
pub(crate) struct ServerProcess {
    /// The process.
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
}

impl ServerProcess {
    /// The process id, for `/proc/PID`.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's CPU time so far, in clock ticks.
    pub(crate) fn cpu_ticks(&self) -> Res<u64> {
        crate::cpu_ticks(&format!("/proc/{}/stat", self.pid()))
    }

    /// Fails when the server has exited.
    pub(crate) fn check_alive(&mut self) -> Res<()> {
        match self.child.try_wait()? {
            Some(status) => Err(format!("the server exited ({status})").into()),
            None => Ok(()),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port: bind to port 0, note the port, release it.
pub(crate) fn free_port() -> Res<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Starts a server, pinned, with `--threads` when given and `extra`
/// options after, and waits for its `listening on` line.
pub(crate) fn start_server(
    pinning: &Pinning,
    threads: Option<NonZeroUsize>,
    binary: &Path,
    extra: &[&OsStr],
) -> Res<ServerProcess> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    let mut command = pinning.server(binary);
    command.arg("--addr").arg(addr.to_string());
    if let Some(threads) = threads {
        command.arg("--threads").arg(threads.to_string());
    }
    command.args(extra);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
    let stdout = child.stdout.take();
    let mut server = ServerProcess { child, addr };
    let stdout = stdout.ok_or("the server's stdout was not captured")?;
    let ready = watch_for_listening(stdout);
    wait_for_listening(&mut server, &ready, binary)?;
    Ok(server)
}

/// Reads the server's stdout to the end, so that it never blocks on a full
/// pipe, and reports each `listening on` line.
fn watch_for_listening(stdout: ChildStdout) -> mpsc::Receiver<()> {
    let (ready_tx, ready_rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(line) if line.starts_with("listening on") => {
                    let _ = ready_tx.send(());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    ready_rx
}

/// Waits for the `listening on` line, failing early when the server exits.
fn wait_for_listening(
    server: &mut ServerProcess,
    ready: &mpsc::Receiver<()>,
    binary: &Path,
) -> Res<()> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        match ready.recv_timeout(Duration::from_millis(50)) {
            Ok(()) => return Ok(()),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                server.check_alive()?;
                if Instant::now() > deadline {
                    return Err(format!(
                        "{} did not print `listening on` within {STARTUP_TIMEOUT:?}",
                        binary.display()
                    )
                    .into());
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                server.check_alive()?;
                return Err(format!(
                    "{} closed its stdout without printing `listening on`",
                    binary.display()
                )
                .into());
            }
        }
    }
}

/// Starts a pinned server that prints nothing useful (paf-server quiet,
/// nginx) and waits until every address in `addrs` accepts connections;
/// the first is the process's `addr`.
pub(crate) fn start_listening(mut command: Command, addrs: &[SocketAddr]) -> Res<ServerProcess> {
    let first = *addrs.first().ok_or("no address to wait for")?;
    command.stdin(Stdio::null()).stdout(Stdio::null());
    let child = command
        .spawn()
        .map_err(|error| format!("cannot start {command:?}: {error}"))?;
    let mut server = ServerProcess { child, addr: first };
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    for addr in addrs {
        while TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_err() {
            server.check_alive()?;
            if Instant::now() > deadline {
                return Err(format!(
                    "{command:?} did not listen on {addr} within {STARTUP_TIMEOUT:?}"
                )
                .into());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(server)
}

/// A `kB` line (VmHWM, VmRSS) of `/proc/PID/status`, in KiB.
pub(crate) fn status_kib(pid: u32, key: &str) -> Res<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let value = status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .ok_or_else(|| format!("no {key} in /proc/{pid}/status"))?;
    Ok(value.trim().trim_end_matches("kB").trim().parse()?)
}

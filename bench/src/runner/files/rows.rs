//! The rows of the static-file table and one measurement of each against
//! a running file server: wrk, h2load and `download-load` runs, the
//! handshake rate, and the memory an idle keep-alive connection costs.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use crate::Res;
use crate::runner::binaries::Binaries;
use crate::runner::context::Context;
use crate::runner::files::peers::{LARGE_BYTES, LARGE_PATH, PeerProcess, SMALL_BYTES, SMALL_PATH};
use crate::runner::parse::{parse_h2load_tls13, parse_wrk};
use crate::runner::process::status_kib;
use crate::runner::runs::{download_run, h2load_command, handshake_run, measure_warm, wrk_command};
use crate::runner::scenario::{CONNECTIONS, TLS_H2_CONNECTIONS, TLS_H2_STREAMS};

/// Connections of the large-file run.
pub(crate) const LARGE_CONNECTIONS: u32 = 4;
/// Idle connections opened to measure their memory.
pub(crate) const IDLE_CONNECTIONS: usize = 1000;

/// The rows, in the order they run and are printed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Row {
    /// 1 KiB, wrk keep-alive, clear text.
    SmallPlain,
    /// 1 KiB, wrk keep-alive over TLS 1.3 (HTTP/1.1).
    SmallTls,
    /// 1 KiB, h2load over TLS 1.3, `h2` by ALPN.
    SmallH2,
    /// 64 MiB, wrk with a few connections, clear text.
    Large,
    /// 64 MiB as `Large`, with `download-load`, which splices the bodies
    /// to `/dev/null` instead of copying them as wrk does.
    LargeSpliced,
    /// Full TLS 1.3 handshakes, one 1 KiB request each.
    Handshakes,
    /// The server's resident memory per idle keep-alive connection.
    IdleMemory,
}

impl Row {
    /// All of them; `IdleMemory` runs on a fresh process of its own.
    pub(crate) const ALL: [Row; 7] = [
        Row::SmallPlain,
        Row::SmallTls,
        Row::SmallH2,
        Row::Large,
        Row::LargeSpliced,
        Row::Handshakes,
        Row::IdleMemory,
    ];

    /// The first column: what the row measures, and its unit.
    pub(crate) fn label(self) -> String {
        match self {
            Row::SmallPlain => {
                format!("1 KiB, `wrk -c{CONNECTIONS}` keep-alive, clear text (req/s)")
            }
            Row::SmallTls => format!("1 KiB, `wrk -c{CONNECTIONS}` over TLS 1.3, HTTP/1.1 (req/s)"),
            Row::SmallH2 => format!(
                "1 KiB, `h2load -c{TLS_H2_CONNECTIONS} -m{TLS_H2_STREAMS}` over TLS 1.3, h2 (req/s)"
            ),
            Row::Large => format!("64 MiB, `wrk -c{LARGE_CONNECTIONS}`, clear text (GB/s)"),
            Row::LargeSpliced => format!(
                "64 MiB, `download-load --connections {LARGE_CONNECTIONS}` (spliced), clear text (GB/s)"
            ),
            Row::Handshakes => "TLS 1.3 full handshakes, 1 KiB each (handshakes/s)".to_string(),
            Row::IdleMemory => {
                format!("memory per idle keep-alive connection, {IDLE_CONNECTIONS} open (KiB)")
            }
        }
    }

    /// Decimals the table prints.
    pub(crate) fn decimals(self) -> usize {
        match self {
            Row::Large | Row::LargeSpliced => 2,
            Row::IdleMemory => 1,
            _ => 0,
        }
    }
}

/// One row's measurement against one server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Figure {
    /// What the table prints.
    pub(crate) value: f64,
    /// The run's errors.
    pub(crate) errors: u64,
    /// The server's CPU time per request (or handshake), in µs; none for
    /// the memory row.
    pub(crate) cpu_us: Option<f64>,
    /// The load generator's CPU time over the run's wall time; none for
    /// the memory row.
    pub(crate) load_busy: Option<f64>,
}

/// Measures one load row against a running server.
pub(crate) fn measure_row(
    context: &Context,
    binaries: &Binaries,
    peer: &mut PeerProcess,
    row: Row,
) -> Res<Figure> {
    let (plain, tls) = (peer.process.addr, peer.tls);
    let requests = context.args.requests;
    let server = &mut peer.process;
    let run = match row {
        Row::SmallPlain => {
            let url = format!("http://{plain}{SMALL_PATH}");
            let command = |span| wrk_command(context, CONNECTIONS, &url, span);
            measure_warm(context, server, command, parse_wrk)?
        }
        Row::SmallTls => {
            let url = format!("https://{tls}{SMALL_PATH}");
            let command = |span| wrk_command(context, CONNECTIONS, &url, span);
            measure_warm(context, server, command, parse_wrk)?
        }
        Row::SmallH2 => {
            let (c, m) = (TLS_H2_CONNECTIONS.to_string(), TLS_H2_STREAMS.to_string());
            let url = format!("https://{tls}{SMALL_PATH}");
            let args = ["-c", c.as_str(), "-m", m.as_str()];
            let command = |span| h2load_command(context, &args, &url, span);
            measure_warm(context, server, command, |out| {
                parse_h2load_tls13(out, requests)
            })?
        }
        Row::Large | Row::LargeSpliced => {
            let run = if row == Row::Large {
                let url = format!("http://{plain}{LARGE_PATH}");
                let command = |span| wrk_command(context, LARGE_CONNECTIONS, &url, span);
                measure_warm(context, server, command, parse_wrk)?
            } else {
                let target = (plain, LARGE_PATH);
                download_run(context, binaries, server, target, LARGE_CONNECTIONS)?
            };
            return Ok(Figure {
                value: run.rps * LARGE_BYTES as f64 / 1e9,
                errors: run.errors,
                cpu_us: Some(run.cpu_us_per_req),
                load_busy: Some(run.load_busy),
            });
        }
        Row::Handshakes => handshake_run(context, binaries, server, tls, SMALL_PATH)?,
        Row::IdleMemory => {
            return Ok(Figure {
                value: idle_kib_per_connection(peer)?,
                errors: 0,
                cpu_us: None,
                load_busy: None,
            });
        }
    };
    Ok(Figure {
        value: run.rps,
        errors: run.errors,
        cpu_us: Some(run.cpu_us_per_req),
        load_busy: Some(run.load_busy),
    })
}

/// Opens one connection and makes one request (so that lazily made state
/// is there), reads the server's RSS, opens `IDLE_CONNECTIONS` more that
/// each make one request and stay open, reads the RSS again, and divides
/// the growth by the connections. For one process: nginx runs with
/// `master_process off`.
fn idle_kib_per_connection(peer: &mut PeerProcess) -> Res<f64> {
    let addr = peer.process.addr;
    let pid = peer.process.pid();
    let first = one_request(addr)?;
    thread::sleep(Duration::from_millis(200));
    let before = status_kib(pid, "VmRSS")?;
    let mut open = Vec::with_capacity(IDLE_CONNECTIONS);
    for _ in 0..IDLE_CONNECTIONS {
        open.push(one_request(addr)?);
    }
    thread::sleep(Duration::from_millis(500));
    let after = status_kib(pid, "VmRSS")?;
    peer.process.check_alive()?;
    drop((first, open));
    Ok(after.saturating_sub(before) as f64 / IDLE_CONNECTIONS as f64)
}

/// A keep-alive connection that got the small file whole.
fn one_request(addr: SocketAddr) -> Res<TcpStream> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {SMALL_PATH} HTTP/1.1\r\nhost: localhost\r\n\r\n"
    )?;
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        response.extend_from_slice(&buf[..n]);
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            if !response.starts_with(b"HTTP/1.1 200") {
                return Err("the server did not answer 200".into());
            }
            let body = response.len() - (end + 4);
            if body >= SMALL_BYTES {
                return Ok(stream);
            }
        }
    }
}

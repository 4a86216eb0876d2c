//! One run of a load tool against a running server: wrk or h2load for a
//! load scenario, `handshake-load` for the handshakes, curl for the
//! upload, `client-load` for a client scenario. Each run reads the server's CPU time before and after, and
//! fails if the server died meanwhile.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::Res;
use crate::runner::args::wrk_duration_secs;
use crate::runner::binaries::Binaries;
use crate::runner::context::Context;
use crate::runner::parse::{
    parse_client_load, parse_download_load, parse_h2load, parse_h2load_tls13, parse_handshake_load,
    parse_wrk,
};
use crate::runner::process::{ServerProcess, status_kib};
use crate::runner::results::{ClientRun, LoadRun, UploadRun};
use crate::runner::scenario::{
    CLIENT_LOAD, CONNECTIONS, ClientScenario, H2C_CONNECTIONS, H2C_STREAMS, HANDSHAKE_TASKS,
    PIPELINE_DEPTH, Scenario, TLS_H2_CONNECTIONS, TLS_H2_STREAMS, UPLOAD_BYTES, Which,
};

/// Runs one load generator against a running server (in its TLS mode for
/// the TLS scenarios).
pub(crate) fn load_run(
    context: &Context,
    binaries: &Binaries,
    server: &mut ServerProcess,
    scenario: Scenario,
) -> Res<LoadRun> {
    if scenario == Scenario::Handshakes {
        let addr = server.addr;
        return handshake_run(context, binaries, server, addr, "/");
    }
    let scheme = if scenario.tls() { "https" } else { "http" };
    let url = format!("{scheme}://{}/", server.addr);
    let requests = context.args.requests;
    measure_warm(
        context,
        server,
        |span| load_command(context, scenario, &url, span),
        |stdout| match scenario {
            Scenario::Plain | Scenario::Pipelined | Scenario::TlsH1 => parse_wrk(stdout),
            Scenario::H2loadH1 => parse_h2load(stdout, requests, "http/1.1"),
            Scenario::H2loadH2c => parse_h2load(stdout, requests, "h2c"),
            Scenario::TlsH2 => parse_h2load_tls13(stdout, requests),
            Scenario::Handshakes => unreachable!("handshakes are counted by handshake-load"),
        },
    )
}

/// How long a load generator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Span {
    /// `--duration`, or `--requests` for h2load.
    Measured,
    /// One second of wrk or of this crate's load generators, a tenth of
    /// the requests of h2load; not measured.
    WarmUp,
}

impl Span {
    /// wrk's `-d`.
    fn duration(self, context: &Context) -> String {
        match self {
            Span::Measured => context.args.duration.clone(),
            // wrk counts whole seconds.
            Span::WarmUp => "1s".to_owned(),
        }
    }

    /// The span in seconds, for the load generators of this crate.
    fn secs(self, context: &Context) -> f64 {
        match self {
            Span::Measured => wrk_duration_secs(&context.args.duration),
            Span::WarmUp => 1.0,
        }
    }

    /// h2load's `-n`.
    fn requests(self, context: &Context) -> u64 {
        match self {
            Span::Measured => context.args.requests,
            Span::WarmUp => (context.args.requests / 10).max(1),
        }
    }
}

/// [`measure`]s the `Measured` span of `command` after running its
/// `WarmUp` span unmeasured: a server's first run on a new process pays
/// for its buffers, page faults and cold caches, and whichever server went
/// first in a round paid that alone. A failed warm-up shows in the
/// measured run.
pub(crate) fn measure_warm(
    context: &Context,
    server: &mut ServerProcess,
    command: impl Fn(Span) -> Command,
    parse: impl FnOnce(&str) -> Res<LoadRun>,
) -> Res<LoadRun> {
    let mut warm_up = command(Span::WarmUp);
    eprintln!("bench: warm-up {warm_up:?}");
    let _ = warm_up
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    measure(context, server, command(Span::Measured), parse)
}

/// Runs `command` against a running server, reads its output with
/// `parse`, and adds the server's CPU time per completed request.
pub(crate) fn measure(
    context: &Context,
    server: &mut ServerProcess,
    mut command: Command,
    parse: impl FnOnce(&str) -> Res<LoadRun>,
) -> Res<LoadRun> {
    eprintln!("bench: {command:?}");
    let before = server.cpu_ticks()?;
    let load_before = crate::children_cpu_ticks()?;
    let start = Instant::now();
    let output = command.stdin(Stdio::null()).output()?;
    let wall = start.elapsed().as_secs_f64();
    let load_after = crate::children_cpu_ticks()?;
    let after = server.cpu_ticks()?;
    server.check_alive()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "load generator failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let mut run = parse(&stdout).map_err(|error| format!("{error}; output:\n{stdout}"))?;
    if run.completed == 0 {
        return Err(format!("no request completed; output:\n{stdout}").into());
    }
    let cpu_secs = after.saturating_sub(before) as f64 / context.clock_ticks;
    run.cpu_us_per_req = cpu_secs * 1e6 / run.completed as f64;
    let load_secs = load_after.saturating_sub(load_before) as f64 / context.clock_ticks;
    run.load_busy = load_secs / wall.max(f64::EPSILON);
    Ok(run)
}

/// Runs `handshake-load` against a server's TLS address `addr` for
/// `--duration`, asking for `path`: the rate is handshakes per second, the
/// CPU per handshake.
pub(crate) fn handshake_run(
    context: &Context,
    binaries: &Binaries,
    server: &mut ServerProcess,
    addr: SocketAddr,
    path: &str,
) -> Res<LoadRun> {
    let load = binaries
        .handshake_load
        .as_ref()
        .ok_or("handshake-load is missing")?;
    let (cert, _) = context.certificate()?;
    let mut command = context.pinning.load(load);
    // No warm-up: the server's CPU is read around the whole run.
    command
        .arg("--addr")
        .arg(addr.to_string())
        .arg("--cert")
        .arg(cert)
        .args(["--path", path, "--warmup", "0", "--concurrency"])
        .arg(HANDSHAKE_TASKS.to_string())
        .arg("--duration")
        .arg(Span::Measured.secs(context).to_string());
    measure(context, server, command, parse_handshake_load)
}

/// Runs `download-load` with `connections` against a server's clear-text
/// address `addr`, asking for `path`, after a warm-up of one second: the
/// rate is downloads per second, the CPU per download.
pub(crate) fn download_run(
    context: &Context,
    binaries: &Binaries,
    server: &mut ServerProcess,
    (addr, path): (SocketAddr, &str),
    connections: u32,
) -> Res<LoadRun> {
    let load = binaries
        .download_load
        .as_ref()
        .ok_or("download-load is missing")?;
    let command = |span: Span| {
        let mut command = context.pinning.load(load);
        command
            .arg("--addr")
            .arg(addr.to_string())
            .args(["--path", path, "--warmup", "0", "--connections"])
            .arg(connections.to_string())
            .arg("--duration")
            .arg(span.secs(context).to_string());
        command
    };
    measure_warm(context, server, command, parse_download_load)
}

/// The wrk or h2load command of a load scenario, on the load generator's
/// CPUs.
fn load_command(context: &Context, scenario: Scenario, url: &str, span: Span) -> Command {
    let duration = span.duration(context);
    let connections = CONNECTIONS.to_string();
    match scenario {
        Scenario::Plain | Scenario::Pipelined => {
            let mut command = context.pinning.load("wrk");
            command.args(["-t1", "-c", &connections, "-d", &duration]);
            if scenario == Scenario::Pipelined {
                command.arg("-s").arg(&context.pipeline_lua);
            }
            command.arg(url);
            if scenario == Scenario::Pipelined {
                command.arg("--").arg(PIPELINE_DEPTH.to_string());
            }
            command
        }
        Scenario::H2loadH1 => h2load_command(context, &["--h1", "-c", &connections], url, span),
        Scenario::TlsH1 => wrk_command(context, CONNECTIONS, url, span),
        Scenario::Handshakes => unreachable!("handshakes are counted by handshake-load"),
        Scenario::TlsH2 => h2load_command(
            context,
            &[
                "-c",
                &TLS_H2_CONNECTIONS.to_string(),
                "-m",
                &TLS_H2_STREAMS.to_string(),
            ],
            url,
            span,
        ),
        Scenario::H2loadH2c => h2load_command(
            context,
            &[
                "-c",
                &H2C_CONNECTIONS.to_string(),
                "-m",
                &H2C_STREAMS.to_string(),
            ],
            url,
            span,
        ),
    }
}

/// `wrk -t1 -c CONNECTIONS -d DURATION URL`, on the load generator's CPUs.
pub(crate) fn wrk_command(context: &Context, connections: u32, url: &str, span: Span) -> Command {
    let mut command = context.pinning.load("wrk");
    command
        .args(["-t1", "-c"])
        .arg(connections.to_string())
        .arg("-d")
        .arg(span.duration(context))
        .arg(url);
    command
}

/// `h2load -n REQUESTS ARGS -t 1 URL`, on the load generator's CPUs.
pub(crate) fn h2load_command(context: &Context, args: &[&str], url: &str, span: Span) -> Command {
    let mut command = context.pinning.load("h2load");
    command
        .arg("-n")
        .arg(span.requests(context).to_string())
        .args(args)
        .args(["-t", "1"])
        .arg(url);
    command
}

/// Uploads the file with curl and checks the answer.
pub(crate) fn upload_run(
    context: &Context,
    server: &mut ServerProcess,
    file: &Path,
) -> Res<UploadRun> {
    let url = format!("http://{}/upload", server.addr);
    let mut command = context.pinning.load("curl");
    command
        .args(["-sS", "--http1.1", "-X", "POST", "-T"])
        .arg(file)
        .args(["-o", "-", "-w", "\n%{http_code}"])
        .arg(&url);
    eprintln!("bench: {command:?}");
    let before = server.cpu_ticks()?;
    let start = Instant::now();
    let output = command.stdin(Stdio::null()).output()?;
    let secs = start.elapsed().as_secs_f64();
    let after = server.cpu_ticks()?;
    let peak_rss_kib = status_kib(server.pid(), "VmHWM")?;
    server.check_alive()?;
    if !output.status.success() {
        return Err(format!(
            "curl failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (body, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    let ok = code == "200" && body.trim() == UPLOAD_BYTES.to_string();
    Ok(UploadRun {
        ok,
        reply: format!("{code} {:?}", body.trim_end_matches('\n')),
        secs,
        cpu_ms: after.saturating_sub(before) as f64 / context.clock_ticks * 1e3,
        peak_rss_kib,
    })
}

/// Runs `client-load` with one client against a running server.
pub(crate) fn client_run(
    context: &Context,
    server: &mut ServerProcess,
    load: &Path,
    which: Which,
    scenario: ClientScenario,
) -> Res<ClientRun> {
    let scheme = if scenario.tls() { "https" } else { "http" };
    let url = format!("{scheme}://{}/", server.addr);
    let mut command = client_command(context, load, which, scenario, &url)?;
    eprintln!("bench: {command:?}");
    let before = server.cpu_ticks()?;
    let start = Instant::now();
    let output = command.stdin(Stdio::null()).output()?;
    let wall = start.elapsed().as_secs_f64();
    let after = server.cpu_ticks()?;
    server.check_alive()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // `client-load` prints its line even when some requests failed (and
    // then exits with 1): the errors are counted, not fatal.
    let mut run = parse_client_load(&stdout).map_err(|error| {
        format!(
            "{error}; {CLIENT_LOAD} exited with {}: {stdout}{stderr}",
            output.status
        )
    })?;
    if run.completed == 0 {
        return Err(format!("no request completed: {stdout}{stderr}").into());
    }
    if run.errors > 0 {
        eprint!("{stderr}");
    }
    run.server_busy = after.saturating_sub(before) as f64 / context.clock_ticks / wall;
    Ok(run)
}

/// `client-load [--cert CERT] --client WHICH --proto PROTO --url URL ...`,
/// on the load generator's CPUs.
fn client_command(
    context: &Context,
    load: &Path,
    which: Which,
    scenario: ClientScenario,
    url: &str,
) -> Res<Command> {
    let args = &context.args;
    let mut command = context.pinning.load(load);
    if scenario.tls() {
        command.arg("--cert").arg(context.certificate()?.0);
    }
    command
        .args(["--client", which.name(), "--proto", scenario.proto()])
        .arg("--url")
        .arg(url)
        .arg("--concurrency")
        .arg(args.client_concurrency.to_string())
        .arg("--warmup")
        .arg(args.client_warmup.to_string())
        .arg("--duration")
        .arg(args.client_duration.to_string());
    if let Some(threads) = args.client_threads {
        command.arg("--threads").arg(threads.to_string());
    }
    Ok(command)
}

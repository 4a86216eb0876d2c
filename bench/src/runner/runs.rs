//! One run of a load tool against a running server: wrk or h2load for a
//! load scenario, curl for the upload, `client-load` for a client
//! scenario. Each run reads the server's CPU time before and after, and
//! fails if the server died meanwhile.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::Res;
use crate::runner::context::Context;
use crate::runner::parse::{parse_client_load, parse_h2load, parse_wrk};
use crate::runner::process::{ServerProcess, status_kib};
use crate::runner::results::{ClientRun, LoadRun, UploadRun};
use crate::runner::scenario::{
    CLIENT_LOAD, CONNECTIONS, ClientScenario, H2C_CONNECTIONS, H2C_STREAMS, PIPELINE_DEPTH,
    Scenario, UPLOAD_BYTES, Which,
};

/// Runs one load generator against a running server.
pub(crate) fn load_run(
    context: &Context,
    server: &mut ServerProcess,
    scenario: Scenario,
) -> Res<LoadRun> {
    let url = format!("http://{}/", server.addr);
    let mut command = load_command(context, scenario, &url);
    eprintln!("bench: {command:?}");
    let before = server.cpu_ticks()?;
    let output = command.stdin(Stdio::null()).output()?;
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
    let mut run = match scenario {
        Scenario::Plain | Scenario::Pipelined => parse_wrk(&stdout),
        Scenario::H2loadH1 => parse_h2load(&stdout, context.args.requests, "http/1.1"),
        Scenario::H2loadH2c => parse_h2load(&stdout, context.args.requests, "h2c"),
    }
    .map_err(|error| format!("{error}; output:\n{stdout}"))?;
    if run.completed == 0 {
        return Err(format!("no request completed; output:\n{stdout}").into());
    }
    let cpu_secs = after.saturating_sub(before) as f64 / context.clock_ticks;
    run.cpu_us_per_req = cpu_secs * 1e6 / run.completed as f64;
    Ok(run)
}

/// The wrk or h2load command of a load scenario, on the load generator's
/// CPUs.
fn load_command(context: &Context, scenario: Scenario, url: &str) -> Command {
    let duration = context.args.duration.as_str();
    let connections = CONNECTIONS.to_string();
    match scenario {
        Scenario::Plain | Scenario::Pipelined => {
            let mut command = context.pinning.load("wrk");
            command.args(["-t1", "-c", &connections, "-d", duration]);
            if scenario == Scenario::Pipelined {
                command.arg("-s").arg(&context.pipeline_lua);
            }
            command.arg(url);
            if scenario == Scenario::Pipelined {
                command.arg("--").arg(PIPELINE_DEPTH.to_string());
            }
            command
        }
        Scenario::H2loadH1 => h2load_command(context, &["--h1", "-c", &connections], url),
        Scenario::H2loadH2c => h2load_command(
            context,
            &[
                "-c",
                &H2C_CONNECTIONS.to_string(),
                "-m",
                &H2C_STREAMS.to_string(),
            ],
            url,
        ),
    }
}

/// `h2load -n REQUESTS ARGS -t 1 URL`, on the load generator's CPUs.
fn h2load_command(context: &Context, args: &[&str], url: &str) -> Command {
    let mut command = context.pinning.load("h2load");
    command
        .arg("-n")
        .arg(context.args.requests.to_string())
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
    let url = format!("http://{}/", server.addr);
    let mut command = client_command(context, load, which, scenario, &url);
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

/// `client-load --client WHICH --proto PROTO --url URL ...`, on the load
/// generator's CPUs.
fn client_command(
    context: &Context,
    load: &Path,
    which: Which,
    scenario: ClientScenario,
    url: &str,
) -> Command {
    let args = &context.args;
    let mut command = context.pinning.load(load);
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
    command
}

//! Compares the paf and hyper HTTP/1.1 and HTTP/2 (h2c) servers
//! (`paf-hello`, `hyper-hello`) with `wrk`, `h2load` and `curl`, and the
//! paf and hyper-util clients (`client-load`) against one of those servers,
//! and prints the results as markdown tables. Linux only (it reads
//! `/proc`). See `bench/README.md`.
//!
//! ```text
//! cargo build -p bench --release --bins && cargo run -p bench --release --bin bench
//! ```

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};

/// The wrk script for the pipelined run, written to the scratch directory.
const PIPELINE_LUA: &str = include_str!("../../pipeline.lua");
/// Requests per write in the pipelined run.
const PIPELINE_DEPTH: u32 = 16;
/// Connections in every HTTP/1.1 load run.
const CONNECTIONS: u32 = 64;
/// Connections in the h2c run: fewer than over HTTP/1.1, since each one
/// carries many requests at once.
const H2C_CONNECTIONS: u32 = 16;
/// Concurrent streams per connection in the h2c run.
const H2C_STREAMS: u32 = 64;
/// The size of the uploaded file.
const UPLOAD_BYTES: u64 = 100 * 1024 * 1024;
/// How long a server has to print its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Target: paf's pipelined req/s over hyper's.
const TARGET_PIPELINED_RATIO: f64 = 1.25;
/// Target: paf's CPU per request over hyper's, plain keep-alive run.
const TARGET_PLAIN_CPU_RATIO: f64 = 1.0;
/// Target: paf's peak RSS during the 100 MiB upload, in KiB.
const TARGET_UPLOAD_RSS_KIB: u64 = 16 * 1024;
/// Target: paf's h2c req/s over hyper's.
const TARGET_H2C_RATIO: f64 = 1.0;
/// Target: `paf::Client`'s req/s over hyper-util's, in the client
/// scenarios.
const TARGET_CLIENT_RATIO: f64 = 1.1;
/// The client scenarios' load generator.
const CLIENT_LOAD: &str = "client-load";

type Res<T> = Result<T, Box<dyn Error>>;

/// Command-line options.
#[derive(Parser)]
#[command(about = "Compare the paf and hyper HTTP/1.1 and h2c servers with wrk, h2load and curl")]
struct Args {
    /// Length of each wrk run, in wrk's syntax (10s, 1m, ...).
    #[arg(long, default_value = "10s", value_parser = parse_wrk_duration)]
    duration: String,
    /// Requests in each h2load run.
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Run only the named servers and/or scenarios (repeat the option or
    /// separate with commas). Naming no server runs both; naming no
    /// scenario runs them all and the upload.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Only>,
    /// Run the servers on a multi-thread runtime with this many workers
    /// (default: a current-thread runtime). The servers are pinned to this
    /// many cores, the load generators to the rest.
    #[arg(long)]
    threads: Option<NonZeroUsize>,
    /// Skip the 100 MiB upload.
    #[arg(long)]
    skip_upload: bool,
    /// Do not run `cargo build` when a server binary is missing.
    #[arg(long)]
    no_build: bool,
    /// Rounds of every load scenario, the servers taking turns; the report
    /// gives the median round, which keeps a noisy machine from deciding.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The server the client scenarios load.
    #[arg(long, value_enum, default_value = "hyper")]
    client_server: Which,
    /// Tasks sending requests through the one client in the client
    /// scenarios, one request in flight each.
    #[arg(long, default_value_t = 32)]
    client_concurrency: usize,
    /// Seconds of load before each client scenario's measured window.
    #[arg(long, default_value_t = 1.0)]
    client_warmup: f64,
    /// Seconds of each client scenario's measured window.
    #[arg(long, default_value_t = 5.0)]
    client_duration: f64,
    /// Run the clients on a multi-thread runtime with this many workers
    /// (default: a current-thread runtime). They stay pinned to the load
    /// generator's CPUs.
    #[arg(long)]
    client_threads: Option<NonZeroUsize>,
}

/// Accepts wrk's duration syntax: a number with an optional unit.
fn parse_wrk_duration(s: &str) -> Result<String, String> {
    let digits = s.trim_end_matches(['s', 'm', 'h']);
    let unit = &s[digits.len()..];
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && unit.len() <= 1 {
        Ok(s.to_string())
    } else {
        Err(format!("`{s}` is not a wrk duration such as 10s, 2m or 1h"))
    }
}

/// The servers under test.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, ValueEnum)]
enum Which {
    /// `paf-hello`.
    Paf,
    /// `hyper-hello`.
    Hyper,
}

impl Which {
    const ALL: [Which; 2] = [Which::Paf, Which::Hyper];

    fn name(self) -> &'static str {
        match self {
            Which::Paf => "paf",
            Which::Hyper => "hyper",
        }
    }

    fn binary(self) -> &'static str {
        match self {
            Which::Paf => "paf-hello",
            Which::Hyper => "hyper-hello",
        }
    }
}

/// The load scenarios, in the order they run and are printed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Scenario {
    /// wrk, one request in flight per connection.
    Plain,
    /// wrk, `PIPELINE_DEPTH` requests written at once.
    Pipelined,
    /// h2load over HTTP/1.1 (`--h1`).
    H2loadH1,
    /// h2load over HTTP/2 with prior knowledge, many streams per connection.
    H2loadH2c,
}

impl Scenario {
    const ALL: [Scenario; 4] = [
        Scenario::Plain,
        Scenario::Pipelined,
        Scenario::H2loadH1,
        Scenario::H2loadH2c,
    ];

    /// The name `--only` takes and the log uses.
    fn name(self) -> &'static str {
        match self {
            Scenario::Plain => "plain",
            Scenario::Pipelined => "pipelined",
            Scenario::H2loadH1 => "h2load-h1",
            Scenario::H2loadH2c => "h2load-h2c",
        }
    }
}

/// The client scenarios: `client-load` with each client against one server.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum ClientScenario {
    /// HTTP/1.1 keep-alive, a connection per task.
    H1,
    /// HTTP/2 with prior knowledge, streams on a shared connection.
    H2,
}

impl ClientScenario {
    const ALL: [ClientScenario; 2] = [ClientScenario::H1, ClientScenario::H2];

    /// The name `--only` takes and the log uses.
    fn name(self) -> &'static str {
        match self {
            ClientScenario::H1 => "client-h1",
            ClientScenario::H2 => "client-h2",
        }
    }

    /// `client-load --proto`.
    fn proto(self) -> &'static str {
        match self {
            ClientScenario::H1 => "h1",
            ClientScenario::H2 => "h2",
        }
    }
}

/// What `--only` can name: a server (or client) or a scenario.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Only {
    /// The `paf-hello` server.
    Paf,
    /// The `hyper-hello` server.
    Hyper,
    /// wrk, plain keep-alive.
    Plain,
    /// wrk, 16-deep pipelining.
    Pipelined,
    /// h2load over HTTP/1.1 (`--h1`).
    #[value(name = "h2load-h1", alias = "h2load")]
    H2loadH1,
    /// h2load over h2c prior knowledge, 16 connections of 64 streams.
    #[value(name = "h2load-h2c")]
    H2loadH2c,
    /// The 100 MiB upload (also skipped by `--skip-upload`).
    Upload,
    /// `paf::Client` against hyper-util's client, HTTP/1.1 keep-alive.
    #[value(name = "client-h1")]
    ClientH1,
    /// `paf::Client` against hyper-util's client, h2c prior knowledge.
    #[value(name = "client-h2")]
    ClientH2,
}

/// What `--only` leaves to run.
struct Selection {
    /// The servers to run, in `Which::ALL` order; in the client scenarios,
    /// the clients.
    servers: Vec<Which>,
    /// The load scenarios to run, in `Scenario::ALL` order.
    scenarios: Vec<Scenario>,
    /// Whether to run the upload.
    upload: bool,
    /// The client scenarios to run, in `ClientScenario::ALL` order.
    clients: Vec<ClientScenario>,
}

impl Selection {
    fn new(only: &[Only], skip_upload: bool) -> Selection {
        let mut servers = Vec::new();
        let mut scenarios = Vec::new();
        let mut upload = false;
        let mut clients = Vec::new();
        for &item in only {
            match item {
                Only::Paf => servers.push(Which::Paf),
                Only::Hyper => servers.push(Which::Hyper),
                Only::Plain => scenarios.push(Scenario::Plain),
                Only::Pipelined => scenarios.push(Scenario::Pipelined),
                Only::H2loadH1 => scenarios.push(Scenario::H2loadH1),
                Only::H2loadH2c => scenarios.push(Scenario::H2loadH2c),
                Only::Upload => upload = true,
                Only::ClientH1 => clients.push(ClientScenario::H1),
                Only::ClientH2 => clients.push(ClientScenario::H2),
            }
        }
        // Naming no scenario at all means all of them, the upload and the
        // client scenarios included.
        let all_scenarios = scenarios.is_empty() && !upload && clients.is_empty();
        Selection {
            servers: Which::ALL
                .into_iter()
                .filter(|which| servers.is_empty() || servers.contains(which))
                .collect(),
            scenarios: Scenario::ALL
                .into_iter()
                .filter(|scenario| all_scenarios || scenarios.contains(scenario))
                .collect(),
            upload: (all_scenarios || upload) && !skip_upload,
            clients: ClientScenario::ALL
                .into_iter()
                .filter(|scenario| all_scenarios || clients.contains(scenario))
                .collect(),
        }
    }

    /// Whether a server scenario or the upload is to run.
    fn servers_work(&self) -> bool {
        !self.scenarios.is_empty() || self.upload
    }
}

/// One load run against one server.
struct LoadRun {
    /// Completed requests per second, as the load generator reports it.
    rps: f64,
    /// Requests that completed successfully.
    completed: u64,
    /// Failed requests, socket errors and unexpected status codes.
    errors: u64,
    /// What the errors were, from the load generator's output.
    error_detail: String,
    /// Server CPU time (user + system) per completed request.
    cpu_us_per_req: f64,
}

/// The upload run against one server.
struct UploadRun {
    /// Whether the server answered 200 with the right byte count.
    ok: bool,
    /// The status code and body it answered.
    reply: String,
    /// Wall time of the upload.
    secs: f64,
    /// Server CPU time (user + system) during the upload.
    cpu_ms: f64,
    /// The server's peak resident set size (VmHWM), fresh process.
    peak_rss_kib: u64,
}

/// One client scenario run of one client.
struct ClientRun {
    /// Responses per second over the measured window.
    rps: f64,
    /// Responses read whole and as expected in the window.
    completed: u64,
    /// Failed requests and unexpected responses, warm-up included.
    errors: u64,
    /// The client process's CPU time (user + system) per response.
    cpu_us_per_req: f64,
    /// The client process's CPU time over the window's wall time.
    client_busy: f64,
    /// The server's CPU time over the whole `client-load` run (warm-up and
    /// start-up included, so a little low).
    server_busy: f64,
}

/// Everything measured for one server, and for the client of the same
/// name. `None` means not run.
#[derive(Default)]
struct Results {
    load: HashMap<Scenario, Result<LoadRun, String>>,
    upload: Option<Result<UploadRun, String>>,
    client: HashMap<ClientScenario, Result<ClientRun, String>>,
}

/// A running server process; killed when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails when the server has exited.
    fn check_alive(&mut self) -> Res<()> {
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

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Where the servers and the load generators run.
struct Pinning {
    /// `taskset -c` lists, when pinning.
    cpus: Option<(String, String)>,
    /// A sentence for the report.
    description: String,
}

impl Pinning {
    fn server(&self, program: &Path) -> Command {
        pinned(
            self.cpus.as_ref().map(|(server, _)| server.as_str()),
            program,
        )
    }

    fn load(&self, program: impl AsRef<Path>) -> Command {
        pinned(
            self.cpus.as_ref().map(|(_, load)| load.as_str()),
            program.as_ref(),
        )
    }
}

fn pinned(cpus: Option<&str>, program: &Path) -> Command {
    match cpus {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpus).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// The fixed parts of every run.
struct Context {
    args: Args,
    selection: Selection,
    pinning: Pinning,
    clock_ticks: f64,
    scratch: Scratch,
    pipeline_lua: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs everything; `Ok(false)` when a run failed or had errors.
fn run(args: Args) -> Res<bool> {
    let selection = Selection::new(&args.only, args.skip_upload);
    let mut needed = Vec::new();
    let scenarios = &selection.scenarios;
    if scenarios.contains(&Scenario::Plain) || scenarios.contains(&Scenario::Pipelined) {
        needed.push("wrk");
    }
    if scenarios.contains(&Scenario::H2loadH1) || scenarios.contains(&Scenario::H2loadH2c) {
        needed.push("h2load");
    }
    if selection.upload {
        needed.push("curl");
    }
    let missing: Vec<&str> = needed
        .into_iter()
        .filter(|tool| find_in_path(tool).is_none())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "bench: missing load tools: {} (Debian/Ubuntu: apt-get install wrk nghttp2-client curl)",
            missing.join(", ")
        );
        std::process::exit(2);
    }

    let wanted = selection.servers.clone();
    let mut names = Vec::new();
    if selection.servers_work() {
        names.extend(wanted.iter().map(|which| which.binary()));
    }
    if !selection.clients.is_empty() {
        names.extend([args.client_server.binary(), CLIENT_LOAD]);
    }
    names.sort_unstable();
    names.dedup();
    let found = locate_binaries(&names, args.no_build)?;
    let binaries: Vec<(Which, PathBuf)> = if selection.servers_work() {
        wanted
            .iter()
            .filter_map(|&which| found.get(which.binary()).map(|path| (which, path.clone())))
            .collect()
    } else {
        Vec::new()
    };
    let client_binaries = if selection.clients.is_empty() {
        None
    } else {
        match (
            found.get(args.client_server.binary()),
            found.get(CLIENT_LOAD),
        ) {
            (Some(server), Some(load)) => Some((server.clone(), load.clone())),
            _ => {
                eprintln!("bench: !!! skipping the client scenarios: a binary is missing");
                None
            }
        }
    };
    if binaries.is_empty() && client_binaries.is_none() {
        return Err("no binary to benchmark".into());
    }

    let pinning = plan_pinning(args.threads.map_or(1, NonZeroUsize::get));
    let clock_ticks = clock_ticks();
    let dir = std::env::temp_dir().join(format!("paf-bench-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    let scratch = Scratch(dir);
    let pipeline_lua = scratch.0.join("pipeline.lua");
    fs::write(&pipeline_lua, PIPELINE_LUA)?;
    let context = Context {
        args,
        selection,
        pinning,
        clock_ticks,
        scratch,
        pipeline_lua,
    };
    eprintln!("bench: {}", context.pinning.description);

    let upload_file = if context.selection.upload {
        Some(make_upload_file(&context.scratch.0)?)
    } else {
        None
    };

    let mut rounds: HashMap<Which, Vec<Results>> = HashMap::new();
    for round in 0..context.args.rounds.max(1) {
        eprintln!("bench: round {}", round + 1);
        // The upload measures memory, which does not vary: once is enough.
        let upload = if round == 0 {
            upload_file.as_deref()
        } else {
            None
        };
        for &(which, ref binary) in &binaries {
            let result = bench_server(&context, which, binary, upload);
            rounds.entry(which).or_default().push(result);
        }
        if let Some((server, load)) = &client_binaries {
            // The clients take turns, the first one changing every round.
            let mut order = wanted.clone();
            if round % 2 == 1 {
                order.reverse();
            }
            for (which, result) in bench_clients(&context, server, load, &order) {
                rounds.entry(which).or_default().push(result);
            }
        }
    }
    let results: HashMap<Which, Results> = rounds
        .into_iter()
        .map(|(which, rounds)| (which, median(rounds)))
        .collect();

    let report = render(&context, &wanted, &results);
    let mut stdout = std::io::stdout();
    stdout.write_all(report.as_bytes())?;
    stdout.flush()?;

    Ok(report_problems(&wanted, &context.selection, &results))
}

/// Finds the named binaries of this crate (`paf-hello`, `hyper-hello`,
/// `client-load`) next to this executable, building them when they are
/// missing (unless told not to). Missing ones are left out with a loud
/// note.
fn locate_binaries(names: &[&'static str], no_build: bool) -> Res<HashMap<&'static str, PathBuf>> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or("the runner's executable has no parent directory")?
        .to_path_buf();
    let profile = dir
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("")
        .to_string();
    if profile != "release" {
        eprintln!(
            "bench: !!! the runner is not in a `release` directory ({}); \
             use `cargo run -p bench --release --bin bench` for meaningful numbers",
            dir.display()
        );
    }
    let path = |name: &str| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));

    if names.iter().any(|name| !path(name).is_file()) && !no_build {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .arg("build")
            .arg("--manifest-path")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .args(["-p", "bench", "--bins"]);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                command.arg("--release");
            }
            other => {
                command.args(["--profile", other]);
            }
        }
        eprintln!("bench: a binary is missing; running {command:?}");
        let status = command.status()?;
        if !status.success() {
            eprintln!("bench: !!! the build failed ({status}); going on with what is there");
        }
    }

    let mut found = HashMap::new();
    for &name in names {
        let binary = path(name);
        if binary.is_file() {
            found.insert(name, binary);
        } else {
            eprintln!(
                "bench: !!! {name} not found at {}: skipping what needs it \
                 (build it with `cargo build -p bench --release --bins`)",
                binary.display(),
            );
        }
    }
    Ok(found)
}

/// The CPUs this process may run on, from `/proc/self/status`.
fn allowed_cpus() -> Vec<usize> {
    let list = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
                .map(|list| list.trim().to_string())
        })
        .unwrap_or_default();
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|part| !part.is_empty()) {
        let range: Option<(usize, usize)> = match part.split_once('-') {
            Some((first, last)) => first.parse().ok().zip(last.parse().ok()),
            None => part.parse().ok().map(|cpu| (cpu, cpu)),
        };
        match range {
            Some((first, last)) => cpus.extend(first..=last),
            None => return fallback_cpus(),
        }
    }
    if cpus.is_empty() {
        fallback_cpus()
    } else {
        cpus
    }
}

fn fallback_cpus() -> Vec<usize> {
    let count = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    (0..count).collect()
}

/// Pins the server to its first `server_cpus` CPUs and the load generator
/// to the rest, when there are enough of them and `taskset` is there.
fn plan_pinning(server_cpus: usize) -> Pinning {
    let cpus = allowed_cpus();
    let list = |cpus: &[usize]| {
        cpus.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    if cpus.len() <= server_cpus {
        return Pinning {
            cpus: None,
            description: format!(
                "!!! {} CPU(s) for a server wanting {server_cpus}: not pinning; \
                 server and load generator share the CPUs",
                cpus.len()
            ),
        };
    }
    if find_in_path("taskset").is_none() {
        return Pinning {
            cpus: None,
            description: "!!! taskset not found: not pinning".to_string(),
        };
    }
    let (server, load) = cpus.split_at(server_cpus);
    let (server, load) = (list(server), list(load));
    Pinning {
        description: format!(
            "{} CPUs; server pinned to CPU {server} (`taskset -c {server}`), \
             load generator to CPU {load} (`taskset -c {load}`)",
            cpus.len()
        ),
        cpus: Some((server, load)),
    }
}

/// `getconf CLK_TCK`, 100 when that fails.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|&ticks| ticks > 0.0)
        .unwrap_or(100.0)
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            fs::metadata(candidate)
                .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Writes a file of `UPLOAD_BYTES` zeros.
fn make_upload_file(dir: &Path) -> Res<PathBuf> {
    let path = dir.join("upload.bin");
    let mut file = std::io::BufWriter::new(fs::File::create(&path)?);
    let chunk = vec![0u8; 1024 * 1024];
    let mut written = 0;
    while written < UPLOAD_BYTES {
        file.write_all(&chunk)?;
        written += chunk.len() as u64;
    }
    file.flush()?;
    Ok(path)
}

/// A free loopback port: bind to port 0, note the port, release it.
fn free_port() -> Res<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Starts a server and waits for its `listening on` line.
fn start_server(context: &Context, binary: &Path) -> Res<ServerProcess> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    let mut command = context.pinning.server(binary);
    command.arg("--addr").arg(addr.to_string());
    if let Some(threads) = context.args.threads {
        command.arg("--threads").arg(threads.to_string());
    }
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

    // Reads the server's stdout to the end, so that it never blocks on a
    // full pipe, and reports the `listening on` line.
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
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        match ready_rx.recv_timeout(Duration::from_millis(50)) {
            Ok(()) => return Ok(server),
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

/// A `kB` line (VmHWM, VmRSS) of `/proc/PID/status`, in KiB.
fn status_kib(pid: u32, key: &str) -> Res<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let value = status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .ok_or_else(|| format!("no {key} in /proc/{pid}/status"))?;
    Ok(value.trim().trim_end_matches("kB").trim().parse()?)
}

/// Runs all the scenarios against one server; failures are recorded, not
/// returned, so that the other server still runs.
fn bench_server(context: &Context, which: Which, binary: &Path, upload: Option<&Path>) -> Results {
    let mut results = Results::default();
    eprintln!("bench: == {} ({})", which.name(), binary.display());
    match start_server(context, binary) {
        Ok(mut server) => {
            eprintln!("bench: {} listening on {}", which.name(), server.addr);
            for &scenario in &context.selection.scenarios {
                let run = load_run(context, &mut server, scenario).map_err(|e| e.to_string());
                if let Err(error) = &run {
                    eprintln!(
                        "bench: !!! {} {} failed: {error}",
                        which.name(),
                        scenario.name()
                    );
                }
                results.load.insert(scenario, run);
            }
        }
        Err(error) => {
            let error = format!("server did not start: {error}");
            eprintln!("bench: !!! {}: {error}", which.name());
            for &scenario in &context.selection.scenarios {
                results.load.insert(scenario, Err(error.clone()));
            }
        }
    }
    if let Some(file) = upload {
        // VmHWM is a lifetime peak: measure the upload on a fresh process.
        let run = start_server(context, binary)
            .and_then(|mut server| upload_run(context, &mut server, file))
            .map_err(|e| e.to_string());
        if let Err(error) = &run {
            eprintln!("bench: !!! {} upload failed: {error}", which.name());
        }
        results.upload = Some(run);
    }
    results
}

/// Runs the client scenarios of one round against a fresh `server`, each
/// client in `order` in turn; failures are recorded, not returned.
fn bench_clients(
    context: &Context,
    server: &Path,
    load: &Path,
    order: &[Which],
) -> Vec<(Which, Results)> {
    let mut results: Vec<(Which, Results)> = order
        .iter()
        .map(|&which| (which, Results::default()))
        .collect();
    let name = context.args.client_server.binary();
    eprintln!("bench: == clients against {name} ({})", server.display());
    match start_server(context, server) {
        Ok(mut server) => {
            eprintln!("bench: {name} listening on {}", server.addr);
            for &scenario in &context.selection.clients {
                for (which, results) in &mut results {
                    let run = client_run(context, &mut server, load, *which, scenario)
                        .map_err(|e| e.to_string());
                    if let Err(error) = &run {
                        eprintln!(
                            "bench: !!! {} {} failed: {error}",
                            which.name(),
                            scenario.name()
                        );
                    }
                    results.client.insert(scenario, run);
                }
            }
        }
        Err(error) => {
            let error = format!("{name} did not start: {error}");
            eprintln!("bench: !!! {error}");
            for (_, results) in &mut results {
                for &scenario in &context.selection.clients {
                    results.client.insert(scenario, Err(error.clone()));
                }
            }
        }
    }
    results
}

/// Runs `client-load` with one client against a running server.
fn client_run(
    context: &Context,
    server: &mut ServerProcess,
    load: &Path,
    which: Which,
    scenario: ClientScenario,
) -> Res<ClientRun> {
    let args = &context.args;
    let mut command = context.pinning.load(load);
    command
        .args(["--client", which.name(), "--proto", scenario.proto()])
        .arg("--url")
        .arg(format!("http://{}/", server.addr))
        .arg("--concurrency")
        .arg(args.client_concurrency.to_string())
        .arg("--warmup")
        .arg(args.client_warmup.to_string())
        .arg("--duration")
        .arg(args.client_duration.to_string());
    if let Some(threads) = args.client_threads {
        command.arg("--threads").arg(threads.to_string());
    }
    eprintln!("bench: {command:?}");
    let before = bench::cpu_ticks(&format!("/proc/{}/stat", server.pid()))?;
    let start = Instant::now();
    let output = command.stdin(Stdio::null()).output()?;
    let wall = start.elapsed().as_secs_f64();
    let after = bench::cpu_ticks(&format!("/proc/{}/stat", server.pid()))?;
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

/// Reads `client-load`'s `client=... requests=N ... errors=N` line.
fn parse_client_load(out: &str) -> Res<ClientRun> {
    let line = out
        .lines()
        .find(|line| line.starts_with("client="))
        .ok_or("no result line in client-load's output")?;
    let fields: HashMap<&str, &str> = line
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let field = |key: &str| -> Res<f64> {
        Ok(fields
            .get(key)
            .ok_or_else(|| format!("no `{key}=` in client-load's output"))?
            .parse::<f64>()?)
    };
    Ok(ClientRun {
        rps: field("rps")?,
        completed: field("requests")? as u64,
        errors: field("errors")? as u64,
        cpu_us_per_req: field("cpu_us_per_req")?,
        client_busy: field("cpu_busy")?,
        server_busy: 0.0,
    })
}

/// The middle value (the upper one of an even count).
fn middle(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Folds the rounds of one client scenario: the median of each figure;
/// errors add up. A failed round fails the whole.
fn median_client(runs: Vec<Result<ClientRun, String>>) -> Result<ClientRun, String> {
    let mut ok = Vec::new();
    for run in runs {
        ok.push(run?);
    }
    if ok.is_empty() {
        return Err("no run".to_string());
    }
    let of = |figure: fn(&ClientRun) -> f64| middle(ok.iter().map(figure).collect());
    Ok(ClientRun {
        rps: of(|r| r.rps),
        completed: ok.iter().map(|r| r.completed).sum(),
        errors: ok.iter().map(|r| r.errors).sum(),
        cpu_us_per_req: of(|r| r.cpu_us_per_req),
        client_busy: of(|r| r.client_busy),
        server_busy: of(|r| r.server_busy),
    })
}

/// Folds the rounds of one server into one result: per scenario, the
/// median requests per second and the median CPU per request; errors add up.
/// The client scenarios of the client of the same name likewise.
fn median(rounds: Vec<Results>) -> Results {
    let mut merged = Results::default();
    let mut per_scenario: HashMap<Scenario, Vec<Result<LoadRun, String>>> = HashMap::new();
    let mut per_client: HashMap<ClientScenario, Vec<Result<ClientRun, String>>> = HashMap::new();
    for round in rounds {
        if merged.upload.is_none() {
            merged.upload = round.upload;
        }
        for (scenario, run) in round.load {
            per_scenario.entry(scenario).or_default().push(run);
        }
        for (scenario, run) in round.client {
            per_client.entry(scenario).or_default().push(run);
        }
    }
    for (scenario, runs) in per_client {
        merged.client.insert(scenario, median_client(runs));
    }
    for (scenario, runs) in per_scenario {
        let mut ok = Vec::new();
        let mut failure = None;
        for run in runs {
            match run {
                Ok(run) => ok.push(run),
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        let run = match failure {
            Some(error) => Err(error),
            None if ok.is_empty() => Err("no run".to_string()),
            None => {
                let rps = middle(ok.iter().map(|r| r.rps).collect());
                let cpu_us_per_req = middle(ok.iter().map(|r| r.cpu_us_per_req).collect());
                let errors = ok.iter().map(|r| r.errors).sum();
                let completed = ok.iter().map(|r| r.completed).sum();
                let error_detail = ok
                    .iter()
                    .map(|r| r.error_detail.as_str())
                    .filter(|d| !d.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ");
                Ok(LoadRun {
                    rps,
                    completed,
                    errors,
                    error_detail,
                    cpu_us_per_req,
                })
            }
        };
        merged.load.insert(scenario, run);
    }
    merged
}

/// Runs one load generator against a running server.
fn load_run(context: &Context, server: &mut ServerProcess, scenario: Scenario) -> Res<LoadRun> {
    let url = format!("http://{}/", server.addr);
    let duration = context.args.duration.as_str();
    let connections = CONNECTIONS.to_string();
    let mut command = match scenario {
        Scenario::Plain | Scenario::Pipelined => {
            let mut command = context.pinning.load("wrk");
            command.args(["-t1", "-c", &connections, "-d", duration]);
            if scenario == Scenario::Pipelined {
                command.arg("-s").arg(&context.pipeline_lua);
            }
            command.arg(&url);
            if scenario == Scenario::Pipelined {
                command.arg("--").arg(PIPELINE_DEPTH.to_string());
            }
            command
        }
        Scenario::H2loadH1 => h2load_command(context, &["--h1", "-c", &connections], &url),
        Scenario::H2loadH2c => h2load_command(
            context,
            &[
                "-c",
                &H2C_CONNECTIONS.to_string(),
                "-m",
                &H2C_STREAMS.to_string(),
            ],
            &url,
        ),
    };
    eprintln!("bench: {command:?}");
    let before = bench::cpu_ticks(&format!("/proc/{}/stat", server.pid()))?;
    let output = command.stdin(Stdio::null()).output()?;
    let after = bench::cpu_ticks(&format!("/proc/{}/stat", server.pid()))?;
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

/// Reads wrk's `N requests in`, `Socket errors:`, `Non-2xx or 3xx
/// responses:` and `Requests/sec:` lines.
fn parse_wrk(out: &str) -> Res<LoadRun> {
    let mut rps = None;
    let mut completed = None;
    let mut errors = 0;
    let mut detail = Vec::new();
    for line in out.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("Requests/sec:") {
            rps = Some(value.trim().parse::<f64>()?);
        } else if line.contains(" requests in ") {
            completed = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok());
        } else if let Some(value) = line.strip_prefix("Socket errors:") {
            // connect 0, read 0, write 0, timeout 0
            for part in value.split(',') {
                if let Some(n) = part.split_whitespace().nth(1) {
                    errors += n.parse::<u64>()?;
                }
            }
            detail.push(line.to_string());
        } else if let Some(value) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += value.trim().parse::<u64>()?;
            detail.push(line.to_string());
        }
    }
    let total = completed.ok_or("no `requests in` line in wrk's output")?;
    Ok(LoadRun {
        rps: rps.ok_or("no `Requests/sec:` line in wrk's output")?,
        // wrk's count includes the non-2xx responses.
        completed: total.saturating_sub(errors),
        errors,
        error_detail: detail.join("; "),
        cpu_us_per_req: 0.0,
    })
}

/// Reads h2load's `Application protocol:`, `finished in ..., N req/s`,
/// `requests: ...` and `status codes: ...` lines. Every request must have
/// succeeded with a 2xx, over `protocol`.
fn parse_h2load(out: &str, requested: u64, protocol: &str) -> Res<LoadRun> {
    /// `requests: 10 total, 10 started, ...` → {"total": 10, ...}
    fn counts(list: &str) -> Res<HashMap<String, u64>> {
        let mut map = HashMap::new();
        for part in list.split(',') {
            let mut words = part.split_whitespace();
            if let (Some(n), Some(name)) = (words.next(), words.next()) {
                map.insert(name.to_string(), n.parse()?);
            }
        }
        Ok(map)
    }
    let mut rps = None;
    let mut requests = None;
    let mut statuses = None;
    let mut protocols = Vec::new();
    for line in out.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("Application protocol:") {
            protocols.push(name.trim());
        } else if line.starts_with("finished in") {
            rps = line
                .split(',')
                .find_map(|part| part.trim().strip_suffix(" req/s"))
                .map(|n| n.trim().parse::<f64>())
                .transpose()?;
        } else if let Some(list) = line.strip_prefix("requests:") {
            requests = Some((line.to_string(), counts(list)?));
        } else if let Some(list) = line.strip_prefix("status codes:") {
            statuses = Some((line.to_string(), counts(list)?));
        }
    }
    let (requests_line, requests) = requests.ok_or("no `requests:` line in h2load's output")?;
    let (statuses_line, statuses) = statuses.ok_or("no `status codes:` line in h2load's output")?;
    // One line per connection; a server that answered in another protocol
    // would be measuring something else.
    if let Some(other) = protocols.iter().find(|&&name| name != protocol) {
        return Err(format!("h2load spoke `{other}`, not `{protocol}`").into());
    }
    let count = |map: &HashMap<String, u64>, key: &str| map.get(key).copied().unwrap_or(0);
    // h2load counts 3xx as success and may count a 2xx whose stream then
    // failed: only requests that are both are good.
    let good = count(&requests, "succeeded")
        .saturating_sub(count(&statuses, "3xx"))
        .min(count(&statuses, "2xx"));
    Ok(LoadRun {
        rps: rps.ok_or("no `req/s` in h2load's `finished in` line")?,
        completed: good,
        errors: requested.saturating_sub(good),
        error_detail: format!("{requests_line}; {statuses_line}"),
        cpu_us_per_req: 0.0,
    })
}

/// Uploads the file with curl and checks the answer.
fn upload_run(context: &Context, server: &mut ServerProcess, file: &Path) -> Res<UploadRun> {
    let url = format!("http://{}/upload", server.addr);
    let mut command = context.pinning.load("curl");
    command
        .args(["-sS", "--http1.1", "-X", "POST", "-T"])
        .arg(file)
        .args(["-o", "-", "-w", "\n%{http_code}"])
        .arg(&url);
    eprintln!("bench: {command:?}");
    let before = bench::cpu_ticks(&format!("/proc/{}/stat", server.pid()))?;
    let start = Instant::now();
    let output = command.stdin(Stdio::null()).output()?;
    let secs = start.elapsed().as_secs_f64();
    let after = bench::cpu_ticks(&format!("/proc/{}/stat", server.pid()))?;
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

/// Prints loud notes about errors; `true` when there were none.
fn report_problems(
    wanted: &[Which],
    selection: &Selection,
    results: &HashMap<Which, Results>,
) -> bool {
    let mut clean = true;
    for which in wanted {
        let Some(results) = results.get(which) else {
            continue;
        };
        for scenario in &selection.clients {
            match results.client.get(scenario) {
                Some(Ok(run)) if run.errors > 0 => {
                    clean = false;
                    eprintln!(
                        "bench: !!! {} {}: {} errors (see above)",
                        which.name(),
                        scenario.name(),
                        run.errors,
                    );
                }
                Some(Err(_)) => clean = false,
                _ => {}
            }
        }
        for scenario in &selection.scenarios {
            match results.load.get(scenario) {
                Some(Ok(run)) if run.errors > 0 => {
                    clean = false;
                    eprintln!(
                        "bench: !!! {} {}: {} errors ({})",
                        which.name(),
                        scenario.name(),
                        run.errors,
                        run.error_detail
                    );
                }
                Some(Err(_)) => clean = false,
                _ => {}
            }
        }
        match &results.upload {
            Some(Ok(upload)) if !upload.ok => {
                clean = false;
                eprintln!(
                    "bench: !!! {} upload: expected 200 \"{UPLOAD_BYTES}\", got {}",
                    which.name(),
                    upload.reply
                );
            }
            Some(Err(_)) => clean = false,
            _ => {}
        }
    }
    if !clean {
        eprintln!("bench: !!! some runs failed or had errors; see above");
    }
    clean
}

fn first_line(mut command: Command) -> String {
    command
        .stdin(Stdio::null())
        .output()
        .ok()
        .and_then(|out| {
            let text = [out.stdout, out.stderr].concat();
            String::from_utf8_lossy(&text)
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

fn ratio(paf: Option<f64>, hyper: Option<f64>) -> Option<f64> {
    match (paf, hyper) {
        (Some(paf), Some(hyper)) if hyper > 0.0 => Some(paf / hyper),
        _ => None,
    }
}

fn fmt_ratio(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "—".to_string(), |r| format!("{r:.2}x"))
}

/// Thousands separators for req/s.
fn fmt_int(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Markdown cell text for a server that did not run or failed.
fn absent(which: Which, results: Option<&Results>) -> String {
    match results {
        None => format!("— ({} not run)", which.binary()),
        Some(_) => "failed (see log)".to_string(),
    }
}

/// A runtime, for the report.
fn runtime_name(threads: Option<NonZeroUsize>) -> String {
    match threads {
        None => "current-thread Tokio runtime".to_string(),
        Some(n) if n.get() == 1 => "multi-thread Tokio runtime, 1 worker".to_string(),
        Some(n) => format!("multi-thread Tokio runtime, {n} workers"),
    }
}

/// The report: a header and one markdown table per scenario.
fn render(context: &Context, wanted: &[Which], results: &HashMap<Which, Results>) -> String {
    let mut out = String::new();
    if context.selection.servers_work() {
        render_servers(&mut out, context, results);
    }
    if !context.selection.clients.is_empty() {
        render_clients(&mut out, context, results);
    }
    render_targets(&mut out, wanted, &context.selection, results);
    out
}

/// The client scenarios' header and tables.
fn render_clients(out: &mut String, context: &Context, results: &HashMap<Which, Results>) {
    let args = &context.args;
    let _ = writeln!(
        out,
        "## paf::Client vs hyper-util's legacy client: GET hello world\n"
    );
    let _ = writeln!(
        out,
        "{}; {}. `{CLIENT_LOAD}` runs one client on a {}, \
         with {} tasks each sending `GET /` and reading the whole body, one request at a \
         time, through the one shared client; {} s of warm-up, then {} s measured. \
         The server is `{}` on a {}. The median of {} rounds, the clients taking turns.\n",
        cpu_model(),
        context.pinning.description,
        runtime_name(args.client_threads),
        args.client_concurrency,
        args.client_warmup,
        args.client_duration,
        args.client_server.binary(),
        runtime_name(args.threads),
        args.rounds.max(1),
    );
    let _ = writeln!(
        out,
        "Client CPU/req is the client process's user + system CPU time over the measured \
         window divided by the responses; busy is CPU time over wall time (for the server, \
         over the whole client run, warm-up included).\n"
    );
    for &scenario in &context.selection.clients {
        let title = match scenario {
            ClientScenario::H1 => format!(
                "HTTP/1.1 keep-alive ({} connections): `{CLIENT_LOAD} --proto h1`",
                args.client_concurrency
            ),
            ClientScenario::H2 => format!(
                "HTTP/2, h2c prior knowledge ({} streams on one connection): \
                 `{CLIENT_LOAD} --proto h2`",
                args.client_concurrency
            ),
        };
        let _ = writeln!(out, "### {title}\n");
        let _ = writeln!(
            out,
            "| client | req/s | client CPU/req (µs) | client busy | server busy | errors |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        let mut rps = HashMap::new();
        let mut cpu = HashMap::new();
        for which in Which::ALL {
            let label = match which {
                Which::Paf => "paf::Client",
                Which::Hyper => "hyper-util",
            };
            let entry = results.get(&which);
            match entry.and_then(|r| r.client.get(&scenario)) {
                Some(Ok(run)) => {
                    rps.insert(which, run.rps);
                    cpu.insert(which, run.cpu_us_per_req);
                    let errors = if run.errors == 0 {
                        "0".to_string()
                    } else {
                        format!("**{} !!!**", run.errors)
                    };
                    let _ = writeln!(
                        out,
                        "| {label} | {} | {:.2} | {:.0} % | {:.0} % | {errors} |",
                        fmt_int(run.rps),
                        run.cpu_us_per_req,
                        run.client_busy * 100.0,
                        run.server_busy * 100.0,
                    );
                }
                Some(Err(_)) => {
                    let _ = writeln!(out, "| {label} | failed (see log) | — | — | — | — |");
                }
                None => {
                    let _ = writeln!(out, "| {label} | — (not run) | — | — | — | — |");
                }
            }
        }
        let get = |map: &HashMap<Which, f64>, which| map.get(&which).copied();
        let _ = writeln!(
            out,
            "| paf/hyper | {} | {} | | | |\n",
            fmt_ratio(ratio(get(&rps, Which::Paf), get(&rps, Which::Hyper))),
            fmt_ratio(ratio(get(&cpu, Which::Paf), get(&cpu, Which::Hyper))),
        );
    }
}

/// The server scenarios' header and tables.
fn render_servers(out: &mut String, context: &Context, results: &HashMap<Which, Results>) {
    let args = &context.args;
    let runtime = runtime_name(args.threads);
    let _ = writeln!(out, "## paf vs hyper: HTTP/1.1 and HTTP/2 hello world\n");
    let _ = writeln!(
        out,
        "{}; {}. Servers on a {runtime}. {CONNECTIONS} HTTP/1.1 connections, \
         {H2C_CONNECTIONS} h2c connections of {H2C_STREAMS} streams; wrk runs of {}, \
         h2load {} requests; the median of {} rounds, the servers taking turns.",
        cpu_model(),
        context.pinning.description,
        args.duration,
        args.requests,
        args.rounds.max(1),
    );
    let _ = writeln!(
        out,
        "{}; {}; {}.\n",
        first_line({
            let mut c = Command::new("wrk");
            c.arg("-v");
            c
        }),
        first_line({
            let mut c = Command::new("h2load");
            c.arg("--version");
            c
        }),
        first_line({
            let mut c = Command::new("curl");
            c.arg("--version");
            c
        })
        .split(" (")
        .next()
        .unwrap_or("curl")
    );
    let _ = writeln!(
        out,
        "CPU/req is the server's user + system CPU time during the run divided by the \
         completed requests.\n"
    );

    for &scenario in &context.selection.scenarios {
        let title = match scenario {
            Scenario::Plain => format!(
                "Plain keep-alive: `wrk -t1 -c{CONNECTIONS} -d{} http://ADDR/`",
                args.duration
            ),
            Scenario::Pipelined => format!(
                "Pipelined, {PIPELINE_DEPTH} deep: `wrk -t1 -c{CONNECTIONS} -d{} -s bench/pipeline.lua http://ADDR/ -- {PIPELINE_DEPTH}`",
                args.duration
            ),
            Scenario::H2loadH1 => format!(
                "h2load, HTTP/1.1: `h2load -n {} --h1 -c {CONNECTIONS} -t 1 http://ADDR/`",
                args.requests
            ),
            Scenario::H2loadH2c => format!(
                "h2load, h2c prior knowledge: \
                 `h2load -n {} -c {H2C_CONNECTIONS} -m {H2C_STREAMS} -t 1 http://ADDR/`",
                args.requests
            ),
        };
        let _ = writeln!(out, "### {title}\n");
        let _ = writeln!(out, "| server | req/s | server CPU/req (µs) | errors |");
        let _ = writeln!(out, "|---|---:|---:|---:|");
        let mut rps = HashMap::new();
        let mut cpu = HashMap::new();
        for which in Which::ALL {
            let entry = results.get(&which);
            match entry.and_then(|r| r.load.get(&scenario)) {
                Some(Ok(run)) => {
                    rps.insert(which, run.rps);
                    cpu.insert(which, run.cpu_us_per_req);
                    let errors = if run.errors == 0 {
                        "0".to_string()
                    } else {
                        format!("**{} !!!**", run.errors)
                    };
                    let _ = writeln!(
                        out,
                        "| {} | {} | {:.2} | {errors} |",
                        which.name(),
                        fmt_int(run.rps),
                        run.cpu_us_per_req
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | — | — |",
                        which.name(),
                        absent(which, entry)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "| paf/hyper | {} | {} | |\n",
            fmt_ratio(ratio(
                rps.get(&Which::Paf).copied(),
                rps.get(&Which::Hyper).copied()
            )),
            fmt_ratio(ratio(
                cpu.get(&Which::Paf).copied(),
                cpu.get(&Which::Hyper).copied()
            )),
        );
    }

    if context.selection.upload {
        let mib = (UPLOAD_BYTES / (1024 * 1024)) as f64;
        let _ = writeln!(
            out,
            "### Upload, {mib:.0} MiB streamed: `curl -sS --http1.1 -X POST -T FILE http://ADDR/upload` (fresh server)\n"
        );
        let _ = writeln!(
            out,
            "| server | MiB/s | server CPU (ms) | peak RSS (MiB) | reply ok |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---|");
        let mut speed = HashMap::new();
        let mut cpu = HashMap::new();
        let mut rss = HashMap::new();
        for which in Which::ALL {
            let entry = results.get(&which);
            match entry.and_then(|r| r.upload.as_ref()) {
                Some(Ok(run)) => {
                    let mib_s = mib / run.secs;
                    let rss_mib = run.peak_rss_kib as f64 / 1024.0;
                    speed.insert(which, mib_s);
                    cpu.insert(which, run.cpu_ms);
                    rss.insert(which, rss_mib);
                    let reply = if run.ok {
                        "yes".to_string()
                    } else {
                        format!("**no !!!** {}", run.reply)
                    };
                    let _ = writeln!(
                        out,
                        "| {} | {mib_s:.0} | {:.0} | {rss_mib:.1} | {reply} |",
                        which.name(),
                        run.cpu_ms
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | — | — | — |",
                        which.name(),
                        absent(which, entry)
                    );
                }
            }
        }
        let get = |map: &HashMap<Which, f64>, which| map.get(&which).copied();
        let _ = writeln!(
            out,
            "| paf/hyper | {} | {} | {} | |\n",
            fmt_ratio(ratio(get(&speed, Which::Paf), get(&speed, Which::Hyper))),
            fmt_ratio(ratio(get(&cpu, Which::Paf), get(&cpu, Which::Hyper))),
            fmt_ratio(ratio(get(&rss, Which::Paf), get(&rss, Which::Hyper))),
        );
    }
}

/// The targets of the scenarios that ran, checked when paf ran.
fn render_targets(
    out: &mut String,
    wanted: &[Which],
    selection: &Selection,
    results: &HashMap<Which, Results>,
) {
    let load = |which: Which, scenario: Scenario| {
        results
            .get(&which)
            .and_then(|r| r.load.get(&scenario))
            .and_then(|run| run.as_ref().ok())
    };
    let verdict = |value: Option<f64>, pass: &dyn Fn(f64) -> bool, unit: &str| match value {
        Some(v) => format!("{} ({v:.2}{unit})", if pass(v) { "PASS" } else { "FAIL" }),
        None => "not measured".to_string(),
    };
    let _ = writeln!(out, "### Targets\n");
    if !wanted.contains(&Which::Paf) || !results.contains_key(&Which::Paf) {
        let _ = writeln!(out, "Not checked: paf did not run.\n");
        return;
    }
    for &scenario in &selection.clients {
        let client = |which: Which| {
            results
                .get(&which)
                .and_then(|r| r.client.get(&scenario))
                .and_then(|run| run.as_ref().ok())
                .map(|run| run.rps)
        };
        let _ = writeln!(
            out,
            "- {} req/s at least {TARGET_CLIENT_RATIO}x hyper-util's: {}",
            scenario.name(),
            verdict(
                ratio(client(Which::Paf), client(Which::Hyper)),
                &|r| r >= TARGET_CLIENT_RATIO,
                "x"
            )
        );
    }
    let ran = |scenario| selection.scenarios.contains(&scenario);
    if ran(Scenario::Pipelined) {
        let pipelined = ratio(
            load(Which::Paf, Scenario::Pipelined).map(|r| r.rps),
            load(Which::Hyper, Scenario::Pipelined).map(|r| r.rps),
        );
        let _ = writeln!(
            out,
            "- pipelined req/s at least {TARGET_PIPELINED_RATIO}x hyper's: {}",
            verdict(pipelined, &|r| r >= TARGET_PIPELINED_RATIO, "x")
        );
    }
    if ran(Scenario::Plain) {
        let plain_cpu = ratio(
            load(Which::Paf, Scenario::Plain).map(|r| r.cpu_us_per_req),
            load(Which::Hyper, Scenario::Plain).map(|r| r.cpu_us_per_req),
        );
        let _ = writeln!(
            out,
            "- plain keep-alive server CPU/req not above hyper's: {}",
            verdict(plain_cpu, &|r| r <= TARGET_PLAIN_CPU_RATIO, "x")
        );
    }
    if ran(Scenario::H2loadH2c) {
        let h2c = ratio(
            load(Which::Paf, Scenario::H2loadH2c).map(|r| r.rps),
            load(Which::Hyper, Scenario::H2loadH2c).map(|r| r.rps),
        );
        let _ = writeln!(
            out,
            "- h2load-h2c req/s at least hyper's: {}",
            verdict(h2c, &|r| r >= TARGET_H2C_RATIO, "x")
        );
    }
    if selection.upload {
        let rss = results
            .get(&Which::Paf)
            .and_then(|r| r.upload.as_ref())
            .and_then(|run| run.as_ref().ok())
            .map(|run| run.peak_rss_kib as f64 / 1024.0);
        let _ = writeln!(
            out,
            "- 100 MiB upload peak RSS under {} MiB: {}",
            TARGET_UPLOAD_RSS_KIB / 1024,
            verdict(
                rss,
                &|mib| mib < (TARGET_UPLOAD_RSS_KIB as f64 / 1024.0),
                " MiB"
            )
        );
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 3s test @ http://127.0.0.1:46407/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   383.24us   52.10us   2.10ms   90.00%
    Req/Sec   167.20k     3.00k  170.00k    80.00%
  499083 requests in 3.00s, 59.02MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 166361.02
Transfer/sec:     19.67MB
";

    const H2LOAD: &str = "Application protocol: h2c
finished in 346.47ms, 144312.10 req/s, 15.83MB/s
requests: 50000 total, 50000 started, 50000 done, 49990 succeeded, 10 failed, 10 errored, 0 timeout
status codes: 49985 2xx, 5 3xx, 0 4xx, 0 5xx
traffic: 5.48MB (5750000) total, 3.81MB (4000000) headers (space savings 0.00%), 648.44KB (664000) data
";

    #[test]
    fn wrk_output() -> Res<()> {
        let run = parse_wrk(WRK)?;
        assert_eq!(run.rps, 166361.02);
        assert_eq!(run.errors, 7);
        assert_eq!(run.completed, 499083 - 7);
        Ok(())
    }

    #[test]
    fn h2load_output() -> Res<()> {
        let run = parse_h2load(H2LOAD, 50000, "h2c")?;
        assert_eq!(run.rps, 144312.10);
        assert_eq!(run.errors, 15);
        assert_eq!(run.completed, 49985);
        assert!(parse_h2load(H2LOAD, 50000, "http/1.1").is_err());
        Ok(())
    }

    #[test]
    fn h2load_statuses() -> Res<()> {
        // Every request succeeded, but not all with a 2xx.
        let out = "Application protocol: h2c
finished in 1.00s, 100.00 req/s, 1.00KB/s
requests: 100 total, 100 started, 100 done, 100 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 98 2xx, 1 3xx, 1 4xx, 0 5xx
";
        let run = parse_h2load(out, 100, "h2c")?;
        assert_eq!(run.errors, 2);
        assert_eq!(run.completed, 98);
        Ok(())
    }

    #[test]
    fn only() {
        let all = Selection::new(&[], false);
        assert_eq!(all.servers, Which::ALL);
        assert_eq!(all.scenarios, Scenario::ALL);
        assert!(all.upload);
        assert_eq!(all.clients, ClientScenario::ALL);
        let h2c = Selection::new(&[Only::H2loadH2c], false);
        assert_eq!(h2c.servers, Which::ALL);
        assert_eq!(h2c.scenarios, [Scenario::H2loadH2c]);
        assert!(!h2c.upload);
        assert!(h2c.clients.is_empty());
        let client = Selection::new(&[Only::ClientH2, Only::Paf], false);
        assert_eq!(client.servers, [Which::Paf]);
        assert!(client.scenarios.is_empty());
        assert!(!client.upload);
        assert!(!client.servers_work());
        assert_eq!(client.clients, [ClientScenario::H2]);
        let paf_upload = Selection::new(&[Only::Upload, Only::Paf], false);
        assert_eq!(paf_upload.servers, [Which::Paf]);
        assert!(paf_upload.scenarios.is_empty());
        assert!(paf_upload.upload);
        assert!(!Selection::new(&[Only::Hyper], true).upload);
    }

    #[test]
    fn client_load_output() -> Res<()> {
        let out = "client=paf proto=h2 requests=265120 secs=3.001 rps=88342.6 \
                   cpu_us_per_req=4.866 cpu_busy=0.430 errors=2\n";
        let run = parse_client_load(out)?;
        assert_eq!(run.rps, 88342.6);
        assert_eq!(run.completed, 265120);
        assert_eq!(run.errors, 2);
        assert_eq!(run.cpu_us_per_req, 4.866);
        assert_eq!(run.client_busy, 0.43);
        assert!(parse_client_load("client=paf rps=1\n").is_err());
        assert!(parse_client_load("").is_err());
        Ok(())
    }

    #[test]
    fn medians() {
        let run = |rps: f64, errors: u64| ClientRun {
            rps,
            completed: 10,
            errors,
            cpu_us_per_req: rps / 10.0,
            client_busy: 1.0,
            server_busy: 0.5,
        };
        let merged = median_client(vec![Ok(run(3.0, 0)), Ok(run(1.0, 1)), Ok(run(2.0, 0))]);
        let merged = merged.ok();
        assert_eq!(merged.as_ref().map(|r| r.rps), Some(2.0));
        assert_eq!(merged.as_ref().map(|r| r.errors), Some(1));
        assert_eq!(merged.as_ref().map(|r| r.completed), Some(30));
        assert!(median_client(vec![Ok(run(1.0, 0)), Err("x".into())]).is_err());
    }

    #[test]
    fn wrk_durations() {
        for ok in ["10s", "1m", "2h", "30"] {
            assert!(parse_wrk_duration(ok).is_ok(), "{ok}");
        }
        for bad in ["", "s", "1.5s", "10ss", "-1s", "10ms"] {
            assert!(parse_wrk_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thousands() {
        assert_eq!(fmt_int(0.4), "0");
        assert_eq!(fmt_int(999.0), "999");
        assert_eq!(fmt_int(166361.02), "166,361");
        assert_eq!(fmt_int(1234567.0), "1,234,567");
    }
}

//! A small Docker client over the Engine API, with `paf::Client`.
//!
//! It talks to the daemon `DOCKER_HOST` names (`unix:///path`,
//! `tcp://host:port`, with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` for
//! TLS), or to `/var/run/docker.sock` when it is unset. Podman's
//! Docker-compatible service works too.
//!
//! ```text
//! cargo run -p examples --example docker -- version
//! cargo run -p examples --example docker -- info
//! cargo run -p examples --example docker -- images
//! cargo run -p examples --example docker -- containers
//! cargo run -p examples --example docker -- events [--since UNIX_TIME] [--until UNIX_TIME]
//! DOCKER_HOST=unix:///run/podman/podman.sock cargo run -p examples --example docker -- version
//! ```
//!
//! `containers` lists stopped containers too. `events` prints the daemon's
//! events as they happen, one line each; with `--until` the daemon ends the
//! feed at that time, without it the feed goes on until interrupted.
//!
//! An answer other than 2xx prints the daemon's `message`; a daemon that
//! cannot be reached prints how each connection attempt failed. Both exit
//! with status 1, a bad command line with status 2.

use std::fmt;
use std::process::ExitCode;

use conduit::{DockerHost, Resolver};
use serde_json::Value;

const USAGE: &str = "usage: docker <command>

commands:
  version     the daemon's version
  info        the daemon's system information
  images      the images
  containers  the containers, stopped ones too
  events      the events, as they happen; options:
                --since UNIX_TIME  from this time (default: now)
                --until UNIX_TIME  up to this time, then stop (default: never)

The daemon is the one DOCKER_HOST names, or unix:///var/run/docker.sock.";

/// What to ask the daemon.
enum Command {
    Help,
    Version,
    Info,
    Images,
    Containers,
    Events {
        since: Option<i64>,
        until: Option<i64>,
    },
}

/// Why the program stops.
enum Failure {
    /// The command line.
    Usage(String),
    /// `DOCKER_HOST` and friends.
    Setup(conduit::Error),
    /// The request: connecting, sending, reading.
    Http(paf::Error),
    /// The daemon answered with an error.
    Api {
        status: http::StatusCode,
        message: String,
    },
    /// The daemon answered something this program does not understand.
    Unexpected(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(why) => write!(f, "{why}\n\n{USAGE}"),
            Failure::Setup(err) => write!(f, "cannot find the daemon: {err:#}"),
            Failure::Http(err) if err.is_connect() => {
                write!(f, "cannot connect to the daemon: {err:#}")
            }
            Failure::Http(err) => write!(f, "request failed: {err:#}"),
            Failure::Api { status, message } => {
                write!(f, "the daemon answered {status}: {message}")
            }
            Failure::Unexpected(what) => write!(f, "unexpected answer: {what}"),
        }
    }
}

impl From<paf::Error> for Failure {
    fn from(err: paf::Error) -> Failure {
        Failure::Http(err)
    }
}

impl From<conduit::Error> for Failure {
    fn from(err: conduit::Error) -> Failure {
        Failure::Setup(err)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match parse(std::env::args().skip(1)) {
        Ok(command) => run(command).await,
        Err(failure) => Err(failure),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("docker: {failure}");
            match failure {
                Failure::Usage(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, Failure> {
    let usage = |why: String| Err(Failure::Usage(why));
    let Some(name) = args.next() else {
        return usage("no command given".into());
    };
    let command = match name.as_str() {
        "version" => Command::Version,
        "info" => Command::Info,
        "images" => Command::Images,
        "containers" | "ps" => Command::Containers,
        "events" => {
            let (mut since, mut until) = (None, None);
            while let Some(flag) = args.next() {
                let (flag, inline) = match flag.split_once('=') {
                    Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
                    None => (flag, None),
                };
                let slot = match flag.as_str() {
                    "--since" => &mut since,
                    "--until" => &mut until,
                    _ => return usage(format!("unknown option `{flag}` for `events`")),
                };
                let Some(value) = inline.or_else(|| args.next()) else {
                    return usage(format!("`{flag}` needs a value"));
                };
                match value.parse::<i64>() {
                    Ok(time) => *slot = Some(time),
                    Err(_) => {
                        return usage(format!(
                            "`{flag}` takes a Unix time in seconds, not `{value}`"
                        ));
                    }
                }
            }
            return Ok(Command::Events { since, until });
        }
        "help" | "-h" | "--help" => Command::Help,
        other => return usage(format!("unknown command `{other}`")),
    };
    match args.next() {
        Some(extra) => usage(format!("unexpected argument `{extra}`")),
        None => Ok(command),
    }
}

/// The daemon, and a client that reaches it.
struct Docker {
    client: paf::Client,
    base: String,
}

impl Docker {
    fn from_env() -> Result<Docker, Failure> {
        let host = DockerHost::from_env()?;
        let resolver = Resolver::builder().docker(&host).build()?;
        let client = paf::Client::builder().resolver(resolver).build()?;
        Ok(Docker {
            client,
            base: host.base_uri(),
        })
    }

    /// `GET path`, a 2xx answer's head with its body still to read.
    async fn get(&self, path: &str) -> Result<paf::client::Response, Failure> {
        let res = self.client.get(format!("{}{path}", self.base)).await?;
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status();
        let body = res.bytes().await?;
        Err(Failure::Api {
            status,
            message: error_message(&body),
        })
    }

    /// `GET path`, a 2xx answer's JSON.
    async fn get_json(&self, path: &str) -> Result<Value, Failure> {
        Ok(self.get(path).await?.json::<Value>().await?)
    }
}

/// The `message` of Docker's error answers, or what the body says.
fn error_message(body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<Value>(body)
        && let Some(message) = json.get("message").and_then(Value::as_str)
    {
        return message.to_string();
    }
    let text = String::from_utf8_lossy(body).trim().to_string();
    if text.is_empty() {
        "(no message)".into()
    } else {
        text
    }
}

async fn run(command: Command) -> Result<(), Failure> {
    if let Command::Help = command {
        println!("{USAGE}");
        return Ok(());
    }
    let docker = Docker::from_env()?;
    match command {
        Command::Help => Ok(()),
        Command::Version => version(&docker).await,
        Command::Info => info(&docker).await,
        Command::Images => images(&docker).await,
        Command::Containers => containers(&docker).await,
        Command::Events { since, until } => events(&docker, since, until).await,
    }
}

async fn version(docker: &Docker) -> Result<(), Failure> {
    let v = docker.get_json("/version").await?;
    println!("Server version: {}", text(&v["Version"]));
    println!(
        "API version:    {} (minimum {})",
        text(&v["ApiVersion"]),
        text(&v["MinAPIVersion"])
    );
    println!("OS/Arch:        {}/{}", text(&v["Os"]), text(&v["Arch"]));
    println!("Kernel:         {}", text(&v["KernelVersion"]));
    println!("Go version:     {}", text(&v["GoVersion"]));
    if let Some(components) = v["Components"].as_array() {
        for component in components {
            let version = text(&component["Version"]);
            // crun and friends answer with several lines.
            let version = version.lines().next().unwrap_or_default();
            println!("Component:      {} {version}", text(&component["Name"]));
        }
    }
    Ok(())
}

async fn info(docker: &Docker) -> Result<(), Failure> {
    let i = docker.get_json("/info").await?;
    println!("Name:           {}", text(&i["Name"]));
    println!("Server version: {}", text(&i["ServerVersion"]));
    println!("OS:             {}", text(&i["OperatingSystem"]));
    println!(
        "OS/Arch:        {}/{}",
        text(&i["OSType"]),
        text(&i["Architecture"])
    );
    println!("Kernel:         {}", text(&i["KernelVersion"]));
    println!(
        "CPUs, memory:   {}, {}",
        text(&i["NCPU"]),
        i["MemTotal"].as_u64().map_or_else(|| "?".into(), size)
    );
    println!("Storage driver: {}", text(&i["Driver"]));
    println!("Root directory: {}", text(&i["DockerRootDir"]));
    println!(
        "Containers:     {} ({} running, {} paused, {} stopped)",
        text(&i["Containers"]),
        text(&i["ContainersRunning"]),
        text(&i["ContainersPaused"]),
        text(&i["ContainersStopped"])
    );
    println!("Images:         {}", text(&i["Images"]));
    Ok(())
}

async fn images(docker: &Docker) -> Result<(), Failure> {
    let list = docker.get_json("/images/json").await?;
    let Some(list) = list.as_array() else {
        return Err(Failure::Unexpected("`/images/json` is not a list".into()));
    };
    let rows = list.iter().map(|image| {
        let tags: Vec<&str> = image["RepoTags"]
            .as_array()
            .map(|tags| tags.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let tags = if tags.is_empty() {
            "<none>".to_string()
        } else {
            tags.join(", ")
        };
        let size = image["Size"].as_u64().map_or_else(|| "?".into(), size);
        vec![short_id(&image["Id"]), tags, size]
    });
    print_table(&["IMAGE ID", "TAGS", "SIZE"], rows.collect());
    Ok(())
}

async fn containers(docker: &Docker) -> Result<(), Failure> {
    let list = docker.get_json("/containers/json?all=1").await?;
    let Some(list) = list.as_array() else {
        return Err(Failure::Unexpected(
            "`/containers/json` is not a list".into(),
        ));
    };
    let rows = list.iter().map(|container| {
        let names: Vec<&str> = container["Names"]
            .as_array()
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|name| name.trim_start_matches('/'))
                    .collect()
            })
            .unwrap_or_default();
        vec![
            short_id(&container["Id"]),
            text(&container["Image"]),
            text(&container["Status"]),
            names.join(", "),
        ]
    });
    print_table(
        &["CONTAINER ID", "IMAGE", "STATUS", "NAMES"],
        rows.collect(),
    );
    Ok(())
}

async fn events(docker: &Docker, since: Option<i64>, until: Option<i64>) -> Result<(), Failure> {
    let mut query = Vec::new();
    if let Some(since) = since {
        query.push(format!("since={since}"));
    }
    if let Some(until) = until {
        query.push(format!("until={until}"));
    }
    let path = match query.is_empty() {
        true => "/events".to_string(),
        false => format!("/events?{}", query.join("&")),
    };
    let mut res = docker.get(&path).await?;
    // One JSON object per line; a piece of the body may end in the middle
    // of a line, or hold several.
    let mut pending = Vec::new();
    while let Some(chunk) = res.chunk().await? {
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            print_event(&line);
        }
    }
    print_event(&pending);
    Ok(())
}

/// One line of the events feed, summed up.
fn print_event(line: &[u8]) {
    let line = String::from_utf8_lossy(line);
    let line = line.trim();
    if line.is_empty() {
        return;
    }
    let Ok(event) = serde_json::from_str::<Value>(line) else {
        println!("{line}");
        return;
    };
    let time = event["time"].as_i64().map_or_else(|| "?".into(), utc_time);
    let actor = &event["Actor"];
    let attributes = &actor["Attributes"];
    let mut subject = match attributes["name"].as_str() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => short_id(&actor["ID"]),
    };
    if let Some(image) = attributes["image"].as_str()
        && !image.is_empty()
        && event["Type"] == "container"
    {
        subject.push_str(&format!(" (image {image})"));
    }
    println!(
        "{time} {} {} {subject}",
        text(&event["Type"]),
        text(&event["Action"])
    );
}

/// A JSON value as text: strings without quotes, anything else as JSON,
/// `?` when missing.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "?".into(),
        other => other.to_string(),
    }
}

/// The first 12 hexadecimal digits of an ID, as Docker shows them.
fn short_id(value: &Value) -> String {
    let id = value.as_str().unwrap_or_default();
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.chars().take(12).collect()
}

/// A size in bytes, in decimal units as Docker shows them.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

/// A Unix time as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Rows under a header, in columns as wide as their widest cell.
fn print_table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}   "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

//! The runner's command line: its options, and what `--only` leaves to
//! run.

use std::num::NonZeroUsize;

use clap::{Parser, ValueEnum};

use crate::runner::scenario::{ClientScenario, Scenario, Which};

/// Command-line options.
#[derive(Parser)]
#[command(
    about = "Compare the paf and hyper HTTP/1.1 and HTTP/2 servers (clear text and TLS) with wrk, \
             h2load and curl, the paf, hyper-util and reqwest clients, and paf-server with nginx"
)]
pub struct Args {
    /// Length of each wrk run, in wrk's syntax (10s, 1m, ...).
    #[arg(long, default_value = "10s", value_parser = parse_wrk_duration)]
    pub(crate) duration: String,
    /// Requests in each h2load run.
    #[arg(long, default_value_t = 200_000)]
    pub(crate) requests: u64,
    /// Run only the named servers and/or scenarios (repeat the option or
    /// separate with commas). Naming no server runs both; naming no
    /// scenario runs them all and the upload, but not `static`, which runs
    /// only when named.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) only: Vec<Only>,
    /// Run the servers on a multi-thread runtime with this many workers
    /// (default: a current-thread runtime). The servers are pinned to this
    /// many cores, the load generators to the rest.
    #[arg(long)]
    pub(crate) threads: Option<NonZeroUsize>,
    /// Skip the 100 MiB upload.
    #[arg(long)]
    pub(crate) skip_upload: bool,
    /// Do not run `cargo build` when a server binary is missing.
    #[arg(long)]
    pub(crate) no_build: bool,
    /// Rounds of every load scenario, the servers taking turns; the report
    /// gives the median round, which keeps a noisy machine from deciding.
    #[arg(long, default_value_t = 3)]
    pub(crate) rounds: usize,
    /// The server the client scenarios load.
    #[arg(long, value_enum, default_value = "hyper")]
    pub(crate) client_server: Which,
    /// Tasks sending requests through the one client in the client
    /// scenarios, one request in flight each.
    #[arg(long, default_value_t = 32)]
    pub(crate) client_concurrency: usize,
    /// Seconds of load before each client scenario's measured window.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) client_warmup: f64,
    /// Seconds of each client scenario's measured window.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) client_duration: f64,
    /// Run the clients on a multi-thread runtime with this many workers
    /// (default: a current-thread runtime). They stay pinned to the load
    /// generator's CPUs.
    #[arg(long)]
    pub(crate) client_threads: Option<NonZeroUsize>,
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

/// A wrk duration (already checked by `parse_wrk_duration`) in seconds,
/// for the load generators that take seconds.
pub(crate) fn wrk_duration_secs(duration: &str) -> f64 {
    let digits = duration.trim_end_matches(['s', 'm', 'h']);
    let unit = match &duration[digits.len()..] {
        "m" => 60.0,
        "h" => 3600.0,
        _ => 1.0,
    };
    digits.parse::<f64>().unwrap_or(10.0) * unit
}

/// What `--only` can name: a server (or client) or a scenario.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub(crate) enum Only {
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
    /// wrk over TLS 1.3 (HTTP/1.1), keep-alive.
    #[value(name = "tls-h1")]
    TlsH1,
    /// h2load over TLS 1.3, h2 by ALPN, 16 connections of 32 streams.
    #[value(name = "tls-h2")]
    TlsH2,
    /// Full TLS 1.3 handshakes per second, one request each.
    Handshakes,
    /// paf-server against nginx serving files (not run unless named).
    Static,
    /// The 100 MiB upload (also skipped by `--skip-upload`).
    Upload,
    /// `paf::Client` against hyper-util's client, HTTP/1.1 keep-alive.
    #[value(name = "client-h1")]
    ClientH1,
    /// `paf::Client` against hyper-util's client, h2c prior knowledge.
    #[value(name = "client-h2")]
    ClientH2,
    /// The clients over TLS 1.3, HTTP/1.1 keep-alive.
    #[value(name = "client-tls-h1")]
    ClientTlsH1,
    /// The clients over TLS 1.3, h2 by ALPN.
    #[value(name = "client-tls-h2")]
    ClientTlsH2,
    /// reqwest's client, in the client scenarios.
    Reqwest,
}

/// What `--only` leaves to run.
pub(crate) struct Selection {
    /// The servers to run, in `Which::ALL` order.
    pub(crate) servers: Vec<Which>,
    /// The clients of the client scenarios, in `Which::CLIENTS` order.
    pub(crate) client_kinds: Vec<Which>,
    /// The load scenarios to run, in `Scenario::ALL` order.
    pub(crate) scenarios: Vec<Scenario>,
    /// Whether to run the upload.
    pub(crate) upload: bool,
    /// The client scenarios to run, in `ClientScenario::ALL` order.
    pub(crate) clients: Vec<ClientScenario>,
    /// Whether to run the static-file mode (paf-server against nginx).
    pub(crate) static_files: bool,
}

impl Selection {
    /// Reads `--only` and `--skip-upload`.
    pub(crate) fn new(only: &[Only], skip_upload: bool) -> Selection {
        let mut servers = Vec::new();
        let mut scenarios = Vec::new();
        let mut upload = false;
        let mut clients = Vec::new();
        let mut static_files = false;
        for &item in only {
            match item {
                Only::Paf => servers.push(Which::Paf),
                Only::Hyper => servers.push(Which::Hyper),
                Only::Reqwest => servers.push(Which::Reqwest),
                Only::Plain => scenarios.push(Scenario::Plain),
                Only::Pipelined => scenarios.push(Scenario::Pipelined),
                Only::H2loadH1 => scenarios.push(Scenario::H2loadH1),
                Only::H2loadH2c => scenarios.push(Scenario::H2loadH2c),
                Only::TlsH1 => scenarios.push(Scenario::TlsH1),
                Only::TlsH2 => scenarios.push(Scenario::TlsH2),
                Only::Handshakes => scenarios.push(Scenario::Handshakes),
                Only::Static => static_files = true,
                Only::Upload => upload = true,
                Only::ClientH1 => clients.push(ClientScenario::H1),
                Only::ClientH2 => clients.push(ClientScenario::H2),
                Only::ClientTlsH1 => clients.push(ClientScenario::TlsH1),
                Only::ClientTlsH2 => clients.push(ClientScenario::TlsH2),
            }
        }
        // Naming no scenario at all means all of them, the upload and the
        // client scenarios included; the static-file mode runs only when
        // named.
        let all_scenarios = scenarios.is_empty() && !upload && clients.is_empty() && !static_files;
        // Naming only reqwest leaves both servers.
        let named_server = servers.iter().any(|which| Which::ALL.contains(which));
        Selection {
            servers: Which::ALL
                .into_iter()
                .filter(|which| !named_server || servers.contains(which))
                .collect(),
            client_kinds: Which::CLIENTS
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
            static_files,
        }
    }

    /// Whether a server scenario or the upload is to run.
    pub(crate) fn servers_work(&self) -> bool {
        !self.scenarios.is_empty() || self.upload
    }

    /// Whether anything to run speaks TLS, and so needs the certificate.
    pub(crate) fn needs_certificate(&self) -> bool {
        self.static_files
            || self.scenarios.iter().any(|scenario| scenario.tls())
            || self.clients.iter().any(|scenario| scenario.tls())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(all.client_kinds, Which::CLIENTS);
        let client = Selection::new(&[Only::ClientH2, Only::Paf], false);
        assert_eq!(client.servers, [Which::Paf]);
        assert_eq!(client.client_kinds, [Which::Paf]);
        let reqwest = Selection::new(&[Only::Reqwest], false);
        assert_eq!(reqwest.servers, Which::ALL);
        assert_eq!(reqwest.client_kinds, [Which::Reqwest]);
        assert!(client.scenarios.is_empty());
        assert!(!client.upload);
        assert!(!client.servers_work());
        assert_eq!(client.clients, [ClientScenario::H2]);
        let paf_upload = Selection::new(&[Only::Upload, Only::Paf], false);
        assert_eq!(paf_upload.servers, [Which::Paf]);
        assert!(paf_upload.scenarios.is_empty());
        assert!(paf_upload.upload);
        assert!(!Selection::new(&[Only::Hyper], true).upload);
        assert!(!all.static_files);
        let files = Selection::new(&[Only::Static], false);
        assert!(files.static_files);
        assert!(files.scenarios.is_empty() && files.clients.is_empty() && !files.upload);
        assert!(files.needs_certificate());
    }

    #[test]
    fn wrk_durations() {
        for ok in ["10s", "1m", "2h", "30"] {
            assert!(parse_wrk_duration(ok).is_ok(), "{ok}");
        }
        for bad in ["", "s", "1.5s", "10ss", "-1s", "10ms"] {
            assert!(parse_wrk_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(wrk_duration_secs("2m"), 120.0);
        assert_eq!(wrk_duration_secs("30"), 30.0);
    }
}

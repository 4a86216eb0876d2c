//! What the runner measures: the two servers (and clients), the load
//! scenarios and the client scenarios, with the fixed parameters of their
//! runs. The bottom layer: it uses no other module of the runner.

use clap::ValueEnum;

/// Requests per write in the pipelined run.
pub(crate) const PIPELINE_DEPTH: u32 = 16;
/// Connections in every HTTP/1.1 load run.
pub(crate) const CONNECTIONS: u32 = 64;
/// Connections in the h2c run: fewer than over HTTP/1.1, since each one
/// carries many requests at once.
pub(crate) const H2C_CONNECTIONS: u32 = 16;
/// Concurrent streams per connection in the h2c run.
pub(crate) const H2C_STREAMS: u32 = 64;
/// The size of the uploaded file.
pub(crate) const UPLOAD_BYTES: u64 = 100 * 1024 * 1024;
/// Connections in the TLS h2 run.
pub(crate) const TLS_H2_CONNECTIONS: u32 = 16;
/// Concurrent streams per connection in the TLS h2 run.
pub(crate) const TLS_H2_STREAMS: u32 = 32;
/// Tasks of `handshake-load`, each one connection at a time.
pub(crate) const HANDSHAKE_TASKS: u32 = 16;
/// The client scenarios' load generator.
pub(crate) const CLIENT_LOAD: &str = "client-load";
/// The handshake scenarios' load generator.
pub(crate) const HANDSHAKE_LOAD: &str = "handshake-load";
/// The splicing load generator of the static mode's large-file row.
pub(crate) const DOWNLOAD_LOAD: &str = "download-load";
/// The `cli` crate's file server, measured against nginx.
pub(crate) const PAF_SERVER: &str = "paf-server";

/// The servers under test, and the clients of the same names; reqwest is
/// a client only.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, ValueEnum)]
pub(crate) enum Which {
    /// `paf-hello`, or `paf::Client`.
    Paf,
    /// `hyper-hello`, or hyper-util's legacy client.
    Hyper,
    /// reqwest's client (no server).
    #[value(skip)]
    Reqwest,
}

impl Which {
    /// The servers, in the order they run and are printed.
    pub(crate) const ALL: [Which; 2] = [Which::Paf, Which::Hyper];
    /// The clients, in the order they are printed.
    pub(crate) const CLIENTS: [Which; 3] = [Which::Paf, Which::Hyper, Which::Reqwest];

    /// The name `--only` takes, the log uses and the tables print.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Which::Paf => "paf",
            Which::Hyper => "hyper",
            Which::Reqwest => "reqwest",
        }
    }

    /// The server's binary; for reqwest, which has none, the binary that
    /// runs it.
    pub(crate) fn binary(self) -> &'static str {
        match self {
            Which::Paf => "paf-hello",
            Which::Hyper => "hyper-hello",
            Which::Reqwest => CLIENT_LOAD,
        }
    }
}

/// The load scenarios, in the order they run and are printed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Scenario {
    /// wrk, one request in flight per connection.
    Plain,
    /// wrk, `PIPELINE_DEPTH` requests written at once.
    Pipelined,
    /// h2load over HTTP/1.1 (`--h1`).
    H2loadH1,
    /// h2load over HTTP/2 with prior knowledge, many streams per connection.
    H2loadH2c,
    /// wrk over TLS 1.3 (HTTP/1.1), keep-alive.
    TlsH1,
    /// h2load over TLS 1.3, `h2` by ALPN.
    TlsH2,
    /// `handshake-load`: a full TLS 1.3 handshake and one request per
    /// connection.
    Handshakes,
}

impl Scenario {
    /// All of them, in the order they run and are printed.
    pub(crate) const ALL: [Scenario; 7] = [
        Scenario::Plain,
        Scenario::Pipelined,
        Scenario::H2loadH1,
        Scenario::H2loadH2c,
        Scenario::TlsH1,
        Scenario::TlsH2,
        Scenario::Handshakes,
    ];

    /// Whether the scenario needs the server in its TLS mode.
    pub(crate) fn tls(self) -> bool {
        matches!(
            self,
            Scenario::TlsH1 | Scenario::TlsH2 | Scenario::Handshakes
        )
    }

    /// The name `--only` takes and the log uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Plain => "plain",
            Scenario::Pipelined => "pipelined",
            Scenario::H2loadH1 => "h2load-h1",
            Scenario::H2loadH2c => "h2load-h2c",
            Scenario::TlsH1 => "tls-h1",
            Scenario::TlsH2 => "tls-h2",
            Scenario::Handshakes => "handshakes",
        }
    }
}

/// The client scenarios: `client-load` with each client against one server.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum ClientScenario {
    /// HTTP/1.1 keep-alive, a connection per task.
    H1,
    /// HTTP/2 with prior knowledge, streams on a shared connection.
    H2,
    /// HTTP/1.1 keep-alive over TLS 1.3.
    TlsH1,
    /// HTTP/2 over TLS 1.3, `h2` by ALPN.
    TlsH2,
}

impl ClientScenario {
    /// All of them, in the order they run and are printed.
    pub(crate) const ALL: [ClientScenario; 4] = [
        ClientScenario::H1,
        ClientScenario::H2,
        ClientScenario::TlsH1,
        ClientScenario::TlsH2,
    ];

    /// The name `--only` takes and the log uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ClientScenario::H1 => "client-h1",
            ClientScenario::H2 => "client-h2",
            ClientScenario::TlsH1 => "client-tls-h1",
            ClientScenario::TlsH2 => "client-tls-h2",
        }
    }

    /// `client-load --proto`.
    pub(crate) fn proto(self) -> &'static str {
        match self {
            ClientScenario::H1 | ClientScenario::TlsH1 => "h1",
            ClientScenario::H2 | ClientScenario::TlsH2 => "h2",
        }
    }

    /// Whether the scenario needs the server in its TLS mode.
    pub(crate) fn tls(self) -> bool {
        matches!(self, ClientScenario::TlsH1 | ClientScenario::TlsH2)
    }
}

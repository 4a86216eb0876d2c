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
/// The client scenarios' load generator.
pub(crate) const CLIENT_LOAD: &str = "client-load";

/// The servers under test.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, ValueEnum)]
pub(crate) enum Which {
    /// `paf-hello`.
    Paf,
    /// `hyper-hello`.
    Hyper,
}

impl Which {
    /// Both, in the order they run and are printed.
    pub(crate) const ALL: [Which; 2] = [Which::Paf, Which::Hyper];

    /// The name `--only` takes, the log uses and the tables print.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Which::Paf => "paf",
            Which::Hyper => "hyper",
        }
    }

    /// The server's binary.
    pub(crate) fn binary(self) -> &'static str {
        match self {
            Which::Paf => "paf-hello",
            Which::Hyper => "hyper-hello",
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
}

impl Scenario {
    /// All of them, in the order they run and are printed.
    pub(crate) const ALL: [Scenario; 4] = [
        Scenario::Plain,
        Scenario::Pipelined,
        Scenario::H2loadH1,
        Scenario::H2loadH2c,
    ];

    /// The name `--only` takes and the log uses.
    pub(crate) fn name(self) -> &'static str {
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
pub(crate) enum ClientScenario {
    /// HTTP/1.1 keep-alive, a connection per task.
    H1,
    /// HTTP/2 with prior knowledge, streams on a shared connection.
    H2,
}

impl ClientScenario {
    /// Both, in the order they run and are printed.
    pub(crate) const ALL: [ClientScenario; 2] = [ClientScenario::H1, ClientScenario::H2];

    /// The name `--only` takes and the log uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ClientScenario::H1 => "client-h1",
            ClientScenario::H2 => "client-h2",
        }
    }

    /// `client-load --proto`.
    pub(crate) fn proto(self) -> &'static str {
        match self {
            ClientScenario::H1 => "h1",
            ClientScenario::H2 => "h2",
        }
    }
}
